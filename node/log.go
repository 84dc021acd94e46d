package node

import (
	"context"
	"errors"
	"log/slog"
	"net"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// cmtLogger adapts CometBFT's logger to slog. CometBFT's "info" is chatty
// (every vote and part), so it maps to slog's Debug unless verbose is set.
type cmtLogger struct {
	l       *slog.Logger
	verbose bool
}

// NewCometLogger wraps l for CometBFT.
func NewCometLogger(l *slog.Logger, verbose bool) cmtlog.Logger {
	return cmtLogger{l: l.With("component", "cometbft"), verbose: verbose}
}

func (c cmtLogger) Debug(msg string, kv ...any) { c.l.Debug(msg, kv...) }
func (c cmtLogger) Info(msg string, kv ...any) {
	if c.verbose {
		c.l.Info(msg, kv...)
		return
	}
	c.l.Debug(msg, kv...)
}
func (c cmtLogger) Error(msg string, kv ...any) {
	// Closed listeners during shutdown are expected, not worth a warning.
	for _, v := range kv {
		if err, ok := v.(error); ok && errors.Is(err, net.ErrClosed) {
			c.l.Debug(msg, kv...)
			return
		}
	}
	// CometBFT logs peer churn as errors; keep them visible but not alarming.
	c.l.Log(context.Background(), slog.LevelWarn, msg, kv...)
}
func (c cmtLogger) With(kv ...any) cmtlog.Logger {
	return cmtLogger{l: c.l.With(kv...), verbose: c.verbose}
}
