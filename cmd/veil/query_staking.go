package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/client"
)

func init() {
	queryCommands = append(queryCommands, newQueryValidatorsCmd, newQueryEraCmd, newQueryLedgerCmd,
		newQueryNominatorsCmd, newQueryStakingParamsCmd)
}

// moduleQuery dials the node and runs a module query into out. It
// returns the client and the command's context (for follow-up calls such
// as amountFormatter), whose cancel the caller defers, and the height.
func moduleQuery(cmd *cobra.Command, cf *clientFlags, module, path string, args, out any) (*client.Client, context.Context, context.CancelFunc, int64, error) {
	c, err := cf.dial()
	if err != nil {
		return nil, nil, nil, 0, err
	}
	ctx, cancel := cf.context(cmd)
	height, err := c.QueryModule(ctx, module, path, args, out)
	if err != nil {
		cancel()
		return nil, nil, nil, 0, err
	}
	return c, ctx, cancel, height, nil
}

// stakingQuery runs a staking module query into out.
func stakingQuery(cmd *cobra.Command, cf *clientFlags, path string, args, out any) (*client.Client, context.Context, context.CancelFunc, error) {
	c, ctx, cancel, _, err := moduleQuery(cmd, cf, staking.Name, path, args, out)
	return c, ctx, cancel, err
}

// amountFormatter renders base units with the chain's token for text output.
func amountFormatter(ctx context.Context, c *client.Client) func(fmt.Stringer) string {
	st, err := c.Status(ctx)
	if err != nil {
		return func(a fmt.Stringer) string { return a.String() }
	}
	return func(a fmt.Stringer) string {
		return formatAmount(a.String(), st.GetTokenDecimals(), st.GetTokenSymbol())
	}
}

func newQueryValidatorsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validators",
		Short: "Show the elected validator set: powers, commissions, exposures, era",
		Long: `Show the validator set the staking module elected and returned to CometBFT
(in force two blocks after the election): each validator's stash, consensus
key and address, voting power, commission, era points so far, and its
exposure in the current era (own stake, nominators' stakes, total). With
--candidates, list every stash that declared the intention to validate
instead (elected or not). Amounts are in the smallest unit in JSON.`,
		Example: `  veil query validators
  veil query validators -o json
  veil query validators --candidates`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	var cands bool
	cmd.Flags().BoolVar(&cands, "candidates", false, "list declared candidates instead of the elected set")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if cands {
			var v []staking.CandidateView
			c, ctx, cancel, err := stakingQuery(cmd, cf, staking.QueryCandidates, nil, &v)
			if err != nil {
				return err
			}
			defer cancel()
			return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
				f := amountFormatter(ctx, c)
				fmt.Fprintf(w, "%d candidate(s)\n", len(v))
				for _, x := range v {
					fmt.Fprintf(w, "  %s  bonded %s  commission %s\n", x.Stash, f(x.Active), x.Commission)
				}
				return nil
			})
		}
		var v staking.ValidatorsView
		c, ctx, cancel, err := stakingQuery(cmd, cf, staking.QueryValidators, nil, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			f := amountFormatter(ctx, c)
			fmt.Fprintf(w, "era %d: %d validator(s), total power %d (%d candidate(s), %d nominator(s))\n",
				v.Era, len(v.Validators), v.TotalPower, v.Candidates, v.Nominators)
			for _, x := range v.Validators {
				fmt.Fprintf(w, "\n  %s\n    power %d  commission %s  points %d  address %s\n", x.Stash, x.Power, x.CommissionText, x.Points, x.ConsensusAddress)
				if e := x.Exposure; e != nil {
					fmt.Fprintf(w, "    backed %s (own %s, %d nominator(s))\n", f(e.Total), f(e.Own), len(e.Others))
					for _, o := range e.Others {
						fmt.Fprintf(w, "      %s  %s\n", o.Who, f(o.Value))
					}
				}
			}
			return nil
		})
	}
	return cmd
}

func newQueryEraCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "era",
		Short: "Show the current staking era, when the next election runs, and era points",
		Long: `Show the current era: its number, first height and start time, the era length,
the height whose end runs the next election (the new set is in CometBFT's
consensus two blocks later), the era points earned so far per validator, the
number of payouts still queued and the previous era's payout.`,
		Example: `  veil query era
  veil query era -o json`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var v staking.EraView
		c, ctx, cancel, err := stakingQuery(cmd, cf, staking.QueryEra, nil, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			f := amountFormatter(ctx, c)
			fmt.Fprintf(w, "era %d since height %d (%s); %d blocks per era, next election at height %d\n",
				v.Era, v.StartHeight, v.StartTime, v.EraLength, v.NextElectionHeight)
			fmt.Fprintf(w, "points so far: %d\n", v.TotalPoints)
			for _, p := range v.Points {
				fmt.Fprintf(w, "  %s  %d\n", p.Stash, p.Points)
			}
			if v.Previous != nil {
				fmt.Fprintf(w, "era %d paid %s to stakers (%s staked, %d points); %d payout(s) queued\n",
					v.Previous.Era, f(v.Previous.Payout), f(v.Previous.TotalStaked), v.Previous.TotalPoints, v.PendingPayouts)
			}
			return nil
		})
	}
	return cmd
}

func newQueryLedgerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ledger ADDRESS",
		Short: "Show a stash's bond: active, unlocking chunks, payee, role",
		Long: `Show a stash's staking ledger: the total bonded (reserved) amount, the active
part that votes and earns, the unlocking chunks with the era from which each
can be withdrawn, what can be withdrawn now, where rewards go, and its role
(validator with commission and consensus key, nominator with targets, or
idle).`,
		Example: `  veil query ledger 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY
  veil query ledger 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY -o json`,
		Args: cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		var v staking.LedgerView
		c, ctx, cancel, err := stakingQuery(cmd, cf, staking.QueryLedger, staking.StashQuery{Stash: args[0]}, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			f := amountFormatter(ctx, c)
			fmt.Fprintf(w, "stash         %s (%s)\n", v.Stash, v.Role)
			fmt.Fprintf(w, "bonded        %s\nactive        %s\nwithdrawable  %s\npayee         %s\n", f(v.Total), f(v.Active), f(v.Withdrawable), v.Payee)
			for _, ch := range v.Unlocking {
				fmt.Fprintf(w, "unlocking     %s from era %d\n", f(ch.Value), ch.Era)
			}
			if v.Commission != nil {
				fmt.Fprintf(w, "commission    %s\nconsensus key %s\n", v.Commission, v.ConsensusPubKey)
			}
			if len(v.Targets) > 0 {
				fmt.Fprintf(w, "nominates     %s\n", strings.Join(v.Targets, "\n              "))
			}
			return nil
		})
	}
	return cmd
}

func newQueryNominatorsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "nominators [--validator ADDRESS]",
		Short: "List nominators with their active bond and targets",
		Example: `  veil query nominators
  veil query nominators --validator 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY -o json`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	var val string
	cmd.Flags().StringVar(&val, "validator", "", "only nominators naming this validator stash")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var v []staking.NominatorView
		var args any
		if val != "" {
			args = staking.NominatorsQuery{Validator: val}
		}
		c, ctx, cancel, err := stakingQuery(cmd, cf, staking.QueryNominators, args, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			f := amountFormatter(ctx, c)
			fmt.Fprintf(w, "%d nominator(s)\n", len(v))
			for _, x := range v {
				fmt.Fprintf(w, "  %s  %s → %s\n", x.Stash, f(x.Active), strings.Join(x.Targets, ", "))
			}
			return nil
		})
	}
	return cmd
}

func newQueryStakingParamsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "staking-params",
		Short: "Show the staking parameters (always JSON)",
		Long: `Show the staking parameters as JSON: seats, minimum bonds, era length, bonding
duration, election algorithm, inflation curve, slashing. The same JSON, edited,
is what 'veil tx staking set-params' takes. docs/staking.md explains each.`,
		Example: `  veil query staking-params > params.json`,
		Args:    cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var v staking.Params
		_, _, cancel, err := stakingQuery(cmd, cf, staking.QueryParams, nil, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), outputJSON, v, nil)
	}
	return cmd
}
