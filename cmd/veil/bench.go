package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/bench"
	"github.com/veil-network/veil/crypto/keys"
)

func init() { registerCommand(newBenchCmd) }

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure performance (results go to docs/benchmarks.md)",
	}
	cmd.AddCommand(newBenchTransfersCmd(), newBenchWorkerSyncCmd(), newBenchContractsCmd())
	return cmd
}

func newBenchContractsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contracts",
		Short: "Confidential command latency, command throughput and query rate (hello-world)",
		Long: `Start a throwaway dev network on loopback (one validator, simulated TEE
workers with their relayers, worker 0 as gatekeeper), deploy hello-world,
and measure in three bounded phases:

  1. latency: --latency-calls commands one at a time, each submitted at a
     random point of a block interval, timed from submission until its
     receipt is readable through an encrypted query (submit → block →
     proof block → relayed → executed → receipt);
  2. throughput: --commands encrypted commands from --accounts funded
     accounts, --per-tx per transaction, as fast as the chain takes them,
     until every replica executed them all;
  3. queries: --concurrency callers send sealed get_count queries over
     HTTP for --query-duration (client sealing in the same process).

Builds hello-world with the Go toolchain first. Stops by itself.`,
		Example: `  veil bench contracts
  veil bench contracts --commands 10000 --workers 2 --replicas 2 -o json`,
		Args: cobra.NoArgs,
	}
	var o bench.ContractOptions
	var quiet bool
	cmd.Flags().DurationVar(&o.BlockTime, "block-time", time.Second, "block interval of the dev network")
	cmd.Flags().IntVar(&o.Workers, "workers", 1, "simulated TEE workers")
	cmd.Flags().IntVar(&o.Replicas, "replicas", 1, "workers executing the contract")
	cmd.Flags().IntVar(&o.LatencyCalls, "latency-calls", 40, "sequential commands for the latency phase")
	cmd.Flags().IntVar(&o.Commands, "commands", 4000, "commands for the throughput phase")
	cmd.Flags().IntVar(&o.Accounts, "accounts", 40, "sending accounts for the throughput phase")
	cmd.Flags().IntVar(&o.PerTx, "per-tx", 20, "commands per transaction")
	cmd.Flags().DurationVar(&o.QueryDuration, "query-duration", 10*time.Second, "length of the query phase")
	cmd.Flags().IntVar(&o.QueryConcurrency, "concurrency", 8, "concurrent query callers")
	cmd.Flags().BoolVar(&o.Sessions, "sessions", true, "query through query sessions (false: seal and sign every query)")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress lines")
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		o.Logger = slog.New(slog.DiscardHandler)
		if !quiet {
			o.Progress = func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), s) }
		}
		rep, err := bench.Contracts(cmd.Context(), o)
		if err != nil {
			return err
		}
		return printResult(cmd.OutOrStdout(), *out, rep, func(w io.Writer) error {
			fmt.Fprintf(w, "command latency (%d calls, %d ms blocks): p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms\n",
				rep.Latency.Count, rep.BlockTimeMs, rep.Latency.P50, rep.Latency.P90, rep.Latency.P99, rep.Latency.Max)
			fmt.Fprintf(w, "throughput: %d commands executed by %d replica(s) in %.1f s = %.0f commands/s\n",
				rep.Commands, rep.Replicas, rep.CommandSeconds, rep.CommandsPerSec)
			fmt.Fprintf(w, "queries: %d in total, %.0f/s end to end, p50 %.1f ms, p99 %.1f ms, %d errors, %.0f per CPU-second of the whole process\n",
				rep.Queries, rep.QueriesPerSec, rep.QueryLatency.P50, rep.QueryLatency.P99, rep.QueryErrors, rep.QueryCPUPerCore)
			return nil
		})
	}
	return cmd
}

func newBenchWorkerSyncCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker-sync",
		Short: "Lag from commit to worker-processed under a steady message load",
		Long: `Start a throwaway one-validator dev network with one simulated worker and
its relayer on loopback, push --rate messages per second to the worker's
ingress topic for --duration, and measure, for every block carrying them,
how long after its commit the worker had verified (light client + ICS23
proofs) and processed all its messages — in time and in blocks (the floor
is 1 block: block H's state is committed by header H+1). Stops by itself.`,
		Example: `  veil bench worker-sync
  veil bench worker-sync --rate 1000 --duration 1m -o json`,
		Args: cobra.NoArgs,
	}
	var o bench.SyncOptions
	var quiet bool
	cmd.Flags().IntVar(&o.Rate, "rate", 500, "messages per second")
	cmd.Flags().DurationVar(&o.Duration, "duration", 30*time.Second, "how long to apply the load")
	cmd.Flags().DurationVar(&o.BlockTime, "block-time", time.Second, "block interval of the dev network")
	cmd.Flags().IntVar(&o.PerTx, "per-tx", 10, "messages per transaction")
	cmd.Flags().IntVar(&o.PayloadBytes, "payload", 64, "payload bytes per message")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress lines")
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		o.Logger = slog.New(slog.DiscardHandler)
		if !quiet {
			o.Progress = func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), s) }
		}
		rep, err := bench.WorkerSync(cmd.Context(), o)
		if err != nil {
			return err
		}
		return printResult(cmd.OutOrStdout(), *out, rep, func(w io.Writer) error {
			fmt.Fprintf(w, "%d messages at %.0f/s over %d blocks of %v (max %d messages per block), %d submit errors\n",
				rep.Messages, rep.Rate, rep.Blocks, rep.BlockTime, rep.MaxPerBlock, rep.SubmitErrors)
			fmt.Fprintf(w, "lag commit → worker-processed: p50 %d blocks / %.0f ms, p99 %d blocks / %.0f ms, max %d blocks / %.0f ms\n",
				rep.LagBlocksP50, ms(rep.LagP50), rep.LagBlocksP99, ms(rep.LagP99), rep.LagBlocksMax, ms(rep.LagMax))
			return nil
		})
	}
	return cmd
}

func newBenchTransfersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "transfers",
		Short: "Finalized transfers per second on a 1-validator node, vs CometBFT's kvstore",
		Long: `Start a throwaway single-validator Veil node on loopback, drive signed
transfers from many funded accounts into its mempool, and measure finalized
transactions per second and commit latency (submit → committed). Then run
CometBFT's kvstore example application with the same consensus settings and
the same number of transactions, and report the ratio.`,
		Example: `  veil bench transfers
  veil bench transfers --txs 60000 --accounts 2000 -o json`,
		Args: cobra.NoArgs,
	}
	var o bench.Options
	var scheme string
	var quiet bool
	cmd.Flags().IntVar(&o.Txs, "txs", 30_000, "number of transfers")
	cmd.Flags().IntVar(&o.Accounts, "accounts", 1_000, "number of sending accounts")
	cmd.Flags().StringVar(&scheme, "scheme", "sr25519", "sender key scheme: sr25519 or ed25519")
	cmd.Flags().DurationVar(&o.BlockTime, "block-time", time.Second, "CometBFT commit timeout")
	cmd.Flags().BoolVar(&o.SkipKVStore, "skip-kvstore", false, "skip the kvstore reference run")
	cmd.Flags().BoolVar(&quiet, "quiet", false, "no progress lines")
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var err error
		if o.Scheme, err = keys.ParseScheme(scheme); err != nil {
			return err
		}
		o.Logger = slog.New(slog.DiscardHandler)
		if !quiet {
			o.Progress = func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), s) }
		}
		rep, err := bench.Transfers(cmd.Context(), o)
		if err != nil {
			return err
		}
		return printResult(cmd.OutOrStdout(), *out, rep, func(w io.Writer) error {
			row := func(r bench.Result) {
				fmt.Fprintf(w, "%-8s %7d txs  %8.0f tx/s  latency p50 %6.0f ms  p99 %6.0f ms  %3d blocks (max %d txs)  failed %d\n",
					r.App, r.Finalized, r.TPS, ms(r.LatencyP50), ms(r.LatencyP99), r.Blocks, r.MaxBlockTxs, r.Failed+r.SubmitErrors)
			}
			row(rep.Veil)
			if rep.KVStore != nil {
				row(*rep.KVStore)
			}
			if rep.Ratio != nil {
				fmt.Fprintf(w, "ratio veil/kvstore: %.2f\n", *rep.Ratio)
			}
			return nil
		})
	}
	return cmd
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
