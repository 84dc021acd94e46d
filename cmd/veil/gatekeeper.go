package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/chain/registry"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

func init() { queryCommands = append(queryCommands, newQueryGatekeepersCmd) }

// newTxGatekeeperCmd is 'veil tx registry gatekeeper add|remove'.
func newTxGatekeeperCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gatekeeper",
		Short: "Designate or withdraw gatekeepers (sudo)",
		Long: `Gatekeepers are registered workers that hold the master-key history and serve
contract keys: when a contract is instantiated or reassigned they publish its
public keys and deliver its secrets, sealed, to the assigned workers. The
first gatekeeper designated generates the master secret inside its TEE;
later ones receive the history from an existing gatekeeper. Sudo only
(//Alice on dev chains). 'veil query gatekeepers' shows the state.`,
	}
	add := &cobra.Command{
		Use:   "add IDENTITY --from SUDO",
		Short: "Designate a registered worker as gatekeeper",
		Long: `Designate the registered worker with IDENTITY (its 32-byte ed25519 identity key
in hex, with or without 0x, as 'veil query workers' prints it) as gatekeeper.
The first gatekeeper ever designated is asked to generate the master key;
wait for it with 'veil query gatekeepers' (current_epoch, master_keys).`,
		Example: `  veil tx registry gatekeeper add 0x5b68…(64 hex) --from //Alice --wait`,
		Args:    cobra.ExactArgs(1),
	}
	af := addTxFlags(add)
	add.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := registry.ParseIdentity(args[0])
		if err != nil {
			return err
		}
		return af.send(cmd, &registryv1.MsgRegisterGatekeeper{Identity: id})
	}
	remove := &cobra.Command{
		Use:   "remove IDENTITY --from SUDO",
		Short: "Withdraw a gatekeeper designation",
		Long: `Withdraw the gatekeeper designation of IDENTITY. Once a master key exists at
least one gatekeeper must remain, so designate the replacement first.`,
		Example: `  veil tx registry gatekeeper remove 0x5b68…(64 hex) --from //Alice --wait`,
		Args:    cobra.ExactArgs(1),
	}
	rf := addTxFlags(remove)
	remove.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := registry.ParseIdentity(args[0])
		if err != nil {
			return err
		}
		return rf.send(cmd, &registryv1.MsgRemoveGatekeeper{Identity: id})
	}
	cmd.AddCommand(add, remove)
	return cmd
}

// newTxRotateMasterKeyCmd is 'veil tx registry rotate-master-key'.
func newTxRotateMasterKeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rotate-master-key --from SUDO",
		Short: "Start a new master-key epoch (sudo)",
		Long: `Start a new master-key epoch: a gatekeeper generates a fresh master secret in
its TEE, publishes its public keys and hands it to the other gatekeepers.
Contracts instantiated from then on derive their keys from the new epoch;
existing contracts keep theirs (every gatekeeper keeps the whole history).`,
		Example: `  veil tx registry rotate-master-key --from //Alice --wait`,
		Args:    cobra.NoArgs,
	}
	f := addTxFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		return f.send(cmd, &registryv1.MsgRotateMasterKey{})
	}
	return cmd
}

// gatekeepersView is the registry's "gatekeepers" query, kept raw where
// the SDK has no need to interpret it.
type gatekeepersView struct {
	Gatekeepers  []json.RawMessage `json:"gatekeepers"`
	MasterKeys   []json.RawMessage `json:"master_keys"`
	CurrentEpoch uint64            `json:"current_epoch"`
}

func newQueryGatekeepersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gatekeepers",
		Short: "Show the gatekeepers and the master-key epochs",
		Long: `Show the gatekeepers (workers designated by governance to hold the master key
and serve contract keys), every master-key epoch (its generator, when it was
requested and published, its public keys) and the current epoch. A dev
network designates worker0 at start-up and waits for epoch 0's publication.`,
		Example: `  veil query gatekeepers
  veil query gatekeepers -o json`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var raw json.RawMessage
		_, _, cancel, height, err := moduleQuery(cmd, cf, registry.Name, "gatekeepers", nil, &raw)
		if err != nil {
			return err
		}
		defer cancel()
		var v gatekeepersView
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decode gatekeepers: %w", err)
		}
		return printResult(cmd.OutOrStdout(), *out, raw, func(w io.Writer) error {
			if len(v.Gatekeepers) == 0 {
				fmt.Fprintf(w, "no gatekeepers (height %d): designate one with 'veil tx registry gatekeeper add IDENTITY --from //Alice'\n", height)
			}
			for _, g := range v.Gatekeepers {
				fmt.Fprintf(w, "gatekeeper  %s\n", compactJSON(g))
			}
			for _, m := range v.MasterKeys {
				fmt.Fprintf(w, "master key  %s\n", compactJSON(m))
			}
			fmt.Fprintf(w, "current epoch %d (height %d)\n", v.CurrentEpoch, height)
			return nil
		})
	}
	return cmd
}

// compactJSON shortens long hex/base64 strings (public keys) for text
// output.
func compactJSON(b json.RawMessage) string {
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return string(b)
	}
	for k, v := range m {
		if s, ok := v.(string); ok && len(s) > 70 {
			m[k] = s[:20] + "…"
		}
	}
	out, _ := json.Marshal(m)
	return string(out)
}
