package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/relay"
	"github.com/veil-network/veil/worker"
)

func init() { registerCommand(newRelayCmd) }

func newRelayCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "relay --worker URL --node URL --operator KEY",
		Short: "Register a TEE worker on chain and keep its attestation fresh",
		Long: `Run a relayer for one worker: it reads the worker's identity and fresh
attestation evidence from the worker API, fetches the vendor collateral
(Intel TCB info, QE identity and CRLs from Intel PCS or your PCCS, cached on
disk; none for simulated and SEV-SNP evidence), and submits MsgRegisterWorker
from the operator account, which then owns the worker on chain. It re-attests
at --reattest-percent of the validity window (default 80%: after ~19 h of a
24 h window), retries failures with exponential backoff, and runs until
interrupted.

At a worker's first start the relayer binds it to the chain of --node (see
docs/registry.md, "Trust assumptions").

It also keeps the worker in sync (unless --no-sync): it gives the worker its
light-client trust root (from --genesis if given, else the node's validator
set of the initial height), feeds it light blocks from the height the worker
reports, then the proven messages of its topics, and submits the worker's
signed egress from the operator account. On a terminal it shows a progress
line while the worker catches up. See docs/lightclient.md.

With --compute-stake AMOUNT it also keeps the worker computing: it binds the
worker to the operator, waits until the worker's benchmark score is on
chain, and starts computing with AMOUNT from the operator's free balance
(raised to the chain's minimum min_stake_k × isqrt(P) when that is higher,
so 1 means "the minimum"). A worker stopped by hand is started again as
soon as it is ready again, i.e. after its cool-down and 'veil tx compute
reclaim': stop the relayer first to take a worker out for good. Without the
flag the operator uses 'veil tx compute bind|start' (docs/operations.md,
"Running a computing worker").

--operator takes a secret URI (//Alice, a phrase) or a keyring name ('veil
keys add'); the relayer never sees the worker's keys.`,
		Example: `  veil relay --worker http://127.0.0.1:26700 --node http://127.0.0.1:26602 --operator //Bob
  veil relay --worker http://127.0.0.1:26700 --network ~/.veil/dev/network.json --operator myoperator --keyring ~/.veil/keyring
  veil relay --worker http://10.0.0.5:26700 --node https://rpc.example.org --operator op --pcs-url https://pccs.internal:8081
  veil relay --worker http://127.0.0.1:26700 --node http://127.0.0.1:26602 --operator myoperator --compute-stake 100VEIL`,
		Args: cobra.NoArgs,
	}
	var workerURL, operator, scheme, pcsURL, rootCRL, cacheDir, metricsListen, genesisFile, computeStake string
	var pct int
	var poll, syncInterval time.Duration
	var noSync bool
	// The timeout bounds the status call that converts a token amount
	// (--compute-stake 100VEIL); the relayer's own calls have theirs.
	cf := &clientFlags{timeout: time.Minute}
	cmd.Flags().StringVar(&workerURL, "worker", "http://"+worker.DefaultListen, "worker API URL")
	cmd.Flags().StringVar(&cf.node, "node", "", "node API URL (overrides --network)")
	cmd.Flags().StringVar(&cf.network, "network", client.DefaultNetworkFile(), "network.json written by 'veil dev' (ignored when --node is set)")
	cmd.Flags().StringVar(&operator, "operator", "", "operator account: secret URI or keyring name (required)")
	cmd.Flags().StringVar(&scheme, "scheme", "sr25519", "operator key scheme: sr25519 or ed25519")
	addKeyringFlags(cmd, true)
	cmd.Flags().StringVar(&pcsURL, "pcs-url", relay.DefaultPCSURL, "Intel PCS or PCCS base URL for SGX/TDX collateral")
	cmd.Flags().StringVar(&rootCRL, "root-crl-url", relay.DefaultRootCACRLURL, "URL of the Intel SGX Root CA CRL (DER or hex)")
	cmd.Flags().StringVar(&cacheDir, "collateral-cache", veilDir("pcs-cache"), "directory caching collateral responses (empty: no cache)")
	cmd.Flags().IntVar(&pct, "reattest-percent", relay.DefaultReattestPercent, "re-attest at this percentage of the validity window (1-99)")
	cmd.Flags().DurationVar(&poll, "poll", relay.DefaultPollInterval, "how often to check the registration")
	cmd.Flags().DurationVar(&syncInterval, "sync-interval", relay.DefaultSyncInterval, "how often to look for new blocks and egress when caught up")
	cmd.Flags().BoolVar(&noSync, "no-sync", false, "only register the worker; do not feed it headers and messages or submit its egress")
	cmd.Flags().StringVar(&genesisFile, "genesis", "", "the chain's genesis.json: derive the worker's trust root from it instead of trusting --node's validator set")
	cmd.Flags().StringVar(&metricsListen, "metrics-listen", "", "serve Prometheus metrics on this loopback address, e.g. 127.0.0.1:26711 (off when empty)")
	cmd.Flags().StringVar(&computeStake, "compute-stake", "", "keep the worker computing with this stake (at least the chain's minimum): an integer in the smallest unit or tokens, e.g. 100VEIL (off when empty)")
	_ = cmd.MarkFlagRequired("operator")
	lf := addLogFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := lf.logger()
		if err != nil {
			return err
		}
		if pct < 1 || pct > 99 {
			return errors.New("--reattest-percent must be between 1 and 99")
		}
		var stake *types.Amount
		if computeStake != "" {
			a, err := positiveAmountArg(cmd, cf, "--compute-stake", computeStake)
			if err != nil {
				return err
			}
			stake = &a
		}
		sch, err := keys.ParseScheme(scheme)
		if err != nil {
			return err
		}
		signer, err := resolveSigner(cmd, operator, sch)
		if err != nil {
			return err
		}
		defer keys.Wipe(signer)
		c, err := cf.dial()
		if err != nil {
			return err
		}
		var genesis []byte
		if genesisFile != "" {
			if genesis, err = os.ReadFile(genesisFile); err != nil {
				return fmt.Errorf("--genesis: %w", err)
			}
		}
		var progress io.Writer
		if term.IsTerminal(int(os.Stderr.Fd())) {
			progress = cmd.ErrOrStderr()
		}
		r, err := relay.New(relay.Config{
			WorkerURL: workerURL, Node: c, Operator: signer, ReattestPercent: pct, PollInterval: poll, Logger: log,
			Collateral:  &relay.PCS{BaseURL: pcsURL, RootCACRLURL: rootCRL, CacheDir: cacheDir, Logger: log},
			DisableSync: noSync, GenesisJSON: genesis, SyncInterval: syncInterval, Progress: progress, MetricsListen: metricsListen,
			ComputeStake: stake,
		})
		if err != nil {
			return err
		}
		return r.Run(cmd.Context())
	}
	return cmd
}
