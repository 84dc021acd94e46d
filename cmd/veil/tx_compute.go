package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
)

func init() { txCommands = append(txCommands, newTxComputeCmd, newTxPoolCmd) }

// parseWorkerArg resolves a WORKER argument: a 32-byte identity in hex
// (with or without 0x), or the name of a dev worker ("worker0") looked up
// in the network file's workers list. A name needs the network file, so
// it is refused with --node; anything that looks like hex is never taken
// for a name, so a mistyped identity gets a hex error rather than "no such
// worker".
func parseWorkerArg(cf *clientFlags, s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("worker: want a 0x identity (64 hex digits) or a dev worker name such as worker0")
	}
	h, prefixed := strings.CutPrefix(strings.TrimPrefix(s, "0X"), "0x")
	prefixed = prefixed || strings.HasPrefix(s, "0X")
	if prefixed || isHex(h) {
		b, err := hex.DecodeString(h)
		switch {
		case err != nil:
			return nil, fmt.Errorf("worker identity %q is not hex: %v", s, err)
		case len(b) != registry.IdentitySize:
			return nil, fmt.Errorf("worker identity %q has %d bytes, want %d (%d hex digits)", s, len(b), registry.IdentitySize, 2*registry.IdentitySize)
		}
		return b, nil
	}
	if cf.node != "" {
		return nil, fmt.Errorf("worker %q is neither a 0x identity nor usable as a name with --node: names are looked up in the network file (--network)", s)
	}
	_, n, err := cf.dialNetwork()
	if err != nil {
		return nil, fmt.Errorf("worker %q is not a hex identity, and names need the network file: %w", s, err)
	}
	return workerByName(n, s)
}

// workerByName finds a dev worker's identity in the network file.
func workerByName(n *client.Network, name string) ([]byte, error) {
	names := make([]string, 0, len(n.Workers))
	for _, w := range n.Workers {
		if w.Name != name {
			names = append(names, w.Name)
			continue
		}
		b, err := hex.DecodeString(strings.TrimPrefix(w.Identity, "0x"))
		if err != nil || len(b) != registry.IdentitySize {
			return nil, fmt.Errorf("worker %q has no valid identity in the network file (%q)", name, w.Identity)
		}
		return b, nil
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no worker named %q: the network file lists no workers; pass the worker's 0x identity", name)
	}
	return nil, fmt.Errorf("no worker named %q in the network file (workers: %s)", name, strings.Join(names, ", "))
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// positiveAmountArg parses a token amount given as what (a flag or an
// argument name) with parseAmountFlag's syntax and refuses zero, so a
// typo never reaches the chain as a zero stake or contribution.
func positiveAmountArg(cmd *cobra.Command, cf *clientFlags, what, s string) (types.Amount, error) {
	a, err := parseAmountFlag(cmd, cf, s)
	return positiveAmount(what, a, err)
}

// parsePoolID reads a pool id: pools are numbered from 1.
func parsePoolID(s string) (uint64, error) {
	id, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("pool id %q must be a positive integer (as 'veil query pools' lists them)", s)
	}
	return id, nil
}

// parseShares reads a number of pool shares: a positive integer. Shares
// are not tokens (a share's price changes with rewards and slashes), so
// the token syntax ("1.5VEIL") is refused.
func parseShares(s string) (types.Amount, error) {
	a, err := types.ParseAmount(strings.TrimSpace(s))
	if err != nil {
		return a, fmt.Errorf("shares %q must be a positive integer ('veil query contributions' shows what you hold): %w", s, err)
	}
	if a.IsZero() {
		return a, errors.New("shares must be greater than zero")
	}
	return a, nil
}

// ppmOne is 100% in parts per million, the compute module's unit for
// commissions.
const ppmOne = 1_000_000

// parsePoolCommission reads a pool commission: a percentage with a "%"
// sign ("10%", "2.5%", at most 4 decimals, so it is a whole number of ppm)
// or a bare integer in parts per million ("100000" = 10%). The unit is
// explicit because the staking commission takes bare percentages.
func parsePoolCommission(s string) (uint32, error) {
	s = strings.TrimSpace(s)
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		whole, frac, hasFrac := strings.Cut(strings.TrimSpace(pct), ".")
		if whole == "" || (hasFrac && frac == "") || len(frac) > 4 || !isDigits(whole) || (hasFrac && !isDigits(frac)) {
			return 0, fmt.Errorf("commission %q: want a percentage with at most 4 decimals (e.g. 10%% or 2.5%%) or an integer in ppm (e.g. 100000)", s)
		}
		w, err := strconv.ParseUint(whole, 10, 32)
		if err != nil || w > 100 {
			return 0, fmt.Errorf("commission %q must be between 0%% and 100%%", s)
		}
		ppm := w * 10_000
		if hasFrac {
			f, _ := strconv.ParseUint(frac+strings.Repeat("0", 4-len(frac)), 10, 32)
			ppm += f
		}
		if ppm > ppmOne {
			return 0, fmt.Errorf("commission %q exceeds 100%%", s)
		}
		return uint32(ppm), nil
	}
	if !isDigits(s) {
		return 0, fmt.Errorf("commission %q: want a percentage with a %% sign (e.g. 10%%) or an integer in ppm (e.g. 100000 = 10%%)", s)
	}
	ppm, err := strconv.ParseUint(s, 10, 32)
	if err != nil || ppm > ppmOne {
		return 0, fmt.Errorf("commission %q ppm must be between 0 and %d (100%%)", s, ppmOne)
	}
	return uint32(ppm), nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

const workerArgHelp = `WORKER is the worker's 32-byte identity in hex (with or without 0x), as
'veil query workers' prints it, or the name of a dev worker ("worker0") from
the network file (--network; not with --node).`

func newTxComputeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "compute",
		Short: "Bind a worker, stake and start or stop computing, reclaim the stake",
		Long: `Computation economics, signed by the worker's operator (the account its
relayer registered it from; for a worker in a pool, the pool's owner). A
worker's life: bind (ready) → start with a stake (computing: it answers
heartbeat challenges and earns a share of every block's reward) → stop
(cooling down, stake still locked) → reclaim after the cool-down (ready
again, stake back in the free balance). A computing worker that misses a
heartbeat is slashed and turns unresponsive until it answers again.

'veil relay --compute-stake AMOUNT' does bind and start on its own and
keeps the worker computing. Amounts are integers in the smallest unit or
tokens with the symbol (1.5VEIL). See docs/operations.md, "Running a
computing worker".`,
		Example: `  veil tx compute bind worker0 --from //Alice//worker0 --wait
  veil tx compute start worker0 --stake 100VEIL --from //Alice//worker0 --wait
  veil tx compute stop 0x5b68…(64 hex digits) --from myoperator --wait
  veil tx compute reclaim 0x5b68…(64 hex digits) --from myoperator --wait`,
	}
	cmd.AddCommand(newTxComputeBindCmd(), newTxComputeStartCmd(), newTxComputeStopCmd(), newTxComputeReclaimCmd())
	return cmd
}

// newWorkerTxCmd is a compute command whose only argument is WORKER.
func newWorkerTxCmd(use, short, long, example string, build func(id []byte) proto.Message) *cobra.Command {
	cmd := &cobra.Command{Use: use + " WORKER", Short: short, Long: long + "\n\n" + workerArgHelp, Example: example, Args: cobra.ExactArgs(1)}
	f := addTxFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := parseWorkerArg(f.clientFlags, args[0])
		if err != nil {
			return err
		}
		return f.send(cmd, build(id))
	}
	return cmd
}

func newTxComputeBindCmd() *cobra.Command {
	return newWorkerTxCmd("bind", "Create the worker's compute record (state ready)",
		`Bind a registered worker for computing. The signer must be the operator the
worker is registered to (its relayer's --operator), and the worker's
attestation must be current. Binding locks nothing. The worker's benchmark
score P, which the worker reports on chain a few blocks after registration
('veil query compute worker' shows it), sets the minimum stake to start.`,
		`  veil tx compute bind worker0 --from //Alice//worker0 --wait
  veil tx compute bind 0x5b68…(64 hex digits) --from myoperator --wait`,
		func(id []byte) proto.Message { return &computev1.MsgBind{Worker: id} })
}

func newTxComputeStartCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "start WORKER --stake AMOUNT",
		Short: "Lock a stake and start computing (heartbeats, rewards)",
		Long: `Start computing: --stake is moved from the signer's free balance to its
reserved balance (for a pool worker, from the pool account's free funds) and
stays locked until reclaimed. The worker must be ready (bound, or reclaimed
after a stop), its attestation current and its benchmark score P on chain.
The stake must be at least min_stake_k × isqrt(P) ('veil query compute
params' shows min_stake_k; 'veil query compute worker' the score). A larger
stake raises the worker's initial value V and so its share of the rewards,
up to value_cap. While computing, the chain sends the worker heartbeat
challenges; each missed one slashes slash_ppm of the stake.

` + workerArgHelp,
		Example: `  veil tx compute start worker0 --stake 100VEIL --from //Alice//worker0 --wait
  veil tx compute start 0x5b68…(64 hex digits) --stake 100000000000000 --from myoperator --wait`,
		Args: cobra.ExactArgs(1),
	}
	f := addTxFlags(cmd)
	var stake string
	cmd.Flags().StringVar(&stake, "stake", "", "stake: an integer in the smallest unit, or tokens with the symbol, e.g. 100VEIL (required)")
	_ = cmd.MarkFlagRequired("stake")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := parseWorkerArg(f.clientFlags, args[0])
		if err != nil {
			return err
		}
		a, err := positiveAmountArg(cmd, f.clientFlags, "--stake", stake)
		if err != nil {
			return err
		}
		return f.send(cmd, &computev1.MsgStartComputing{Worker: id, Stake: a.String()})
	}
	return cmd
}

func newTxComputeStopCmd() *cobra.Command {
	return newWorkerTxCmd("stop", "Stop computing; the stake cools down before it can be reclaimed",
		`Stop a computing (or unresponsive) worker: its rewards so far are settled,
it leaves the heartbeat draw and the contract scheduler, and its stake stays
locked for cooldown_blocks ('veil query compute params'); 'veil query
compute worker' shows cooldown_ends_at. Then 'veil tx compute reclaim'.`,
		`  veil tx compute stop worker0 --from //Alice//worker0 --wait`,
		func(id []byte) proto.Message { return &computev1.MsgStopComputing{Worker: id} })
}

func newTxComputeReclaimCmd() *cobra.Command {
	return newWorkerTxCmd("reclaim", "Release a stopped worker's stake after its cool-down",
		`Release the stake of a worker whose cool-down has ended (at or after its
cooldown_ends_at height) back to the free balance of the account that
staked it (the operator, or the pool account). The worker is ready again
and can be started with a new stake. A pool worker that its pool's
withdraw queue stopped is reclaimed automatically.`,
		`  veil tx compute reclaim worker0 --from //Alice//worker0 --wait`,
		func(id []byte) proto.Message { return &computev1.MsgReclaim{Worker: id} })
}

func newTxPoolCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pool",
		Short: "Stake pools: create, add workers, contribute, withdraw",
		Long: `Stake pools let contributors fund workers. A pool's account holds its value:
free funds (contributions, rewards, released stakes) plus its workers'
stakes. Contributors hold shares; a share is worth value / total shares, so
rewards raise the price and slashes lower it. The owner adds its own bound,
ready workers and starts them with 'veil tx compute start', which stakes
from the pool's free funds; the owner keeps --commission of the rewards.
A withdrawal is paid from free funds at once or queued; a queue that stays
unpaid for withdraw_grace_blocks stops the pool's workers to pay it.`,
		Example: `  veil tx pool create --commission 10% --from myoperator --wait
  veil tx pool add-worker 1 worker0 --from //Alice//worker0 --wait
  veil tx pool contribute 1 500VEIL --from //Bob --wait
  veil tx pool withdraw 1 250000000000000 --from //Bob --wait`,
	}
	cmd.AddCommand(newTxPoolCreateCmd(), newTxPoolAddWorkerCmd(), newTxPoolContributeCmd(), newTxPoolWithdrawCmd())
	return cmd
}

func newTxPoolCreateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "create --commission PERCENT%|PPM",
		Short: "Create a stake pool owned by the signer",
		Long: `Create a stake pool owned by the signer; the events of the transaction
('veil query tx HASH') and 'veil query pools' show its id. --commission is
the owner's part of the pool's rewards, either as a percentage WITH a %
sign ("10%", "2.5%", at most 4 decimals) or as a bare integer in parts per
million ("100000" = 10%, "1000000" = 100%). A bare "10" is 10 ppm
(0.001%), not 10%.`,
		Example: `  veil tx pool create --commission 10% --from myoperator --wait
  veil tx pool create --commission 25000 --from myoperator --wait   # 2.5%`,
		Args: cobra.NoArgs,
	}
	f := addTxFlags(cmd)
	var commission string
	cmd.Flags().StringVar(&commission, "commission", "", `owner's commission: a percentage with a % sign ("10%") or an integer in ppm ("100000") (required)`)
	_ = cmd.MarkFlagRequired("commission")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := parsePoolCommission(commission)
		if err != nil {
			return err
		}
		return f.send(cmd, &computev1.MsgCreatePool{CommissionPpm: c})
	}
	return cmd
}

func newTxPoolAddWorkerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add-worker POOL_ID WORKER",
		Short: "Put one of the signer's ready workers into its pool",
		Long: `Add a worker to a pool. The signer must own the pool and be the worker's
operator; the worker must be bound, ready and in no pool. It joins for good
(there is no removal): from then on the pool's owner starts and stops it,
staking from the pool's free funds, and its rewards go to the pool (less
the owner's commission).

` + workerArgHelp,
		Example: `  veil tx pool add-worker 1 worker0 --from //Alice//worker0 --wait`,
		Args:    cobra.ExactArgs(2),
	}
	f := addTxFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		pool, err := parsePoolID(args[0])
		if err != nil {
			return err
		}
		id, err := parseWorkerArg(f.clientFlags, args[1])
		if err != nil {
			return err
		}
		return f.send(cmd, &computev1.MsgAddWorker{PoolId: pool, Worker: id})
	}
	return cmd
}

func newTxPoolContributeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contribute POOL_ID AMOUNT",
		Short: "Buy shares of a pool with free balance",
		Long: `Transfer AMOUNT of the signer's free balance to the pool for shares at the
current share price (the first contribution buys one share per base unit).
AMOUNT is an integer in the smallest unit or tokens with the symbol (500VEIL).
New free funds pay queued withdrawals first.`,
		Example: `  veil tx pool contribute 1 500VEIL --from //Bob --wait
  veil tx pool contribute 1 500000000000000 --from //Bob --wait`,
		Args: cobra.ExactArgs(2),
	}
	f := addTxFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		pool, err := parsePoolID(args[0])
		if err != nil {
			return err
		}
		a, err := positiveAmountArg(cmd, f.clientFlags, "amount", args[1])
		if err != nil {
			return err
		}
		return f.send(cmd, &computev1.MsgContribute{PoolId: pool, Amount: a.String()})
	}
	return cmd
}

func newTxPoolWithdrawCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "withdraw POOL_ID SHARES",
		Short: "Redeem pool shares for their value (paid now or queued)",
		Long: `Redeem SHARES (an integer; 'veil query contributions ADDRESS' shows the
shares held) at the share price when they are paid. The pool pays from its
free funds at once; what they cannot cover waits in the pool's withdraw
queue, first come first served, and is paid as funds come free. A queue
unpaid for withdraw_grace_blocks stops the pool's workers so their stakes
return after the cool-down.`,
		Example: `  veil tx pool withdraw 1 250000000000000 --from //Bob --wait`,
		Args:    cobra.ExactArgs(2),
	}
	f := addTxFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		pool, err := parsePoolID(args[0])
		if err != nil {
			return err
		}
		shares, err := parseShares(args[1])
		if err != nil {
			return err
		}
		return f.send(cmd, &computev1.MsgWithdraw{PoolId: pool, Shares: shares.String()})
	}
	return cmd
}
