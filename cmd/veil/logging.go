package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

type logFlags struct {
	level   string
	format  string
	verbose bool
}

func addLogFlags(cmd *cobra.Command) *logFlags {
	f := &logFlags{}
	cmd.Flags().StringVar(&f.level, "log-level", "info", "log level: debug, info, warn, error")
	cmd.Flags().StringVar(&f.format, "log-format", "text", "log format: text or json")
	cmd.Flags().BoolVar(&f.verbose, "verbose-consensus", false, "show CometBFT's info-level logs")
	return f
}

func (f *logFlags) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(f.level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch f.format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format must be text or json, got %q", f.format)
}
