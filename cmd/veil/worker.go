package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/worker"
)

func init() { registerCommand(newWorkerCmd) }

func defaultWorkerHome() string { return filepath.Join(filepath.Dir(defaultDevHome()), "worker") }

func newWorkerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worker --home DIR --tee simulated|tdx|sev-snp [--listen ADDR]",
		Short: "Run a TEE worker (generates and seals its keys, serves its API)",
		Long: `Run a TEE worker. Inside its platform the worker generates an ed25519 identity
key and an HPKE key pair (X-Wing, HKDF-SHA256, AES-256-GCM), seals them with
the platform's sealing key to HOME/worker-keys.sealed (0600), and serves its
API (WorkerService over Connect) on a loopback address for its relayer
('veil relay'), which registers it on chain with fresh attestation evidence.

The worker binds its registration to one chain (chain id + genesis hash).
Pass --chain-id and --genesis-hash (from 'veil status -o json') to fix it
yourself; otherwise the relayer binds it at first start to the chain of the
node it talks to. A bound worker refuses any other chain.

Platforms:
  simulated  development only: NO protection at all. The platform's secret
             seed is HOME/simulated-tee.key (0600); evidence is accepted only
             by chains whose genesis sets allow_simulated_tee.
  tdx        an Intel TDX guest with configfs-tsm (Linux 6.7+). TDX has no
             sealing key: the keys live in memory and every start registers
             a new identity.
  sev-snp    an AMD SEV-SNP guest (sev-guest driver); keys sealed with the
             VCEK-rooted derived key.

See docs/registry.md for running a worker on real hardware.`,
		Example: `  veil worker --home ~/.veil/worker --tee simulated
  veil worker --home /var/lib/veil-worker --tee tdx --listen 127.0.0.1:26700
  veil worker --tee sev-snp --chain-id veil-main-1 --genesis-hash 9F3C…(64 hex)`,
		Args: cobra.NoArgs,
	}
	var home, tee, listen, chainID, genesisHex, simMeasurement string
	var allowRemote bool
	cmd.Flags().StringVar(&home, "home", defaultWorkerHome(), "directory for the worker's sealed keys")
	cmd.Flags().StringVar(&tee, "tee", "simulated", "platform: simulated, tdx or sev-snp")
	cmd.Flags().StringVar(&listen, "listen", worker.DefaultListen, "address of the worker API")
	cmd.Flags().BoolVar(&allowRemote, "allow-remote", false, "allow a non-loopback --listen address (the API hands out operator consents: firewall it)")
	cmd.Flags().StringVar(&chainID, "chain-id", "", "bind to this chain id (with --genesis-hash)")
	cmd.Flags().StringVar(&genesisHex, "genesis-hash", "", "bind to this genesis hash (64 hex digits, as 'veil status' prints it)")
	cmd.Flags().StringVar(&simMeasurement, "simulated-measurement", "", "measurement the simulated platform claims, hex (default: the dev worker's, which dev genesis allows)")
	lf := addLogFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := lf.logger()
		if err != nil {
			return err
		}
		kind, err := attest.ParseKind(tee)
		if err != nil {
			return fmt.Errorf("--tee: %w", err)
		}
		if (chainID == "") != (genesisHex == "") {
			return errors.New("--chain-id and --genesis-hash go together")
		}
		var gh, sim []byte
		if genesisHex != "" {
			if gh, err = hex.DecodeString(strings.TrimPrefix(genesisHex, "0x")); err != nil || len(gh) != 32 {
				return fmt.Errorf("--genesis-hash must be 64 hex digits")
			}
		}
		if simMeasurement != "" {
			if kind != attest.KindSimulated {
				return errors.New("--simulated-measurement applies to --tee simulated only")
			}
			if sim, err = hex.DecodeString(simMeasurement); err != nil || len(sim) == 0 || len(sim) > 64 {
				return fmt.Errorf("--simulated-measurement must be 1 to 64 bytes of hex")
			}
		}
		abs, err := filepath.Abs(home)
		if err != nil {
			return err
		}
		if kind == attest.KindSimulated {
			banner := strings.Repeat("!", 78)
			fmt.Fprintf(cmd.ErrOrStderr(), "%s\n%s\n%s\n", banner, worker.SimulatedWarning, banner)
		}
		w, err := worker.New(cmd.Context(), worker.Config{
			Home: abs, TEE: kind, Listen: listen, AllowRemote: allowRemote, ChainID: chainID, GenesisHash: gh,
			SimulatedMeasurement: sim, Logger: log,
		})
		if err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return err
		}
		info := w.Info()
		fmt.Fprintf(cmd.OutOrStdout(), "worker %x (%s) serving %s\n", w.Identity(), w.Kind(), w.URL())
		if !info.GetBound() {
			fmt.Fprintln(cmd.OutOrStdout(), "not bound to a chain yet: its relayer binds it ('veil relay --worker "+w.URL()+" …')")
		}
		<-cmd.Context().Done()
		fmt.Fprintln(cmd.ErrOrStderr(), "stopping the worker…")
		return w.Close()
	}
	return cmd
}
