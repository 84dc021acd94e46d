package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Output formats accepted by -o/--output on every command that prints a result.
const (
	outputText = "text"
	outputJSON = "json"
)

// addOutputFlag registers -o/--output on cmd and returns the bound value.
func addOutputFlag(cmd *cobra.Command) *string {
	var out string
	cmd.Flags().StringVarP(&out, "output", "o", outputText, "output format: text or json")
	return &out
}

// printResult writes v as indented JSON when format is json, otherwise calls
// text to render it for humans. Amounts in v must already be decimal strings
// so that JSON consumers never lose precision on 128-bit values.
func printResult(w io.Writer, format string, v any, text func(io.Writer) error) error {
	switch format {
	case outputJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case outputText, "":
		return text(w)
	default:
		return fmt.Errorf("unknown output format %q (want text or json)", format)
	}
}
