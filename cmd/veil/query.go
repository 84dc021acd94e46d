package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/chain/randomness"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
)

func init() { registerCommand(newQueryCmd) }

func newQueryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query",
		Short: "Read chain state: balances, transactions, blocks",
	}
	cmd.AddCommand(newQueryBalanceCmd(), newQueryTxCmd(), newQueryBlockCmd())
	for _, add := range queryCommands {
		cmd.AddCommand(add())
	}
	return cmd
}

// queryCommands is filled by init functions of other files (one per
// module), like subcommands for the root command.
var queryCommands []func() *cobra.Command

func newQueryBalanceCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "balance ADDRESS",
		Short: "Show an account's free and reserved balance and next nonce",
		Long: `Show an account's balances and its next nonce (including transactions
waiting in the node's mempool). ADDRESS is an SS58 address or a 0x-prefixed
32-byte account id. Amounts are in the smallest unit.`,
		Example: `  veil query balance 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty
  veil query balance 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty -o json`,
		Args: cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		c, err := cf.dial()
		if err != nil {
			return err
		}
		ctx, cancel := cf.context(cmd)
		defer cancel()
		a, err := c.Account(ctx, args[0])
		if err != nil {
			return err
		}
		v := map[string]any{
			"address": a.GetAddress(), "free": a.GetFree(), "reserved": a.GetReserved(),
			"nonce": a.GetNonce(), "height": a.GetHeight(),
		}
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			f := amountFormatter(ctx, c)
			fmt.Fprintf(w, "address   %s\n", a.GetAddress())
			fmt.Fprintf(w, "free      %s\n", f(amountString(a.GetFree())))
			fmt.Fprintf(w, "reserved  %s\n", f(amountString(a.GetReserved())))
			fmt.Fprintf(w, "nonce     %d\n", a.GetNonce())
			return nil
		})
	}
	return cmd
}

func txResultJSON(r *nodev1.TxResult) map[string]any {
	evs := make([]map[string]any, 0, len(r.GetEvents()))
	for _, e := range r.GetEvents() {
		attrs := map[string]string{}
		for _, a := range e.GetAttributes() {
			attrs[a.GetKey()] = a.GetValue()
		}
		evs = append(evs, map[string]any{"type": e.GetType(), "attributes": attrs})
	}
	return map[string]any{
		"hash": fmt.Sprintf("%X", r.GetHash()), "height": r.GetHeight(), "code": r.GetCode(),
		"codespace": r.GetCodespace(), "log": r.GetLog(), "sender": r.GetSender(), "fee": r.GetFee(),
		"index": r.GetIndex(), "events": evs,
	}
}

func parseHash(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("transaction hash must be 64 hex digits, got %q", s)
	}
	return b, nil
}

func newQueryTxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "tx HASH",
		Short:   "Show a transaction's status and result",
		Example: `  veil query tx 3F1A…(64 hex digits) -o json`,
		Args:    cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		h, err := parseHash(args[0])
		if err != nil {
			return err
		}
		c, err := cf.dial()
		if err != nil {
			return err
		}
		ctx, cancel := cf.context(cmd)
		defer cancel()
		r, err := c.Tx(ctx, h)
		if err != nil {
			return err
		}
		status := strings.ToLower(strings.TrimPrefix(r.GetStatus().String(), "TX_STATUS_"))
		v := txResultJSON(r.GetResult())
		v["status"] = status
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			fmt.Fprintf(w, "%X: %s", h, status)
			if r.GetStatus() == nodev1.TxStatus_TX_STATUS_COMMITTED {
				fmt.Fprintf(w, " at height %d, code %d", r.GetResult().GetHeight(), r.GetResult().GetCode())
				if l := r.GetResult().GetLog(); l != "" {
					fmt.Fprintf(w, " (%s)", l)
				}
			}
			fmt.Fprintln(w)
			return nil
		})
	}
	return cmd
}

func newQueryBlockCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "block [HEIGHT]",
		Short: "Show a committed block (latest when HEIGHT is omitted)",
		Args:  cobra.MaximumNArgs(1),
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var h int64
		if len(args) == 1 {
			var err error
			if h, err = strconv.ParseInt(args[0], 10, 64); err != nil || h <= 0 {
				return fmt.Errorf("height must be a positive integer, got %q", args[0])
			}
		}
		c, err := cf.dial()
		if err != nil {
			return err
		}
		ctx, cancel := cf.context(cmd)
		defer cancel()
		r, err := c.Block(ctx, h)
		if err != nil {
			return err
		}
		b := r.GetBlock()
		// The block's first transaction is its proposer's randomness
		// proof ('veil query randomness'), not a signed transaction.
		kind := func(i int) string {
			if i < len(r.GetTxs()) && randomness.IsProofTx(r.GetTxs()[i]) {
				return "randomness"
			}
			return "tx"
		}
		txs := make([]map[string]any, 0, len(b.GetTxs()))
		for i, t := range b.GetTxs() {
			v := txResultJSON(t)
			v["kind"] = kind(i)
			txs = append(txs, v)
		}
		v := map[string]any{
			"height": b.GetHeight(), "time": b.GetTime().AsTime().UTC().Format(time.RFC3339Nano),
			"hash": fmt.Sprintf("%X", b.GetHash()), "app_hash": fmt.Sprintf("%X", b.GetAppHash()),
			"proposer": fmt.Sprintf("%X", b.GetProposer()), "txs": txs,
		}
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			fmt.Fprintf(w, "block %d  %X\n  time      %s\n  proposer  %X\n  txs       %d\n", b.GetHeight(), b.GetHash(),
				b.GetTime().AsTime().UTC().Format(time.RFC3339Nano), b.GetProposer(), len(b.GetTxs()))
			for i, t := range b.GetTxs() {
				who := t.GetSender()
				if kind(i) == "randomness" {
					who = "(block randomness proof)"
				}
				fmt.Fprintf(w, "    %X  code %d  %s\n", t.GetHash(), t.GetCode(), who)
			}
			return nil
		})
	}
	return cmd
}
