package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

func init() { registerCommand(newStatusCmd) }

func newStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the chain's id, head and parameters",
		Example: `  veil status
  veil status -o json --node http://127.0.0.1:26602`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := cf.dial()
		if err != nil {
			return err
		}
		ctx, cancel := cf.context(cmd)
		defer cancel()
		st, err := c.Status(ctx)
		if err != nil {
			return err
		}
		v := map[string]any{
			"chain_id":            st.GetChainId(),
			"latest_height":       st.GetLatestHeight(),
			"latest_block_time":   st.GetLatestBlockTime().AsTime().UTC().Format(time.RFC3339Nano),
			"latest_block_hash":   fmt.Sprintf("%X", st.GetLatestBlockHash()),
			"latest_app_hash":     fmt.Sprintf("%X", st.GetLatestAppHash()),
			"earliest_height":     st.GetEarliestHeight(),
			"node_id":             st.GetNodeId(),
			"catching_up":         st.GetCatchingUp(),
			"ss58_prefix":         st.GetSs58Prefix(),
			"token_symbol":        st.GetTokenSymbol(),
			"token_decimals":      st.GetTokenDecimals(),
			"existential_deposit": st.GetExistentialDeposit(),
			"fee_per_byte":        st.GetFeePerByte(),
			"fee_per_message":     st.GetFeePerMessage(),
			"genesis_hash":        fmt.Sprintf("%X", st.GetGenesisHash()),
			"version":             st.GetVersion(),
			"node":                c.URL,
		}
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			fmt.Fprintf(w, "chain      %s (veil %s)\n", st.GetChainId(), st.GetVersion())
			fmt.Fprintf(w, "height     %d at %s\n", st.GetLatestHeight(), st.GetLatestBlockTime().AsTime().UTC().Format(time.RFC3339))
			fmt.Fprintf(w, "app hash   %X\n", st.GetLatestAppHash())
			fmt.Fprintf(w, "node       %s (%s)\n", c.URL, st.GetNodeId())
			fmt.Fprintf(w, "token      %s, %d decimals, ss58 prefix %d\n", st.GetTokenSymbol(), st.GetTokenDecimals(), st.GetSs58Prefix())
			if st.GetCatchingUp() {
				fmt.Fprintln(w, "catching up with the network")
			}
			return nil
		})
	}
	return cmd
}
