package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/chain/registry"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

func init() { txCommands = append(txCommands, newTxRegistryCmd) }

func newTxRegistryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Worker registry governance (sudo): measurement allowlist, TCB policy, gatekeepers",
		Long: `Governance calls of the worker registry, signed by the chain's sudo account
(//Alice on dev chains). Workers register themselves through their relayer
('veil relay'); see docs/registry.md.`,
	}
	add := &cobra.Command{
		Use:   "add-measurement MEASUREMENT_ID [--label TEXT]",
		Short: "Allow workers running the code with this measurement to register",
		Long: `Put a code measurement on the allowlist. MEASUREMENT_ID is "<kind>:<64 hex>"
exactly as 'veil attest verify' prints measurement_id for the release's
evidence (sgx: MRENCLAVE/MRSIGNER/ISVPRODID/ISVSVN; tdx: MRTD/RTMR0-3/
TDATTRIBUTES; sev-snp: MEASUREMENT/POLICY). Adding an allowed id again
replaces its label.`,
		Example: `  veil tx registry add-measurement tdx:3f5a…(64 hex) --label "worker v0.2.0 (TDX)" --from //Alice --wait`,
		Args:    cobra.ExactArgs(1),
	}
	af := addTxFlags(add)
	var label string
	add.Flags().StringVar(&label, "label", "", "human label, at most 128 bytes")
	add.RunE = func(cmd *cobra.Command, args []string) error {
		if err := registry.ValidateMeasurementID(args[0]); err != nil {
			return err
		}
		return af.send(cmd, &registryv1.MsgAddMeasurement{MeasurementId: args[0], Label: label})
	}

	remove := &cobra.Command{
		Use:   "remove-measurement MEASUREMENT_ID",
		Short: "Take a measurement off the allowlist",
		Long: `Take a code measurement off the allowlist. Workers already registered with it
keep their record until it expires, but cannot re-attest: they turn stale
within attestation_validity_blocks.`,
		Example: `  veil tx registry remove-measurement tdx:3f5a…(64 hex) --from //Alice --wait`,
		Args:    cobra.ExactArgs(1),
	}
	rf := addTxFlags(remove)
	remove.RunE = func(cmd *cobra.Command, args []string) error {
		if err := registry.ValidateMeasurementID(args[0]); err != nil {
			return err
		}
		return rf.send(cmd, &registryv1.MsgRemoveMeasurement{MeasurementId: args[0]})
	}

	policy := &cobra.Command{
		Use:   "set-tcb-policy STATUS=CONFIDENCE...",
		Short: "Replace the accepted TCB statuses and their confidence levels",
		Long: `Replace the TCB policy: the TCB statuses (as Intel reports them) a worker may
register with, each with a confidence level from 1 (best) to 4. Statuses not
listed are refused; Revoked can never be accepted. The default policy is
UpToDate=1 SWHardeningNeeded=2 ConfigurationNeeded=3
ConfigurationAndSWHardeningNeeded=3 NotEvaluated=3 (see docs/registry.md).`,
		Example: `  veil tx registry set-tcb-policy UpToDate=1 SWHardeningNeeded=2 OutOfDate=4 --from //Alice --wait`,
		Args:    cobra.MinimumNArgs(1),
	}
	pf := addTxFlags(policy)
	policy.RunE = func(cmd *cobra.Command, args []string) error {
		msg := &registryv1.MsgSetTCBPolicy{}
		for _, a := range args {
			status, conf, ok := strings.Cut(a, "=")
			c, err := strconv.ParseUint(conf, 10, 32)
			if !ok || err != nil {
				return fmt.Errorf("%q: want STATUS=CONFIDENCE, e.g. UpToDate=1", a)
			}
			msg.Rules = append(msg.Rules, &registryv1.TCBRule{Status: status, Confidence: uint32(c)})
		}
		return pf.send(cmd, msg)
	}
	cmd.AddCommand(add, remove, policy, newTxGatekeeperCmd(), newTxRotateMasterKeyCmd())
	return cmd
}
