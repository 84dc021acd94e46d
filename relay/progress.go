package relay

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// progress reports a long header catch-up: a line rewritten in place when
// the relayer writes to a terminal, a structured log record every few
// seconds otherwise.
type progress struct {
	term  io.Writer
	log   *slog.Logger
	start time.Time
	from  int64
	last  time.Time
	shown bool
}

func newProgress(term io.Writer, log *slog.Logger, from int64) *progress {
	now := time.Now()
	return &progress{term: term, log: log, start: now, from: from, last: now}
}

// update notes that the worker verified up to height of target.
func (p *progress) update(height, target int64) {
	now := time.Now()
	every := 5 * time.Second
	if p.term != nil {
		every = 200 * time.Millisecond
	}
	if now.Sub(p.last) < every && height < target {
		return
	}
	p.last = now
	elapsed := now.Sub(p.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(height-p.from) / elapsed
	}
	eta := time.Duration(0)
	if rate > 0 {
		eta = time.Duration(float64(target-height) / rate * float64(time.Second)).Round(time.Second)
	}
	if p.term != nil {
		pct := 100.0
		if target > 0 {
			pct = 100 * float64(height) / float64(target)
		}
		fmt.Fprintf(p.term, "\rsyncing worker: height %d/%d (%.1f%%), %.0f headers/s, ETA %s   ", height, target, pct, rate, eta)
		p.shown = true
		return
	}
	p.log.Info("worker catching up", "synced_height", height, "chain_height", target, "headers_per_s", int64(rate), "eta", eta.String())
}

// done ends the terminal line.
func (p *progress) done() {
	if p.term != nil && p.shown {
		fmt.Fprintln(p.term)
	}
}
