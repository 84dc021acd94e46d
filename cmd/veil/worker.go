package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"

	"github.com/veil-network/veil/attest"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/internal/httpcors"
	"github.com/veil-network/veil/worker"
)

func init() { registerCommand(newWorkerCmd) }

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

The relayer then keeps the worker in sync: the worker verifies every light
block with its light client (from a trust root of that chain), processes its
topics' messages only with ICS23 proofs against verified app hashes, and
signs its egress; the relayer submits it. Its sync state is sealed to
HOME/worker-sync.sealed, so a restart resumes where it stopped. See
docs/lightclient.md; 'veil worker status' shows where it is.

At start the worker runs a one-core CPU benchmark (--benchmark-duration,
in the background) and reports its score P on chain; it answers the
chain's heartbeat challenges as they arrive (docs/lightclient.md,
"Heartbeats and benchmark").

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
	var home, tee, listen, chainID, genesisHex, simMeasurement, metricsListen string
	var allowRemote bool
	var reportEvery int64
	var benchmarkDuration time.Duration
	cmd.Flags().StringVar(&home, "home", veilDir("worker"), "directory for the worker's sealed keys")
	cmd.Flags().StringVar(&tee, "tee", "simulated", "platform: simulated, tdx or sev-snp")
	cmd.Flags().StringVar(&listen, "listen", worker.DefaultListen, "address of the worker API")
	cmd.Flags().BoolVar(&allowRemote, "allow-remote", false, "allow a non-loopback --listen address (the API hands out operator consents: firewall it)")
	cmd.Flags().StringVar(&chainID, "chain-id", "", "bind to this chain id (with --genesis-hash)")
	cmd.Flags().StringVar(&genesisHex, "genesis-hash", "", "bind to this genesis hash (64 hex digits, as 'veil status' prints it)")
	cmd.Flags().StringVar(&simMeasurement, "simulated-measurement", "", "measurement the simulated platform claims, hex (default: the dev worker's, which dev genesis allows)")
	cmd.Flags().StringVar(&metricsListen, "metrics-listen", "", "serve Prometheus metrics on this loopback address, e.g. 127.0.0.1:26710 (off when empty)")
	cmd.Flags().Int64Var(&reportEvery, "report-every", worker.DefaultReportEvery, "report the verified height on chain every N blocks when caught up (egress; costs the operator a fee each; 0: only when pinged)")
	cmd.Flags().DurationVar(&benchmarkDuration, "benchmark-duration", worker.DefaultBenchmarkDuration,
		"run the CPU benchmark this long at start, in the background, and report its score on chain (egress; one fee; 0: off; at most 1m)")
	var corsOrigins string
	cmd.Flags().StringVar(&corsOrigins, "cors-origins", "*", `comma-separated web origins whose pages may send encrypted queries to the worker and read its info from a browser ("*" for any; "" for none); its control procedures (bind, sync, dispatch, attestation) always refuse browsers`)
	lf := addLogFlags(cmd)
	cmd.AddCommand(newWorkerStatusCmd())
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := lf.logger()
		if err != nil {
			return err
		}
		kind, err := attest.ParseKind(tee)
		if err != nil {
			return fmt.Errorf("--tee: %w", err)
		}
		if benchmarkDuration < 0 || benchmarkDuration > worker.MaxBenchmarkDuration {
			return fmt.Errorf("--benchmark-duration must be 0 (off) to %v", worker.MaxBenchmarkDuration)
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
		origins, err := httpcors.ParseList(corsOrigins)
		if err != nil {
			return fmt.Errorf("--cors-origins: %w", err)
		}
		if origins == nil {
			origins = []string{} // none (nil would mean the default, any)
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
			SimulatedMeasurement: sim, Logger: log, MetricsListen: metricsListen, ReportEvery: max(reportEvery, 0),
			BenchmarkDuration: benchmarkDuration, CORSOrigins: origins,
		})
		if err != nil {
			return err
		}
		if err := w.Start(); err != nil {
			return err
		}
		info := w.Info()
		fmt.Fprintf(cmd.OutOrStdout(), "worker %x (%s) serving %s\n", w.Identity(), w.Kind(), w.URL())
		if u := w.MetricsURL(); u != "" {
			fmt.Fprintf(cmd.OutOrStdout(), "metrics at %s\n", u)
		}
		if !info.GetBound() {
			fmt.Fprintln(cmd.OutOrStdout(), "not bound to a chain yet: its relayer binds it ('veil relay --worker "+w.URL()+" …')")
		}
		<-cmd.Context().Done()
		fmt.Fprintln(cmd.ErrOrStderr(), "stopping the worker…")
		return w.Close()
	}
	return cmd
}

// workerStatus is 'veil worker status -o json'.
type workerStatus struct {
	Identity          string              `json:"identity"`
	TEE               string              `json:"tee"`
	Simulated         bool                `json:"simulated"`
	ChainID           string              `json:"chain_id"`
	Bound             bool                `json:"bound"`
	Registered        bool                `json:"registered"`
	Registration      string              `json:"registration"`
	ExpiresAt         int64               `json:"expires_at"`
	TrustRoot         bool                `json:"trust_root_initialised"`
	SyncedHeight      int64               `json:"synced_height"`
	ChainHeight       int64               `json:"chain_height"`
	Lag               int64               `json:"lag"`
	VerifiedAppHash   string              `json:"verified_app_hash"`
	VerifiedTime      string              `json:"verified_time,omitempty"`
	HeadersVerified   uint64              `json:"headers_verified"`
	MessagesProcessed uint64              `json:"messages_processed"`
	Topics            []workerTopicStatus `json:"topics"`
	EgressNext        uint64              `json:"egress_next_sequence"`
	EgressPending     uint64              `json:"egress_pending"`
	Frozen            bool                `json:"frozen"`
	ConflictHeight    int64               `json:"conflict_height,omitempty"`
	LastRefusal       string              `json:"last_refusal,omitempty"`
}

type workerTopicStatus struct {
	Topic             string `json:"topic"`
	NextSequence      uint64 `json:"next_sequence"`
	ChainNextSequence uint64 `json:"chain_next_sequence"`
	ChainVersion      int64  `json:"chain_version"`
}

func newWorkerStatusCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status [--worker URL]",
		Short: "Show a running worker's identity, registration and sync state",
		Long: `Ask a running worker (its API) where it is: identity and TEE, the chain it is
bound to, its registration as its relayer last reported it, the height its
light client verified (synced_height) against the chain height its relayer
last reported (chain_height, unverified), its topics' positions, its pending
egress, and whether it saw conflicting headers (frozen).`,
		Example: `  veil worker status
  veil worker status --worker http://127.0.0.1:26700 -o json`,
		Args: cobra.NoArgs,
	}
	var url string
	var timeout time.Duration
	cmd.Flags().StringVar(&url, "worker", "http://"+worker.DefaultListen, "worker API URL")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "give up after this long")
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
		defer cancel()
		wc := workerv1connect.NewWorkerServiceClient(http.DefaultClient, strings.TrimRight(url, "/"))
		res, err := wc.Info(ctx, connect.NewRequest(&workerv1.InfoRequest{}))
		if err != nil {
			return fmt.Errorf("worker at %s: %w", url, err)
		}
		info := res.Msg
		s := info.GetSync()
		reg := info.GetRegistration()
		st := workerStatus{
			Identity: "0x" + hex.EncodeToString(info.GetWorkerInfo().GetIdentity()), TEE: info.GetWorkerInfo().GetTeeKind(),
			Simulated: info.GetSimulated(), ChainID: info.GetWorkerInfo().GetChainId(), Bound: info.GetBound(),
			Registered:   reg.GetState() == workerv1.RegistrationState_REGISTRATION_STATE_REGISTERED,
			Registration: strings.ToLower(strings.TrimPrefix(reg.GetState().String(), "REGISTRATION_STATE_")), ExpiresAt: reg.GetExpiresAt(),
			TrustRoot: s.GetTrustRootInitialised(), SyncedHeight: info.GetSyncedHeight(), ChainHeight: s.GetChainHeight(), Lag: s.GetLag(),
			VerifiedAppHash: fmt.Sprintf("%X", s.GetVerifiedAppHash()), HeadersVerified: s.GetHeadersVerified(),
			MessagesProcessed: s.GetMessagesProcessed(), EgressNext: s.GetEgressNextSequence(), EgressPending: s.GetEgressPending(),
			Frozen: s.GetConflict() != nil, ConflictHeight: s.GetConflict().GetHeight(), LastRefusal: s.GetLastRefusal(),
			Topics: []workerTopicStatus{},
		}
		if ms := s.GetVerifiedTimeUnixMs(); ms > 0 {
			st.VerifiedTime = time.UnixMilli(ms).UTC().Format(time.RFC3339)
		}
		for _, tp := range s.GetTopics() {
			st.Topics = append(st.Topics, workerTopicStatus{Topic: tp.GetTopic(), NextSequence: tp.GetNextSequence(),
				ChainNextSequence: tp.GetChainNextSequence(), ChainVersion: tp.GetChainVersion()})
		}
		return printResult(cmd.OutOrStdout(), *out, st, func(w io.Writer) error {
			fmt.Fprintf(w, "worker       %s (%s", st.Identity, st.TEE)
			if st.Simulated {
				fmt.Fprint(w, ", SIMULATED: no protection")
			}
			fmt.Fprintln(w, ")")
			if !st.Bound {
				fmt.Fprintln(w, "chain        not bound yet (its relayer binds it)")
				return nil
			}
			fmt.Fprintf(w, "chain        %s\n", st.ChainID)
			fmt.Fprintf(w, "registration %s (as last reported by the relayer; expires at %d)\n", st.Registration, st.ExpiresAt)
			if !st.TrustRoot {
				fmt.Fprintln(w, "sync         no trust root yet (its relayer sets it)")
				return nil
			}
			fmt.Fprintf(w, "synced       %d of %d (lag %d), app hash %s\n", st.SyncedHeight, st.ChainHeight, st.Lag, st.VerifiedAppHash)
			fmt.Fprintf(w, "processed    %d messages; %d headers verified\n", st.MessagesProcessed, st.HeadersVerified)
			for _, tp := range st.Topics {
				fmt.Fprintf(w, "  %-20s next %d (chain: %d at %d)\n", shortTopic(tp.Topic), tp.NextSequence, tp.ChainNextSequence, tp.ChainVersion)
			}
			fmt.Fprintf(w, "egress       next %d, %d pending\n", st.EgressNext, st.EgressPending)
			if st.Frozen {
				fmt.Fprintf(w, "FROZEN       conflicting headers at height %d: the light client refuses everything\n", st.ConflictHeight)
			}
			if st.LastRefusal != "" {
				fmt.Fprintf(w, "last refusal %s\n", st.LastRefusal)
			}
			return nil
		})
	}
	return cmd
}

func shortTopic(t string) string {
	if len(t) > 20 {
		return t[:17] + "…"
	}
	return t
}
