package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/chain/compute"
)

func init() {
	queryCommands = append(queryCommands, newQueryComputeCmd, newQueryPoolsCmd, newQueryPoolCmd, newQueryContributionsCmd)
}

// formatValue renders a worker's value V (thousandths of a token,
// compute.ValueUnitsPerToken) as a decimal number of tokens.
func formatValue(v uint64) string {
	return fmt.Sprintf("%d.%03d", v/compute.ValueUnitsPerToken, v%compute.ValueUnitsPerToken)
}

// formatPPM renders parts per million as a percentage ("12.5%").
func formatPPM(ppm uint32) string {
	s := fmt.Sprintf("%d.%04d", ppm/10_000, ppm%10_000)
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".") + "%"
}

// heightOrDash renders a height that is 0 before the event happened.
func heightOrDash(h int64) string {
	if h <= 0 {
		return "-"
	}
	return strconv.FormatInt(h, 10)
}

// shortID abbreviates a 0x identity or key for tables.
func shortID(id string) string {
	if len(id) <= 18 {
		return id
	}
	return id[:18] + "…"
}

func newQueryComputeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compute",
		Short: "Computation economics: bound workers, parameters, totals",
		Long: `Read the compute module: the workers bound for computing with their state,
value V, benchmark score P, stake, heartbeats and rewards; its parameters;
and the global totals. Pools: 'veil query pools', 'veil query pool ID'.`,
		Example: `  veil query compute workers
  veil query compute worker worker0 -o json
  veil query compute params
  veil query compute totals`,
	}
	cmd.AddCommand(newQueryComputeWorkersCmd(), newQueryComputeWorkerCmd(), newQueryComputeParamsCmd(), newQueryComputeTotalsCmd())
	return cmd
}

func newQueryComputeWorkersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workers",
		Short: "List the bound workers: state, V, P, stake, last heartbeat, rewards",
		Long: `List every worker bound for computing, sorted by identity: its state (ready,
computing, unresponsive, cooling_down), value V (in tokens, three
decimals), benchmark score P, stake, the height of its last answered
heartbeat ('-' before the first), its rewards (paid so far plus pending)
and its pool (0: none). JSON carries the full record as 'veil query compute
worker' prints it; amounts are decimal strings in the smallest unit. The
registry record (attestation, TCB): 'veil query workers'.`,
		Example: `  veil query compute workers
  veil query compute workers -o json`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var list []compute.WorkerView
		c, ctx, cancel, height, err := moduleQuery(cmd, cf, compute.Name, "workers", nil, &list)
		if err != nil {
			return err
		}
		defer cancel()
		if list == nil {
			list = []compute.WorkerView{}
		}
		return printResult(cmd.OutOrStdout(), *out, list, func(w io.Writer) error {
			if len(list) == 0 {
				fmt.Fprintf(w, "no workers bound (height %d); bind one with 'veil tx compute bind'\n", height)
				return nil
			}
			f := amountFormatter(ctx, c)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "IDENTITY\tSTATE\tV\tP\tSTAKE\tLAST HEARTBEAT\tMISSES\tREWARDS\tPENDING\tPOOL")
			for _, x := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%s\t%d\n", shortID(x.Identity), x.State, formatValue(x.Value), x.Score,
					f(amountString(x.Stake)), heightOrDash(x.LastHeartbeat), x.Misses, f(amountString(x.RewardsTotal)),
					f(amountString(x.PendingRewards)), x.PoolID)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(w, "%d worker(s) at height %d\n", len(list), height)
			return nil
		})
	}
	return cmd
}

// amountString lets amountFormatter (which takes a fmt.Stringer) format
// the decimal strings of the module's views.
type amountString string

func (a amountString) String() string { return string(a) }

func newQueryComputeWorkerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker WORKER",
		Short: "Show one bound worker's compute record",
		Long: `Show one worker's compute record: operator, pool, state, stake, score P and
when it was reported, value V and reward share, heartbeats answered and
missed with the last one's height, the open challenge, rewards (paid,
pending) and slashes, and the heights it was bound, started computing and
ends its cool-down. eligible says whether the scheduler may assign it
contracts.

` + workerArgHelp,
		Example: `  veil query compute worker worker0
  veil query compute worker 0x5b68…(64 hex digits) -o json`,
		Args: cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := parseWorkerArg(cf, args[0])
		if err != nil {
			return err
		}
		var v compute.WorkerView
		c, ctx, cancel, height, err := moduleQuery(cmd, cf, compute.Name, "worker", compute.QueryArgs{Identity: fmt.Sprintf("0x%x", id)}, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			f := amountFormatter(ctx, c)
			fmt.Fprintf(w, "identity        %s\n", v.Identity)
			fmt.Fprintf(w, "operator        %s\n", v.Operator)
			if v.PoolID != 0 {
				fmt.Fprintf(w, "pool            %d\n", v.PoolID)
			}
			state := v.State
			if v.State == compute.StateCoolingDown {
				state = fmt.Sprintf("%s until height %d (now %d)", v.State, v.CooldownEndsAt, height)
				if v.ForcedStop {
					state += ", stopped by the pool's withdraw queue"
				}
			}
			fmt.Fprintf(w, "state           %s (eligible for contracts: %v)\n", state, v.Eligible)
			fmt.Fprintf(w, "stake           %s\n", f(amountString(v.Stake)))
			if v.Score > 0 {
				fmt.Fprintf(w, "score P         %d (reported at %d)\n", v.Score, v.ScoreReportedAt)
			} else {
				fmt.Fprintln(w, "score P         none yet (the worker reports its benchmark after registration)")
			}
			fmt.Fprintf(w, "value V         %s, reward share %d\n", formatValue(v.Value), v.Share)
			fmt.Fprintf(w, "heartbeats      %d answered, %d missed, last at %s\n", v.Heartbeats, v.Misses, heightOrDash(v.LastHeartbeat))
			if ch := v.Challenge; ch != nil {
				fmt.Fprintf(w, "challenge       from height %d, due by %d\n", ch.Height, ch.Deadline)
			}
			fmt.Fprintf(w, "rewards         %s paid, %s pending\n", f(amountString(v.RewardsTotal)), f(amountString(v.PendingRewards)))
			fmt.Fprintf(w, "slashed         %s\n", f(amountString(v.SlashedTotal)))
			fmt.Fprintf(w, "bound at        %d, computing since %s\n", v.BoundAt, heightOrDash(v.ComputingSince))
			return nil
		})
	}
	return cmd
}

func newQueryComputeParamsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "params",
		Short: "Show the compute parameters (always JSON)",
		Long: `Show the compute parameters as JSON: the stake factor min_stake_k (the
minimum stake is min_stake_k × isqrt(P)), cooldown_blocks, heartbeat rate,
response window and slash, the per-block reward and treasury cut, value
growth and decay, confidence weights, and pool limits. docs/compute.md
explains each.`,
		Example: `  veil query compute params`,
		Args:    cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var v compute.Params
		_, _, cancel, _, err := moduleQuery(cmd, cf, compute.Name, "params", nil, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), outputJSON, v, nil)
	}
	return cmd
}

func newQueryComputeTotalsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "totals",
		Short: "Show the compute totals: workers computing, total stake, reward pot",
		Long: `Show the module's global totals: active workers (computing or unresponsive)
and computing ones, the total stake locked, the total reward share, the
reward accumulator and its carry, and the reward pot (minted rewards not
yet settled to workers) with its account.`,
		Example: `  veil query compute totals
  veil query compute totals -o json`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var v compute.TotalsView
		c, ctx, cancel, height, err := moduleQuery(cmd, cf, compute.Name, "totals", nil, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			f := amountFormatter(ctx, c)
			fmt.Fprintf(w, "height          %d\n", height)
			fmt.Fprintf(w, "workers         %d active, %d computing\n", v.Active, v.Computing)
			fmt.Fprintf(w, "total stake     %s\n", f(amountString(v.TotalStake)))
			fmt.Fprintf(w, "total share     %s\n", v.TotalShare)
			fmt.Fprintf(w, "reward pot      %s (%s)\n", f(amountString(v.Pot)), v.PotAccount)
			fmt.Fprintf(w, "accumulator     %s (carry %s)\n", v.Accumulator, v.Carry)
			return nil
		})
	}
	return cmd
}

func newQueryPoolsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pools",
		Short: "List the stake pools: owner, commission, value, shares, workers",
		Long: `List every stake pool by id: its owner, commission, value (free funds plus
its workers' stakes), total shares and share price (value per share, 12
decimals), its workers and its withdraw queue. Amounts in JSON are decimal
strings in the smallest unit; commission_ppm is in parts per million.`,
		Example: `  veil query pools
  veil query pools -o json`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var list []compute.PoolView
		c, ctx, cancel, height, err := moduleQuery(cmd, cf, compute.Name, "pools", nil, &list)
		if err != nil {
			return err
		}
		defer cancel()
		if list == nil {
			list = []compute.PoolView{}
		}
		return printResult(cmd.OutOrStdout(), *out, list, func(w io.Writer) error {
			if len(list) == 0 {
				fmt.Fprintf(w, "no pools (height %d); create one with 'veil tx pool create'\n", height)
				return nil
			}
			f := amountFormatter(ctx, c)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tOWNER\tCOMMISSION\tVALUE\tSTAKED\tSHARES\tPRICE\tWORKERS\tQUEUED")
			for _, p := range list {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", p.ID, p.Owner, formatPPM(p.CommissionPPM), f(amountString(p.Value)),
					f(amountString(p.Staked)), p.TotalShares, p.SharePrice, len(p.Workers), len(p.WithdrawQueue))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(w, "%d pool(s) at height %d\n", len(list), height)
			return nil
		})
	}
	return cmd
}

func newQueryPoolCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pool ID",
		Short: "Show one stake pool with its workers and withdraw queue",
		Example: `  veil query pool 1
  veil query pool 1 -o json`,
		Args: cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := parsePoolID(args[0])
		if err != nil {
			return err
		}
		var v compute.PoolView
		c, ctx, cancel, _, err := moduleQuery(cmd, cf, compute.Name, "pool", compute.QueryArgs{ID: id}, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			f := amountFormatter(ctx, c)
			fmt.Fprintf(w, "pool            %d (created at %d)\n", v.ID, v.CreatedAt)
			fmt.Fprintf(w, "owner           %s, commission %s (%d ppm), earned %s\n", v.Owner, formatPPM(v.CommissionPPM), v.CommissionPPM, f(amountString(v.CommissionTotal)))
			fmt.Fprintf(w, "account         %s\n", v.Account)
			fmt.Fprintf(w, "value           %s (free %s, staked %s)\n", f(amountString(v.Value)), f(amountString(v.Free)), f(amountString(v.Staked)))
			fmt.Fprintf(w, "shares          %s at %s per share\n", v.TotalShares, v.SharePrice)
			fmt.Fprintf(w, "workers         %d\n", len(v.Workers))
			for _, wk := range v.Workers {
				fmt.Fprintf(w, "  %s\n", wk)
			}
			fmt.Fprintf(w, "withdraw queue  %d\n", len(v.WithdrawQueue))
			for _, r := range v.WithdrawQueue {
				fmt.Fprintf(w, "  %s  %s shares since height %d\n", r.Account, r.Shares, r.RequestedAt)
			}
			return nil
		})
	}
	return cmd
}

func newQueryContributionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contributions ADDRESS",
		Short: "Show an account's shares in every pool and what they are worth",
		Long: `Show the shares ADDRESS (SS58 or 0x account id) holds in each pool, the
shares it has queued for withdrawal, and what the held shares are worth at
the current share price. 'veil tx pool withdraw' redeems shares.`,
		Example: `  veil query contributions 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty
  veil query contributions 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty -o json`,
		Args: cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		who, err := parseAccountFlag(cmd, cf, args[0])
		if err != nil {
			return err
		}
		var list []compute.ContributionView
		c, ctx, cancel, _, err := moduleQuery(cmd, cf, compute.Name, "contributions", compute.QueryArgs{Account: fmt.Sprintf("0x%x", who[:])}, &list)
		if err != nil {
			return err
		}
		defer cancel()
		if list == nil {
			list = []compute.ContributionView{}
		}
		return printResult(cmd.OutOrStdout(), *out, list, func(w io.Writer) error {
			if len(list) == 0 {
				fmt.Fprintf(w, "%s holds no pool shares\n", args[0])
				return nil
			}
			f := amountFormatter(ctx, c)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "POOL\tSHARES\tQUEUED\tVALUE")
			for _, x := range list {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", x.PoolID, x.Shares, x.QueuedShares, f(amountString(x.Value)))
			}
			return tw.Flush()
		})
	}
	return cmd
}
