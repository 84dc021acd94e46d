package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
	"github.com/veil-network/veil/node"
)

func init() { txCommands = append(txCommands, newTxStakingCmd) }

func newTxStakingCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "staking",
		Short: "Bond, validate, nominate, unbond (NPoS staking)",
		Long: `NPoS staking calls. The signing account is the stash (and its own controller).
Bonded tokens move from free to reserved balance; unbonded tokens can be
withdrawn after the bonding duration (in eras). At every era boundary the
chain elects validators from the declared candidates, weighting each by its
own bond and its nominators' bonds; elected validators and their nominators
share the era's inflation and are slashed together for equivocation.
Amounts are in the smallest unit (12 decimals on dev chains: 1 VEIL =
1000000000000). See docs/staking.md.`,
		Example: `  veil tx staking bond --amount 100000000000000000 --from //Eve --wait
  veil tx staking nominate 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY --from //Eve --wait
  veil tx staking validate --commission 5 --home ~/.veil/node --from //Ferdie --wait`,
	}
	cmd.AddCommand(newTxBondCmd(), newTxBondExtraCmd(), newTxUnbondCmd(), newTxWithdrawCmd(), newTxValidateCmd(),
		newTxNominateCmd(), newTxChillCmd(), newTxSetPayeeCmd(), newTxStakingParamsCmd())
	return cmd
}

// parsePositiveAmount parses an --amount flag in base units.
func parsePositiveAmount(s string) (types.Amount, error) {
	a, err := types.ParseAmount(s)
	return positiveAmount("--amount", a, err)
}

// positiveAmount checks the result of parsing an amount given as what (a
// flag or an argument name): it must have parsed and be greater than zero.
func positiveAmount(what string, a types.Amount, err error) (types.Amount, error) {
	if err != nil {
		return a, fmt.Errorf("%s: %w", what, err)
	}
	if a.IsZero() {
		return a, fmt.Errorf("%s must be greater than zero", what)
	}
	return a, nil
}

// parsePayee reads "staked", "stash" or an account address.
func parsePayee(cmd *cobra.Command, f *txFlags, s string) (*stakingv1.Payee, error) {
	switch strings.ToLower(s) {
	case "staked":
		return &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_STAKED}, nil
	case "stash":
		return &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_STASH}, nil
	}
	id, err := parseAccountFlag(cmd, f.clientFlags, s)
	if err != nil {
		return nil, fmt.Errorf("payee must be staked, stash or an account address: %w", err)
	}
	return &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_ACCOUNT, Account: id[:]}, nil
}

// parseCommission turns a percentage ("5", "5.5", "12.3456789") into
// parts per billion without floating point.
func parseCommission(s string) (uint32, error) {
	s = strings.TrimSuffix(strings.TrimSpace(s), "%")
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || (hasFrac && frac == "") || len(frac) > 7 {
		return 0, fmt.Errorf("commission %q must be a percentage with at most 7 decimals, e.g. 5 or 5.5", s)
	}
	w, err := strconv.ParseUint(whole, 10, 32)
	if err != nil || w > 100 {
		return 0, fmt.Errorf("commission %q must be between 0 and 100 percent", s)
	}
	parts := w * 10_000_000
	if hasFrac {
		f, err := strconv.ParseUint(frac+strings.Repeat("0", 7-len(frac)), 10, 32)
		if err != nil {
			return 0, fmt.Errorf("commission %q: bad decimals", s)
		}
		parts += f
	}
	if parts > uint64(staking.PerbillOne) {
		return 0, fmt.Errorf("commission %q exceeds 100 percent", s)
	}
	return uint32(parts), nil
}

func newTxBondCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bond --amount N [--payee staked|stash|ADDRESS]",
		Short: "Bond free balance; the signer becomes a stash",
		Long: `Bond --amount of the signer's free balance (at least the chain's minimum
nominator bond). The signer must not be bonded yet (use bond-extra). Rewards
go to --payee: "staked" (re-bonded, the default), "stash" (free balance) or
another account's free balance.`,
		Example: `  veil tx staking bond --amount 100000000000000000 --from //Eve --wait
  veil tx staking bond --amount 5000000000000000 --payee stash --from mykey`,
		Args: cobra.NoArgs,
	}
	f := addTxFlags(cmd)
	var amount, payee string
	cmd.Flags().StringVar(&amount, "amount", "", "amount in the smallest unit (required)")
	cmd.Flags().StringVar(&payee, "payee", "staked", "reward destination: staked, stash or an account address")
	_ = cmd.MarkFlagRequired("amount")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		a, err := parsePositiveAmount(amount)
		if err != nil {
			return err
		}
		p, err := parsePayee(cmd, f, payee)
		if err != nil {
			return err
		}
		return f.send(cmd, &stakingv1.MsgBond{Value: a.String(), Payee: p})
	}
	return cmd
}

func newAmountTxCmd(use, short, long, example string, build func(types.Amount) proto.Message) *cobra.Command {
	cmd := &cobra.Command{Use: use + " --amount N", Short: short, Long: long, Example: example, Args: cobra.NoArgs}
	f := addTxFlags(cmd)
	var amount string
	cmd.Flags().StringVar(&amount, "amount", "", "amount in the smallest unit (required)")
	_ = cmd.MarkFlagRequired("amount")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		a, err := parsePositiveAmount(amount)
		if err != nil {
			return err
		}
		return f.send(cmd, build(a))
	}
	return cmd
}

func newTxBondExtraCmd() *cobra.Command {
	return newAmountTxCmd("bond-extra", "Add free balance to an existing bond",
		`Add --amount of free balance to the signer's bond; it votes from the next election.`,
		`  veil tx staking bond-extra --amount 1000000000000000 --from //Eve --wait`,
		func(a types.Amount) proto.Message { return &stakingv1.MsgBondExtra{Value: a.String()} })
}

func newTxUnbondCmd() *cobra.Command {
	return newAmountTxCmd("unbond", "Schedule part of the bond for withdrawal after the bonding duration",
		`Move --amount from the active bond to an unlocking chunk that can be withdrawn
after the bonding duration (in eras; 'veil query ledger' shows the era). The
chunk stays slashable until then. What stays active must be zero (which also
chills the stash) or at least the minimum bond of its role.`,
		`  veil tx staking unbond --amount 1000000000000000 --from //Eve --wait`,
		func(a types.Amount) proto.Message { return &stakingv1.MsgUnbond{Value: a.String()} })
}

func newTxWithdrawCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "withdraw",
		Short: "Release every unlocking chunk whose era has come",
		Long: `Move every unlocking chunk that has reached its era back to the free balance.
A ledger left empty is removed.`,
		Example: `  veil tx staking withdraw --from //Eve --wait`,
		Args:    cobra.NoArgs,
	}
	f := addTxFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return f.send(cmd, &stakingv1.MsgWithdrawUnbonded{}) }
	return cmd
}

func newTxValidateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate --commission PERCENT (--consensus-key KEY | --home DIR)",
		Short: "Declare the intention to validate with a commission and a consensus key",
		Long: `Declare the intention to validate from the next election on. --commission is
the percentage of the validator's era reward it keeps before the rest is shared
pro rata with its nominators (e.g. 5 or 5.5). The consensus key is the
CometBFT ed25519 public key the node signs blocks with: give it with
--consensus-key (64 hex digits or base64, as in genesis.json) or read it from
the node home with --home. A key is bound to one stash for good. The active
bond must be at least the chain's minimum validator bond.`,
		Example: `  veil tx staking validate --commission 5 --home ~/.veil/node --from //Ferdie --wait
  veil tx staking validate --commission 2.5 --consensus-key 0x6d0b…(64 hex digits) --from mykey`,
		Args: cobra.NoArgs,
	}
	f := addTxFlags(cmd)
	var commission, key, home string
	cmd.Flags().StringVar(&commission, "commission", "", "commission in percent, e.g. 5 or 5.5 (required)")
	cmd.Flags().StringVar(&key, "consensus-key", "", "CometBFT ed25519 public key, hex or base64")
	cmd.Flags().StringVar(&home, "home", "", "read the consensus key from this node home")
	_ = cmd.MarkFlagRequired("commission")
	cmd.MarkFlagsMutuallyExclusive("consensus-key", "home")
	cmd.MarkFlagsOneRequired("consensus-key", "home")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		c, err := parseCommission(commission)
		if err != nil {
			return err
		}
		var pub []byte
		if home != "" {
			if _, err := os.Stat(home); err != nil {
				return fmt.Errorf("--home: %w", err)
			}
			pk, err := node.ValidatorPubKey(home)
			if err != nil {
				return fmt.Errorf("read the consensus key from %s: %w", home, err)
			}
			pub = pk.Bytes()
		} else if pub, err = staking.ParseConsensusKey(key); err != nil {
			return fmt.Errorf("--consensus-key: %w", err)
		}
		return f.send(cmd, &stakingv1.MsgValidate{Commission: c, ConsensusPubkey: pub})
	}
	return cmd
}

func newTxNominateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nominate VALIDATOR...",
		Short: "Nominate up to 16 validators (replaces earlier nominations)",
		Long: `Back up to 16 validator stashes (addresses of accounts that declared the
intention to validate) with the signer's active bond from the next election
on. The election splits the bond among the elected ones; nominators share
their validators' rewards and slashes pro rata.`,
		Example: `  veil tx staking nominate 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --from //Eve --wait`,
		Args:    cobra.RangeArgs(1, staking.MaxNominationsLimit),
	}
	f := addTxFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		m := &stakingv1.MsgNominate{}
		for _, a := range args {
			id, err := parseAccountFlag(cmd, f.clientFlags, a)
			if err != nil {
				return fmt.Errorf("validator %q: %w", a, err)
			}
			m.Targets = append(m.Targets, id[:])
		}
		return f.send(cmd, m)
	}
	return cmd
}

func newTxChillCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "chill",
		Short: "Stop validating or nominating from the next election on",
		Long: `Withdraw the intention to validate or nominate. The bond stays; an elected
validator keeps validating until the era ends.`,
		Example: `  veil tx staking chill --from //Eve --wait`,
		Args:    cobra.NoArgs,
	}
	f := addTxFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return f.send(cmd, &stakingv1.MsgChill{}) }
	return cmd
}

func newTxSetPayeeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set-payee staked|stash|ADDRESS",
		Short: "Choose where era rewards go",
		Example: `  veil tx staking set-payee stash --from //Eve --wait
  veil tx staking set-payee 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --from //Eve`,
		Args: cobra.ExactArgs(1),
	}
	f := addTxFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		p, err := parsePayee(cmd, f, args[0])
		if err != nil {
			return err
		}
		return f.send(cmd, &stakingv1.MsgSetPayee{Payee: p})
	}
	return cmd
}

func newTxStakingParamsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set-params FILE|-",
		Short: "Replace the staking parameters (sudo only)",
		Long: `Replace the staking parameters with the JSON in FILE ("-" reads stdin): the
complete set, as 'veil query staking-params' prints it. Unknown fields are
refused. Signed by the chain's sudo account.`,
		Example: `  veil query staking-params > p.json && $EDITOR p.json
  veil tx staking set-params p.json --from //Alice --wait`,
		Args: cobra.ExactArgs(1),
	}
	f := addTxFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var raw []byte
		var err error
		if args[0] == "-" {
			raw, err = io.ReadAll(cmd.InOrStdin())
		} else {
			raw, err = os.ReadFile(args[0])
		}
		if err != nil {
			return err
		}
		if _, err := staking.ParseParams(raw); err != nil {
			return err
		}
		return f.send(cmd, &stakingv1.MsgSetStakingParams{ParamsJson: string(raw)})
	}
	return cmd
}
