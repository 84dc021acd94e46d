package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/chain/randomness"
)

func init() {
	queryCommands = append(queryCommands, newQueryRandomnessCmd)
}

func newQueryRandomnessCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "randomness",
		Short: "Show a block's VRF randomness and its proof",
		Long: `Show the randomness of a block (the latest when --height is omitted): the
64-byte ECVRF output (RFC 9381, edwards25519) that the block's proposer proved
with its consensus key over the previous block's output, together with the
80-byte proof, the proposer's consensus address and key, and the VRF input,
so that anyone can re-verify it. "fallback" marks a block executed without a
valid proof (its output is SHA-512 of the input and was predictable); consensus
never decides such a block. Heights older than the chain's history_blocks
parameter are pruned. See docs/randomness.md.`,
		Example: `  veil query randomness
  veil query randomness --height 1200 -o json`,
		Args: cobra.NoArgs,
	}
	var height int64
	cmd.Flags().Int64Var(&height, "height", 0, "block height (default: the latest)")
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if height < 0 {
			return fmt.Errorf("--height must be a positive block height, got %d", height)
		}
		var args any
		if height > 0 {
			args = height // a JSON number is the query's decimal height
		}
		var v randomness.View
		_, _, cancel, _, err := moduleQuery(cmd, cf, randomness.Name, "randomness", args, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			kind := "ECVRF proof verified by every validator"
			if v.Fallback {
				kind = "FALLBACK: no valid proof, output = SHA-512(input), treat as biasable"
			}
			proof := v.Proof
			if proof == "" {
				proof = "-"
			}
			fmt.Fprintf(tw, "height\t%d\n", v.Height)
			fmt.Fprintf(tw, "source\t%s\n", kind)
			fmt.Fprintf(tw, "output\t%s\n", v.Output)
			fmt.Fprintf(tw, "proof\t%s\n", proof)
			fmt.Fprintf(tw, "proposer\t%s\n", v.Proposer)
			key := v.ProposerKey
			if key == "" {
				key = "- (not registered)"
			}
			fmt.Fprintf(tw, "proposer key\t%s\n", key)
			fmt.Fprintf(tw, "input\t%s\n", v.Input)
			return tw.Flush()
		})
	}
	return cmd
}
