// Package worker is Veil's TEE worker (Phala's pRuntime): inside a trusted
// execution environment it generates its identity and HPKE keys, seals them
// to the platform, and serves its API (WorkerService over Connect) to the
// relayer, which registers it on chain with fresh attestation evidence.
//
// It follows the chain without trusting its host or relayer: a light
// client (worker/lightclient) verifies every header the relayer feeds from
// a trust root bound to the chain its attestation names; ingress messages
// of its topics are accepted only with ICS23 proofs against verified app
// hashes, strictly in sequence (worker/queue); its egress is signed with
// its identity. The sync state is sealed and checkpointed (sync.go,
// syncstore.go).
//
// Every worker follows the gatekeeper topic (worker/gatekeeper holds the
// master-key history on gatekeepers) and executes the contracts it is
// assigned to (worker/executor): contract keys arrive on its own topic,
// code through ProvideCode, commands on the contracts' topics; users
// query the contracts through ContractService on the same server.
//
// The chain it serves (chain id + genesis hash) comes from its operator
// (flags) or, at first start, from the relayer's node; see
// docs/registry.md, "Trust assumptions", and docs/lightclient.md.
package worker

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keyderiv"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/internal/httpcors"
	"github.com/veil-network/veil/worker/executor"
	"github.com/veil-network/veil/worker/gatekeeper"
	"github.com/veil-network/veil/worker/runtime"
)

// Version is the worker software version it declares at registration.
const Version = "0.1.0"

// DefaultListen is the worker API's default address: loopback only, for
// the relayer on the same host.
const DefaultListen = "127.0.0.1:26700"

// SimulatedWarning is printed (and logged) whenever a worker runs on the
// simulated platform.
const SimulatedWarning = `SIMULATED TEE: this worker runs WITHOUT any trusted execution environment.
Its keys, its memory and everything users send it are readable by this host.
Use it only on development networks (genesis allow_simulated_tee = true).`

// Config configures a worker.
type Config struct {
	// Home holds the sealed keys (and the simulated platform's seed).
	Home string
	// TEE is the platform kind: simulated, tdx or sev-snp.
	TEE attest.Kind
	// Listen is the API address (default DefaultListen).
	Listen string
	// AllowRemote permits a non-loopback Listen address. The API hands out
	// operator consents, so only the operator's relayer should reach it.
	AllowRemote bool
	// ChainID and GenesisHash bind the worker to a chain explicitly. When
	// empty the worker waits for its relayer to Bind it (trusting the
	// relayer's node at first start). A worker already bound refuses
	// another chain.
	ChainID     string
	GenesisHash []byte
	// SimulatedMeasurement is what a simulated platform claims (default
	// registry.DevWorkerMeasurement(), which dev genesis allows).
	SimulatedMeasurement []byte
	// CORSOrigins are the web origins whose pages may call the user-facing
	// procedures (ContractService, WorkerService/Info) from a browser: "*"
	// for any, which nil means (DefaultCORSOrigins); an empty non-nil
	// slice admits none. The relayer's control procedures are never
	// available to web pages, whatever this says (see cors.go).
	CORSOrigins []string
	// MetricsListen, when set, serves Prometheus metrics on this loopback
	// address (separate from the API).
	MetricsListen string
	// ReportEvery makes the worker queue a sync report (egress
	// "registry/synced") whenever its verified height has advanced this
	// many blocks since the last one and it is caught up; 0 disables
	// periodic reports (pings are still answered). Each report costs the
	// operator one transaction fee.
	ReportEvery int64
	// BenchmarkDuration is how long the CPU benchmark runs at Start (in
	// the background; see RunBenchmark), whose score P the worker reports
	// on egress "compute/benchmark" (one transaction fee). 0 disables it;
	// 'veil worker' defaults to DefaultBenchmarkDuration. At most
	// MaxBenchmarkDuration.
	BenchmarkDuration time.Duration
	// Platform overrides the platform (tests).
	Platform attest.Platform
	Logger   *slog.Logger
}

// DefaultReportEvery is 'veil worker's default: one report per ~10 minutes
// of 1 s blocks.
const DefaultReportEvery = 600

// binding is the chain a worker serves.
type binding struct {
	bound       bool
	chainID     string
	genesisHash [32]byte
}

// Worker is a running worker.
type Worker struct {
	cfg      Config
	log      *slog.Logger
	platform attest.Platform
	keys     *Keys
	store    *keyStore

	mu           sync.Mutex
	binding      binding
	registration *workerv1.Registration
	// attestMu serializes evidence requests: hardware quote generation is
	// one request at a time anyway, and it bounds the load a caller can
	// put on the quoting service.
	attestMu sync.Mutex

	sync    *syncer
	metrics *metrics
	gk      *gatekeeper.Gatekeeper
	exec    *executor.Executor

	cors       *httpcors.Policy
	ln         net.Listener
	srv        *http.Server
	metricsLn  net.Listener
	metricsSrv *http.Server

	// The start-up benchmark: cancelled and awaited by Close; its result
	// (under mu) once it completed.
	benchCancel context.CancelFunc
	benchDone   chan struct{}
	bench       *BenchmarkResult
}

// New opens the platform, loads the sealed keys (or generates and seals
// new ones) and applies the configured binding. Call Start to serve.
func New(ctx context.Context, cfg Config) (*Worker, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.Home == "" {
		return nil, errors.New("worker: a home directory is required")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.BenchmarkDuration < 0 || cfg.BenchmarkDuration > MaxBenchmarkDuration {
		return nil, fmt.Errorf("worker: benchmark duration %v: want 0 (off) to %v", cfg.BenchmarkDuration, MaxBenchmarkDuration)
	}
	cors, err := corsPolicy(cfg.CORSOrigins)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.Home, 0o700); err != nil {
		return nil, fmt.Errorf("worker home: %w", err)
	}
	p, err := openPlatform(cfg)
	if err != nil {
		return nil, err
	}
	w := &Worker{cfg: cfg, log: log, platform: p, cors: cors,
		registration: &workerv1.Registration{State: workerv1.RegistrationState_REGISTRATION_STATE_UNREGISTERED}}
	if p.Kind() == attest.KindSimulated {
		log.Warn(SimulatedWarning)
	}
	if w.store, err = openKeyStore(ctx, p, cfg.Home); err != nil {
		return nil, err
	}
	keys, b, err := w.store.load()
	if err != nil {
		return nil, err
	}
	fresh := keys == nil
	if fresh {
		if keys, err = generateKeys(); err != nil {
			return nil, err
		}
	}
	w.keys, w.binding = keys, b
	if cfg.ChainID != "" || len(cfg.GenesisHash) > 0 {
		if err := w.bind(cfg.ChainID, cfg.GenesisHash); err != nil {
			return nil, err
		}
	} else if fresh {
		if err := w.store.save(keys, w.binding); err != nil {
			return nil, err
		}
	}
	if w.store.ephemeral() {
		log.Warn("the platform has no sealing key: the worker's keys live only in memory and a restart registers a new identity", "tee", p.Kind())
	}
	if err := w.openSync(ctx); err != nil {
		return nil, err
	}
	log.Info("worker keys ready", "identity", hex.EncodeToString(keys.Public()), "hpke_key_sha256", fingerprint(keys.HPKEPublic),
		"new", fresh, "tee", p.Kind(), "bound", w.binding.bound, "chain_id", w.binding.chainID)
	return w, nil
}

// openSync sets up the chain-following state, restoring its checkpoint.
func (w *Worker) openSync(ctx context.Context) error {
	w.metrics = newMetrics()
	st, err := openSyncStore(ctx, w.platform, w.cfg.Home)
	if err != nil {
		return err
	}
	id := [32]byte(w.keys.Public())
	if err := w.openContracts(ctx, id); err != nil {
		return err
	}
	w.sync = &syncer{
		log: w.log.With("component", "sync"), m: w.metrics, identity: id, key: w.keys.Identity,
		workerTopic: mq.WorkerTopic(id), reportEvery: w.cfg.ReportEvery, store: st, gk: w.gk, exec: w.exec,
		bindingOf: func() binding {
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.binding
		},
	}
	return w.sync.restore()
}

// openContracts opens the gatekeeper state and the contract executor.
// Without a platform sealing key (TDX) both keep everything in memory,
// like the worker's identity on such platforms.
func (w *Worker) openContracts(ctx context.Context, id [32]byte) error {
	gk, err := gatekeeper.Open(ctx, gatekeeper.Config{Platform: w.platform, Home: w.cfg.Home, Identity: id, HPKE: w.keys.HPKE, Log: w.log})
	if err != nil {
		return fmt.Errorf("gatekeeper: %w", err)
	}
	sealing, err := w.platform.SealingKey(ctx, executor.LabelSealedKeys)
	if errors.Is(err, attest.ErrSealingUnavailable) {
		sealing = nil
	} else if err != nil {
		gk.Close()
		return fmt.Errorf("derive contract sealing key: %w", err)
	}
	defer clear(sealing)
	hk := w.keys.HPKE
	ex, err := executor.Open(ctx, executor.Config{
		Home: w.cfg.Home, SealingKey: sealing, HPKE: hk, Metrics: executorMetrics{w.metrics},
		Log: w.log.With("component", "executor"),
		OpenKey: func(d *contractsv1.ContractKeyDelivery) (*keyderiv.ContractKeys, *keyderiv.ContractSecrets, error) {
			return gatekeeper.OpenContractKey(hk, id, d)
		},
	})
	if err != nil {
		gk.Close()
		return err
	}
	w.gk, w.exec = gk, ex
	return nil
}

func fingerprint(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:8])
}

func openPlatform(cfg Config) (attest.Platform, error) {
	if cfg.Platform != nil {
		return cfg.Platform, nil
	}
	switch cfg.TEE {
	case attest.KindSimulated:
		seed, err := loadSimulatedSeed(cfg.Home)
		if err != nil {
			return nil, err
		}
		defer clear(seed)
		m := cfg.SimulatedMeasurement
		if len(m) == 0 {
			m = registry.DevWorkerMeasurement()
		}
		return attest.NewSimulatedPlatform(seed, m)
	case attest.KindTDX:
		return attest.NewTDXPlatform()
	case attest.KindSEVSNP:
		return attest.NewSEVSNPPlatform()
	case attest.KindSGX:
		return nil, errors.New("the Go worker cannot run inside SGX; use tdx or sev-snp (see docs/registry.md)")
	}
	return nil, fmt.Errorf("unknown TEE %q (want simulated, tdx or sev-snp)", cfg.TEE)
}

// checkBinding validates a chain id and genesis hash from a caller.
func checkBinding(chainID string, genesisHash []byte) error {
	if chainID == "" || len(chainID) > 50 {
		return fmt.Errorf("chain id must have 1..50 bytes, got %d", len(chainID))
	}
	if len(genesisHash) != 32 {
		return fmt.Errorf("genesis hash must be 32 bytes, got %d", len(genesisHash))
	}
	return nil
}

// errAlreadyBound: a bound worker never switches chains; its identity's
// consents and evidence are for the first.
var errAlreadyBound = errors.New("the worker is bound to another chain")

// bind binds the worker to a chain once and seals the binding with its keys.
func (w *Worker) bind(chainID string, genesisHash []byte) error {
	if err := checkBinding(chainID, genesisHash); err != nil {
		return fmt.Errorf("%w: %w", errInvalid, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.binding.bound {
		if w.binding.chainID == chainID && bytes.Equal(w.binding.genesisHash[:], genesisHash) {
			return nil
		}
		return fmt.Errorf("%w (%s, genesis %x); asked for %s, genesis %x", errAlreadyBound,
			w.binding.chainID, w.binding.genesisHash[:8], chainID, genesisHash[:min(8, len(genesisHash))])
	}
	nb := binding{bound: true, chainID: chainID, genesisHash: [32]byte(genesisHash)}
	if err := w.store.save(w.keys, nb); err != nil {
		return err
	}
	w.binding = nb
	w.log.Info("worker bound to chain", "chain_id", chainID, "genesis_hash", hex.EncodeToString(genesisHash))
	return nil
}

// Identity is the worker's ed25519 identity public key.
func (w *Worker) Identity() ed25519.PublicKey { return w.keys.Public() }

// Kind is the platform's TEE kind.
func (w *Worker) Kind() attest.Kind { return w.platform.Kind() }

// workerInfo is what the registration declares; chain fields are empty
// while unbound.
func (w *Worker) workerInfo() *registryv1.WorkerInfo {
	w.mu.Lock()
	b := w.binding
	w.mu.Unlock()
	wi := &registryv1.WorkerInfo{
		Identity: w.keys.Public(), HpkePublicKey: bytes.Clone(w.keys.HPKEPublic),
		HpkeSuite: &registryv1.HPKESuite{KemId: registry.HPKEKEMID, KdfId: registry.HPKEKDFID, AeadId: registry.HPKEAEADID},
		TeeKind:   string(w.platform.Kind()), Version: Version,
	}
	if b.bound {
		wi.ChainId, wi.GenesisHash = b.chainID, bytes.Clone(b.genesisHash[:])
	}
	return wi
}

// Info is the API's Info answer.
func (w *Worker) Info() *workerv1.InfoResponse {
	w.mu.Lock()
	bound := w.binding.bound
	reg := proto.Clone(w.registration).(*workerv1.Registration)
	w.mu.Unlock()
	synced, st := w.sync.status()
	return &workerv1.InfoResponse{
		WorkerInfo: w.workerInfo(), Bound: bound, Simulated: w.platform.Kind() == attest.KindSimulated,
		Registration: reg, SyncedHeight: synced, Sync: st,
		MissingCode: w.exec.MissingCode(), Contracts: w.exec.Status(), MasterKeyEpochs: w.gk.Epochs(),
	}
}

// Attest produces fresh evidence over the worker's report data and the
// identity's consent to operator.
func (w *Worker) Attest(ctx context.Context, operator []byte) (*workerv1.AttestationResponse, error) {
	op, err := types.AccountFromBytes(operator)
	if err != nil || op.IsZero() {
		return nil, fmt.Errorf("%w: operator must be a non-zero 32-byte account id", errInvalid)
	}
	w.mu.Lock()
	b := w.binding
	w.mu.Unlock()
	if !b.bound {
		return nil, errUnbound
	}
	w.attestMu.Lock()
	defer w.attestMu.Unlock()
	pub := w.keys.Public()
	rd := registry.ReportData(b.chainID, b.genesisHash, pub, w.keys.HPKEPublic)
	ev, err := w.platform.Evidence(ctx, rd)
	if err != nil {
		return nil, fmt.Errorf("evidence from the %s platform: %w", w.platform.Kind(), err)
	}
	sig := ed25519.Sign(w.keys.Identity, registry.OperatorMessage(b.chainID, b.genesisHash, pub, op))
	w.log.Debug("attestation produced", "operator", op.Hex(), "evidence_bytes", len(ev.Quote))
	return &workerv1.AttestationResponse{
		WorkerInfo: w.workerInfo(), Evidence: &registryv1.Evidence{Kind: string(ev.Kind), Quote: ev.Quote},
		ReportData: rd[:], OperatorSignature: sig,
	}, nil
}

// errInvalid marks errors in a caller's input.
var errInvalid = errors.New("invalid request")

var errUnbound = errors.New("the worker is not bound to a chain yet: start it with --chain-id and --genesis-hash, or let its relayer bind it")

// maxLogBytes bounds the rejection reason a relayer may report.
const maxLogBytes = 1024

// noteRegistration records a relayer's report after validating its shape.
func (w *Worker) noteRegistration(r *workerv1.Registration) error {
	if r == nil {
		return fmt.Errorf("%w: registration is missing", errInvalid)
	}
	if n := len(r.GetOperator()); n != 0 && n != 32 {
		return fmt.Errorf("%w: operator must be 32 bytes, got %d", errInvalid, n)
	}
	if n := len(r.GetTxHash()); n != 0 && n != 32 {
		return fmt.Errorf("%w: tx hash must be 32 bytes, got %d", errInvalid, n)
	}
	if len(r.GetLog()) > maxLogBytes {
		return fmt.Errorf("%w: log longer than %d bytes", errInvalid, maxLogBytes)
	}
	if _, ok := workerv1.RegistrationState_name[int32(r.GetState())]; !ok || r.GetState() == workerv1.RegistrationState_REGISTRATION_STATE_UNSPECIFIED {
		return fmt.Errorf("%w: unknown registration state %d", errInvalid, r.GetState())
	}
	if r.GetRegisteredAt() < 0 || r.GetExpiresAt() < 0 || r.GetObservedHeight() < 0 {
		return fmt.Errorf("%w: heights must not be negative", errInvalid)
	}
	w.mu.Lock()
	w.registration = proto.Clone(r).(*workerv1.Registration)
	w.mu.Unlock()
	return nil
}

// Start listens on the configured address and serves the API in the
// background. It refuses a non-loopback address unless AllowRemote.
func (w *Worker) Start() error {
	ln, err := net.Listen("tcp", w.cfg.Listen)
	if err != nil {
		return fmt.Errorf("worker API listen on %s: %w", w.cfg.Listen, err)
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() && !w.cfg.AllowRemote {
		ln.Close()
		return fmt.Errorf("worker API address %s is not loopback: the API hands out operator consents, so expose it only with --allow-remote behind a firewall", w.cfg.Listen)
	}
	if w.cfg.MetricsListen != "" {
		srv, mln, err := ServeMetrics(w.cfg.MetricsListen, w.metrics.reg, func(err error) { w.log.Error("metrics server stopped", "err", err) })
		if err != nil {
			ln.Close()
			return err
		}
		w.metricsSrv, w.metricsLn = srv, mln
		w.log.Info("worker metrics listening", "url", "http://"+mln.Addr().String()+"/metrics")
	}
	w.ln = ln
	w.srv = w.httpServer()
	go func() {
		if err := w.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Error("worker API stopped", "err", err)
		}
	}()
	w.log.Info("worker API listening", "url", w.URL())
	if d := w.cfg.BenchmarkDuration; d > 0 && w.benchDone == nil {
		// In the background: the relayer can sync the worker meanwhile.
		ctx, cancel := context.WithCancel(context.Background())
		w.benchCancel, w.benchDone = cancel, make(chan struct{})
		go w.runBenchmark(ctx, d)
	}
	return nil
}

// URL is the API's base URL (after Start).
func (w *Worker) URL() string {
	if w.ln == nil {
		return ""
	}
	return "http://" + w.ln.Addr().String()
}

// MetricsURL is the metrics endpoint's URL (empty without MetricsListen).
func (w *Worker) MetricsURL() string {
	if w.metricsLn == nil {
		return ""
	}
	return "http://" + w.metricsLn.Addr().String() + "/metrics"
}

// Close stops the API, the metrics listener and a running benchmark, then
// closes the contract executor (its database) and wipes the gatekeeper's
// secrets.
func (w *Worker) Close() error {
	err := errors.Join(ShutdownServer(w.metricsSrv), ShutdownServer(w.srv))
	if w.benchCancel != nil {
		w.benchCancel()
		<-w.benchDone // it may be sealing its report
	}
	w.sync.mu.Lock() // no dispatch in flight
	defer w.sync.mu.Unlock()
	err = errors.Join(err, w.exec.Close(context.Background()))
	w.gk.Close()
	return err
}

// maxRequestBytes bounds API request bodies: a SyncHeaders batch of light
// blocks (≈ 1 KB each with 4 validators, ≈ 20 KB with 100) or a batch of
// proven messages (each proof carries its message: ≈ 2 KB for a small one,
// twice a large one's size; the relayer stops a call at 8 MiB) is the
// largest.
const maxRequestBytes = 32 << 20

func (w *Worker) httpServer() *http.Server {
	mux := http.NewServeMux()
	recoverAs := func(api string) connect.HandlerOption {
		return connect.WithRecover(func(_ context.Context, spec connect.Spec, _ http.Header, r any) error {
			w.log.Error(api+" API handler panicked", "procedure", spec.Procedure, "panic", r)
			return connect.NewError(connect.CodeInternal, errors.New("internal error"))
		})
	}
	path, h := workerv1connect.NewWorkerServiceHandler(&service{w: w},
		connect.WithReadMaxBytes(maxRequestBytes), recoverAs("worker"))
	cpath, ch := workerv1connect.NewContractServiceHandler(&contractService{w: w},
		connect.WithReadMaxBytes(maxQueryRequestBytes), recoverAs("contract"))
	routeAPI(mux, w.cors, path, h, cpath, ch)
	mux.HandleFunc("/healthz", func(rw http.ResponseWriter, _ *http.Request) { rw.Write([]byte("ok\n")) })
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, Protocols: &protocols}
}

// service adapts the worker to the generated Connect interface.
type service struct{ w *Worker }

var _ workerv1connect.WorkerServiceHandler = (*service)(nil)

func (s *service) Info(context.Context, *connect.Request[workerv1.InfoRequest]) (*connect.Response[workerv1.InfoResponse], error) {
	return connect.NewResponse(s.w.Info()), nil
}

func (s *service) Attestation(ctx context.Context, req *connect.Request[workerv1.AttestationRequest]) (*connect.Response[workerv1.AttestationResponse], error) {
	r, err := s.w.Attest(ctx, req.Msg.GetOperator())
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(r), nil
}

func (s *service) Bind(_ context.Context, req *connect.Request[workerv1.BindRequest]) (*connect.Response[workerv1.BindResponse], error) {
	if err := s.w.bind(req.Msg.GetChainId(), req.Msg.GetGenesisHash()); err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&workerv1.BindResponse{WorkerInfo: s.w.workerInfo()}), nil
}

func (s *service) InitTrustRoot(_ context.Context, req *connect.Request[workerv1.InitTrustRootRequest]) (*connect.Response[workerv1.InitTrustRootResponse], error) {
	root, err := s.w.sync.initTrustRoot(req.Msg)
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&workerv1.InitTrustRootResponse{TrustRoot: root}), nil
}

func (s *service) SyncHeaders(_ context.Context, req *connect.Request[workerv1.SyncHeadersRequest]) (*connect.Response[workerv1.SyncHeadersResponse], error) {
	r, err := s.w.sync.syncHeaders(req.Msg)
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(r), nil
}

func (s *service) DispatchMessages(_ context.Context, req *connect.Request[workerv1.DispatchMessagesRequest]) (*connect.Response[workerv1.DispatchMessagesResponse], error) {
	r, err := s.w.sync.dispatch(req.Msg)
	if err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(r), nil
}

func (s *service) GetEgress(_ context.Context, req *connect.Request[workerv1.GetEgressRequest]) (*connect.Response[workerv1.GetEgressResponse], error) {
	return connect.NewResponse(s.w.sync.egress(req.Msg.GetFrom(), req.Msg.GetLimit())), nil
}

func (s *service) ReportRegistration(_ context.Context, req *connect.Request[workerv1.ReportRegistrationRequest]) (*connect.Response[workerv1.ReportRegistrationResponse], error) {
	if err := s.w.noteRegistration(req.Msg.GetRegistration()); err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&workerv1.ReportRegistrationResponse{}), nil
}

// connectError maps worker errors onto Connect codes: bad input, wrong
// state, or a failure of the platform/disk.
func connectError(err error) error {
	switch {
	case errors.Is(err, errInvalid):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, errUnbound), errors.Is(err, errAlreadyBound), errors.Is(err, errNoTrustRoot), errors.Is(err, errTrustRootDiffer):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	default:
		return connect.NewError(connect.CodeUnavailable, err)
	}
}

// ProvideCode hands the executor code it awaits (content-addressed: the
// hash must be one a contract key named), then subscribes the contracts
// it made ready.
func (s *service) ProvideCode(ctx context.Context, req *connect.Request[workerv1.ProvideCodeRequest]) (*connect.Response[workerv1.ProvideCodeResponse], error) {
	h, err := s.w.exec.ProvideCode(ctx, req.Msg.GetCode())
	if err != nil {
		if errors.Is(err, runtime.ErrStorage) {
			return nil, connect.NewError(connect.CodeUnavailable, err)
		}
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	if err := s.w.sync.subscribeReady(); err != nil {
		return nil, connectError(err)
	}
	return connect.NewResponse(&workerv1.ProvideCodeResponse{CodeHash: h[:]}), nil
}

// maxQueryRequestBytes bounds a ContractService request: a query
// envelope is at most ≈ 1.3 KB + 128 B of method + 64 KiB of arguments.
const maxQueryRequestBytes = 128 << 10

// contractService is the users' end: sealed queries to the contracts the
// worker executes.
type contractService struct{ w *Worker }

var _ workerv1connect.ContractServiceHandler = (*contractService)(nil)

func (c *contractService) Query(ctx context.Context, req *connect.Request[workerv1.ContractQueryRequest]) (*connect.Response[workerv1.ContractQueryResponse], error) {
	return queryResponse(c.w.exec.Query(ctx, req.Msg.GetEnvelope(), time.Now()))
}

// queryResponse maps the executor's answer to a query or session query
// onto the Connect response or error code.
func queryResponse(resp []byte, err error) (*connect.Response[workerv1.ContractQueryResponse], error) {
	switch {
	case err == nil:
		return connect.NewResponse(&workerv1.ContractQueryResponse{Response: resp}), nil
	case errors.Is(err, executor.ErrNoSession):
		return nil, connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, executor.ErrBadEnvelope):
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, executor.ErrOverloaded):
		return nil, connect.NewError(connect.CodeResourceExhausted, err)
	}
	return nil, connect.NewError(connect.CodeUnavailable, err)
}

// SessionQuery answers a query under a query session (opened by a sealed
// query of method "veil.session"; see executor.SessionQuery). A session
// this worker does not hold — never opened here, evicted, expired, or
// lost in a restart — is NotFound, which tells the client to open a new
// session; a tampered, replayed or malformed request is InvalidArgument;
// a host failure Unavailable. The executor counts these queries in the
// query metrics with outcomes prefixed "session_".
func (c *contractService) SessionQuery(ctx context.Context, req *connect.Request[workerv1.SessionQueryRequest]) (*connect.Response[workerv1.ContractQueryResponse], error) {
	return queryResponse(c.w.exec.SessionQuery(ctx, req.Msg.GetEnvelope(), time.Now()))
}
