package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/chain/registry"
)

func init() {
	queryCommands = append(queryCommands, newQueryWorkersCmd, newQueryWorkerCmd, newQueryMeasurementsCmd)
}

// workerListEntry is one row of 'veil query workers': the record without
// its 1216-byte HPKE key ('veil query worker ID' shows everything). The
// two nil fields shadow the record's HPKE fields and omit them from JSON.
type workerListEntry struct {
	registry.WorkerView
	HPKEPublicKey *struct{} `json:"hpke_public_key,omitempty"`
	HPKESuite     *struct{} `json:"hpke_suite,omitempty"`
}

func newQueryWorkersCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "workers",
		Short: "List the TEE workers in the registry",
		Long: `List every worker in the registry, sorted by identity: its operator, TEE kind,
attested code measurement, TCB status and confidence (1 best … 4; 5 for
simulated workers), the heights of its first registration, latest attestation
and expiry, whether its attestation has expired (stale) at the latest
height, and the height its light client last reported as verified (its
egress "registry/synced"; '-' before the first report). Relayers re-attest
their workers before expiry. A worker's own, live view: 'veil worker status'.`,
		Example: `  veil query workers
  veil query workers -o json`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var views []registry.WorkerView
		_, _, cancel, height, err := moduleQuery(cmd, cf, registry.Name, "workers", nil, &views)
		if err != nil {
			return err
		}
		defer cancel()
		list := make([]workerListEntry, len(views))
		for i, v := range views {
			list[i] = workerListEntry{WorkerView: v}
		}
		return printResult(cmd.OutOrStdout(), *out, list, func(w io.Writer) error {
			if len(list) == 0 {
				fmt.Fprintf(w, "no workers registered (height %d)\n", height)
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "IDENTITY\tOPERATOR\tTEE\tTCB\tCONF\tEXPIRES\tSTATE\tSYNCED")
			for _, e := range list {
				state := "valid"
				if e.Stale {
					state = "stale"
				}
				synced := "-"
				if e.SyncedHeight > 0 {
					synced = strconv.FormatInt(e.SyncedHeight, 10)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", shortID(e.Identity), e.Operator, e.TEEKind, e.TCBStatus, e.Confidence, e.ExpiresAt, state, synced)
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

func newQueryWorkerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker IDENTITY",
		Short: "Show one worker's registry record",
		Long: `Show one worker's registry record. IDENTITY is the worker's 32-byte ed25519
identity key in hex (with or without 0x), as 'veil query workers' and the
worker's own Info endpoint print it.`,
		Example: `  veil query worker 0x5b68…(64 hex digits)
  veil query worker 5b68…(64 hex digits) -o json`,
		Args: cobra.ExactArgs(1),
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if _, err := registry.ParseIdentity(args[0]); err != nil {
			return err
		}
		var v registry.WorkerView
		_, _, cancel, _, err := moduleQuery(cmd, cf, registry.Name, "worker", registry.WorkerQuery{Identity: args[0]}, &v)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			state := "valid"
			if v.Stale {
				state = "stale (attestation expired; its relayer must re-attest)"
			}
			fmt.Fprintf(w, "identity       %s\n", v.Identity)
			fmt.Fprintf(w, "operator       %s\n", v.Operator)
			fmt.Fprintf(w, "tee            %s (simulated: %v)\n", v.TEEKind, v.Simulated)
			fmt.Fprintf(w, "measurement    %s\n", v.Measurement)
			fmt.Fprintf(w, "tcb            %s, confidence %d, advisories %v\n", v.TCBStatus, v.Confidence, v.AdvisoryIDs)
			fmt.Fprintf(w, "registered at  %d, attested at %d, expires at %d\n", v.RegisteredAt, v.AttestedAt, v.ExpiresAt)
			fmt.Fprintf(w, "state          %s\n", state)
			if v.SyncedHeight > 0 {
				fmt.Fprintf(w, "synced         %d (reported at %d)\n", v.SyncedHeight, v.SyncReportedAt)
			} else {
				fmt.Fprintln(w, "synced         no report yet")
			}
			fmt.Fprintf(w, "version        %s\n", v.Version)
			fmt.Fprintf(w, "hpke suite     kem %#04x kdf %#04x aead %#04x, key %s\n", v.HPKESuite.KEM, v.HPKESuite.KDF, v.HPKESuite.AEAD, shortID(v.HPKEPublicKey))
			return nil
		})
	}
	return cmd
}

func newQueryMeasurementsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "measurements",
		Short: "List the code measurements the registry allows",
		Long: `List the allowlist of code measurements ("<kind>:<sha256 hex>", as
'veil attest verify' prints measurement_id) that workers may register with.
Governance changes it with 'veil tx registry add-measurement/remove-measurement'.`,
		Example: `  veil query measurements -o json`,
		Args:    cobra.NoArgs,
	}
	cf := addClientFlags(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var list []registry.MeasurementView
		_, _, cancel, _, err := moduleQuery(cmd, cf, registry.Name, "measurements", nil, &list)
		if err != nil {
			return err
		}
		defer cancel()
		return printResult(cmd.OutOrStdout(), *out, list, func(w io.Writer) error {
			for _, m := range list {
				fmt.Fprintf(w, "%s  %q (added at %d)\n", m.ID, m.Label, m.AddedAt)
			}
			if len(list) == 0 {
				fmt.Fprintln(w, "the allowlist is empty: no worker can register")
			}
			return nil
		})
	}
	return cmd
}
