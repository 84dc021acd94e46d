// Package relay is Veil's relayer (Phala's pherry). Three loops run side by
// side for one worker:
//
//   - registration: it reads the worker's identity and fresh attestation
//     evidence, adds the vendor collateral, submits MsgRegisterWorker from
//     the operator's account, and re-attests before the registration
//     expires;
//   - sync: it gives the worker its light-client trust root, feeds it the
//     chain's light blocks (prefetching the next batch while the worker
//     verifies one), then the proven messages of its topics at the state
//     the worker verified;
//   - egress: it submits the worker's signed egress from the chain's next
//     sequence for it (MsgSyncEgress).
//
// The sync loop also hands the worker the contract code it reports
// missing (Info.missing_code), read from the node: code is
// content-addressed, so it needs no proof.
//
// The registration and egress loops both submit transactions from the
// operator account; they take turns and the relayer tracks the account's
// nonce (operatorTxs), so they never race for a nonce.
//
// Every loop resumes from what the worker and the chain report, so a
// restart of any party costs a round, and each backs off exponentially on
// errors and logs why it waits.
//
// The relayer holds the operator's key, not the worker's: it can delay or
// withhold, never forge. The evidence binds the worker's keys, the identity
// key signs its consent to the operator and its egress, and everything fed
// to the worker is verified there (docs/lightclient.md).
package relay

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/worker"
)

// Defaults of Config.
const (
	DefaultReattestPercent = 80
	DefaultPollInterval    = 2 * time.Second
	DefaultMinBackoff      = time.Second
	DefaultMaxBackoff      = time.Minute
	roundTimeout           = 3 * time.Minute
)

// Config configures a relayer.
type Config struct {
	// WorkerURL is the worker API's base URL.
	WorkerURL string
	// Node is the SDK client of the node the relayer submits to.
	Node *client.Client
	// Operator signs registrations; it owns the worker on chain.
	Operator keys.Signer
	// Collateral supplies vendor collateral (default: Intel PCS, see PCS).
	Collateral CollateralSource
	// ReattestPercent is when to re-attest, in percent of the validity
	// window (default 80: with 24 h validity, after about 19 h).
	ReattestPercent int
	// PollInterval is how often the relayer checks the worker and chain.
	PollInterval time.Duration
	// MinBackoff and MaxBackoff bound the exponential retry delay after a
	// failure.
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient talks to the worker (default http.DefaultClient).
	HTTPClient *http.Client
	Logger     *slog.Logger

	// DisableSync runs the registration loop only.
	DisableSync bool
	// GenesisJSON, when set, is the chain's genesis.json exactly as its
	// nodes were started from: the worker derives its trust root from it
	// (and checks its hash against its binding) instead of trusting the
	// node's validator set for the initial height.
	GenesisJSON []byte
	// SyncInterval is how often the sync and egress loops look for news
	// when caught up (default 250 ms: a new block reaches the worker well
	// within a block time).
	SyncInterval time.Duration
	// HeaderBatch is the number of light blocks per request (default 200,
	// at most 500); MessageBatch the most messages per topic and request
	// (default 500; the node's byte budget may return fewer); EgressPerTx the egress messages per transaction
	// (default 32).
	HeaderBatch, MessageBatch, EgressPerTx int
	// Progress, when set (a terminal), receives a progress line while the
	// worker catches up; otherwise progress is logged.
	Progress io.Writer
	// MetricsListen, when set, serves Prometheus metrics on this loopback
	// address.
	MetricsListen string
	// ComputeStake, when set, keeps the registered worker computing: the
	// relayer binds it to the operator and starts it with at least this
	// stake (raised to the chain's minimum k·√P for the worker's score).
	// See computeStep.
	ComputeStake *types.Amount
}

// Status is what the relayer last achieved, for callers and tests.
type Status struct {
	Identity     []byte
	RegisteredAt int64
	AttestedAt   int64
	ExpiresAt    int64
	// RefreshAt is the height at which the relayer re-attests.
	RefreshAt int64
	// Registrations counts successful registration transactions.
	Registrations int
	LastError     string

	// SyncedHeight is the worker's verified height and ChainHeight the
	// node's head, as last seen by the sync loop.
	SyncedHeight, ChainHeight int64
	// HeadersRelayed, MessagesRelayed and EgressSubmitted count what the
	// worker (or chain) accepted from this relayer.
	HeadersRelayed, MessagesRelayed, EgressSubmitted int64
	// SyncError is the sync or egress loop's latest error.
	SyncError string
}

// Relayer registers one worker and keeps its registration fresh.
type Relayer struct {
	cfg    Config
	log    *slog.Logger
	worker workerv1connect.WorkerServiceClient
	op     types.AccountID
	m      *metrics
	// txs submits every transaction from the operator account, one at a
	// time with tracked nonces (the loops submit concurrently).
	txs *operatorTxs

	mu        sync.Mutex
	status    Status
	waiting   map[string]string
	waitingAt map[string]time.Time
	// codeRetry: code hashes the worker is missing whose last provision
	// failed, with the time of the next attempt.
	codeRetry map[string]time.Time
	// syncWake and egressWake are signalled (without blocking) for every
	// block the node commits (watchBlocks), so the sync and egress loops
	// act at once instead of at their next poll: a contract command's
	// latency includes this wait. Nil with DisableSync.
	syncWake, egressWake chan struct{}
}

// New checks the configuration.
func New(cfg Config) (*Relayer, error) {
	if cfg.WorkerURL == "" || cfg.Node == nil || cfg.Operator == nil {
		return nil, errors.New("relay: worker URL, node and operator are required")
	}
	if cfg.Collateral == nil {
		cfg.Collateral = &PCS{}
	}
	if cfg.ReattestPercent <= 0 || cfg.ReattestPercent >= 100 {
		cfg.ReattestPercent = DefaultReattestPercent
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.HeaderBatch <= 0 || cfg.HeaderBatch > maxHeaderBatch {
		cfg.HeaderBatch = DefaultHeaderBatch
	}
	if cfg.MessageBatch <= 0 || cfg.MessageBatch > 1000 {
		cfg.MessageBatch = DefaultMessageBatch
	}
	if cfg.EgressPerTx <= 0 || cfg.EgressPerTx > 256 {
		cfg.EgressPerTx = DefaultEgressPerTx
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "relay", "worker_api", cfg.WorkerURL)
	m := newMetrics()
	return &Relayer{
		cfg: cfg, log: log,
		worker: workerv1connect.NewWorkerServiceClient(hc, strings.TrimRight(cfg.WorkerURL, "/")),
		op:     types.AccountID(cfg.Operator.Public().Key),
		m:      m, txs: newOperatorTxs(cfg.Node, cfg.Operator, log, m.nonceResyncs),
		waiting: map[string]string{}, waitingAt: map[string]time.Time{}, codeRetry: map[string]time.Time{},
	}, nil
}

// Status returns a copy of the relayer's status.
func (r *Relayer) Status() Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.status
	s.Identity = bytes.Clone(s.Identity)
	return s
}

// Run registers the worker, keeps it registered and (unless DisableSync)
// keeps it in sync with the chain until ctx ends. It never returns because
// of a node or worker failure: each loop logs, backs off exponentially and
// tries again. It returns when ctx is cancelled (an error only if the
// metrics listener cannot start).
func (r *Relayer) Run(ctx context.Context) error {
	r.log.Info("relayer started", "operator", r.op.Hex(), "node", r.cfg.Node.URL, "sync", !r.cfg.DisableSync)
	if r.cfg.MetricsListen != "" {
		srv, ln, err := worker.ServeMetrics(r.cfg.MetricsListen, r.m.reg, func(err error) { r.log.Error("metrics server stopped", "err", err) })
		if err != nil {
			return err
		}
		defer func() { _ = worker.ShutdownServer(srv) }()
		r.log.Info("relayer metrics listening", "url", "http://"+ln.Addr().String()+"/metrics")
	}
	var wg sync.WaitGroup
	if !r.cfg.DisableSync {
		r.syncWake, r.egressWake = make(chan struct{}, 1), make(chan struct{}, 1)
		wg.Go(func() { r.watchBlocks(ctx) })
		wg.Go(func() { r.loop(ctx, "sync", r.cfg.SyncInterval, r.syncWake, r.syncStep) })
		wg.Go(func() { r.loop(ctx, "egress", r.cfg.SyncInterval, r.egressWake, r.egressStep) })
	}
	r.registrationLoop(ctx)
	wg.Wait()
	r.log.Info("relayer stopped")
	return nil
}

// registrationLoop runs registration rounds every PollInterval.
func (r *Relayer) registrationLoop(ctx context.Context) {
	backoff := r.cfg.MinBackoff
	for {
		err := r.step(ctx)
		wait := r.cfg.PollInterval
		if err != nil && ctx.Err() == nil {
			r.mu.Lock()
			r.status.LastError = err.Error()
			r.mu.Unlock()
			r.m.errors.WithLabelValues("registration").Inc()
			r.log.Warn("registration step failed; retrying", "err", err, "retry_in", backoff)
			wait = backoff
			backoff = min(2*backoff, r.cfg.MaxBackoff)
		} else {
			backoff = r.cfg.MinBackoff
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// step does one round: make sure the worker is bound, then register or
// refresh it if it needs that. A panic in a round (a bug) is turned into
// an error so the relayer keeps running.
func (r *Relayer) step(ctx context.Context) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("relayer round panicked: %v", p)
		}
	}()
	// A hung node or worker must not stall the relayer forever; a
	// registration waits at most api.MaxWait (60 s) for its block.
	ctx, cancel := context.WithTimeout(ctx, roundTimeout)
	defer cancel()
	st, err := r.cfg.Node.Status(ctx)
	if err != nil {
		return err
	}
	info, err := r.worker.Info(ctx, connect.NewRequest(&workerv1.InfoRequest{}))
	if err != nil {
		return fmt.Errorf("worker info: %w", err)
	}
	wi := info.Msg.GetWorkerInfo()
	if !info.Msg.GetBound() {
		// First start: the worker trusts this relayer's node for the
		// chain's identity (see docs/registry.md, "Trust assumptions").
		r.log.Info("binding the worker to the node's chain", "chain_id", st.GetChainId(), "genesis_hash", hex.EncodeToString(st.GetGenesisHash()))
		b, err := r.worker.Bind(ctx, connect.NewRequest(&workerv1.BindRequest{ChainId: st.GetChainId(), GenesisHash: st.GetGenesisHash()}))
		if err != nil {
			return fmt.Errorf("bind worker: %w", err)
		}
		wi = b.Msg.GetWorkerInfo()
	}
	if wi.GetChainId() != st.GetChainId() || !bytes.Equal(wi.GetGenesisHash(), st.GetGenesisHash()) {
		return fmt.Errorf("the worker is bound to chain %q (genesis %x) but the node serves %q (genesis %x)",
			wi.GetChainId(), wi.GetGenesisHash(), st.GetChainId(), st.GetGenesisHash())
	}
	height := st.GetLatestHeight()
	rec, err := r.record(ctx, wi.GetIdentity())
	if err != nil {
		return err
	}
	if rec != nil {
		if rec.Operator != r.op.Address(uint16(st.GetSs58Prefix())) {
			return fmt.Errorf("worker %x is registered to operator %s, not to this relayer's %s", wi.GetIdentity(), rec.Operator, r.op.Address(uint16(st.GetSs58Prefix())))
		}
		refresh := r.refreshHeight(rec)
		r.remember(wi.GetIdentity(), rec, refresh, false)
		if height < refresh && !rec.Stale {
			return r.computeStep(ctx, wi.GetIdentity())
		}
		r.log.Info("re-attesting before the registration expires", "identity", hex.EncodeToString(wi.GetIdentity()), "height", height, "expires_at", rec.ExpiresAt)
	}
	return r.register(ctx, height)
}

// record reads the worker's registry record (nil if not registered).
func (r *Relayer) record(ctx context.Context, identity []byte) (*registry.WorkerView, error) {
	var v registry.WorkerView
	_, err := r.cfg.Node.QueryModule(ctx, registry.Name, "worker", registry.WorkerQuery{Identity: hex.EncodeToString(identity)}, &v)
	if connect.CodeOf(err) == connect.CodeNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}

func (r *Relayer) refreshHeight(v *registry.WorkerView) int64 {
	return v.AttestedAt + (v.ExpiresAt-v.AttestedAt)*int64(r.cfg.ReattestPercent)/100
}

func (r *Relayer) remember(identity []byte, v *registry.WorkerView, refresh int64, registered bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Identity = bytes.Clone(identity)
	r.status.RegisteredAt, r.status.AttestedAt, r.status.ExpiresAt, r.status.RefreshAt = v.RegisteredAt, v.AttestedAt, v.ExpiresAt, refresh
	if registered {
		r.m.registrations.Inc()
		r.status.Registrations++
		r.status.LastError = ""
	}
}

// register fetches fresh evidence and collateral and submits the
// registration, then tells the worker what the chain said.
func (r *Relayer) register(ctx context.Context, height int64) error {
	att, err := r.worker.Attestation(ctx, connect.NewRequest(&workerv1.AttestationRequest{Operator: r.op[:]}))
	if err != nil {
		return fmt.Errorf("worker attestation: %w", err)
	}
	a := att.Msg
	ev := attest.Evidence{Kind: attest.Kind(a.GetEvidence().GetKind()), Quote: a.GetEvidence().GetQuote()}
	collateral, err := r.cfg.Collateral.Collateral(ctx, ev)
	if err != nil {
		return fmt.Errorf("collateral for %s evidence: %w", ev.Kind, err)
	}
	msg := &registryv1.MsgRegisterWorker{
		WorkerInfo: a.GetWorkerInfo(), Evidence: a.GetEvidence(), Collateral: collateral, OperatorSignature: a.GetOperatorSignature(),
	}
	identity := a.GetWorkerInfo().GetIdentity()
	r.log.Info("submitting worker registration", "identity", hex.EncodeToString(identity), "tee", ev.Kind,
		"evidence_bytes", len(ev.Quote), "collateral_bytes", len(collateral))
	res, err := r.txs.send(ctx, []proto.Message{msg})
	var txErr *client.TxError
	if errors.As(err, &txErr) {
		r.report(ctx, &workerv1.Registration{
			State: workerv1.RegistrationState_REGISTRATION_STATE_REJECTED, Operator: r.op[:], ObservedHeight: height,
			TxHash: res.GetHash(), Code: res.GetCode(), Log: truncate(res.GetLog(), 1000),
		})
		name := registry.CodeName(txErr.Code())
		if name == "" {
			name = txErr.Code().String()
		}
		return fmt.Errorf("registration rejected (%s, code %d): %s", name, txErr.Code(), res.GetLog())
	}
	if err != nil {
		return fmt.Errorf("submit registration: %w", err)
	}
	rec, err := r.record(ctx, identity)
	if err != nil || rec == nil {
		return fmt.Errorf("registration committed at height %d but the record cannot be read: %v", res.GetHeight(), err)
	}
	refresh := r.refreshHeight(rec)
	r.remember(identity, rec, refresh, true)
	r.report(ctx, &workerv1.Registration{
		State: workerv1.RegistrationState_REGISTRATION_STATE_REGISTERED, Operator: r.op[:], RegisteredAt: rec.RegisteredAt,
		ExpiresAt: rec.ExpiresAt, ObservedHeight: res.GetHeight(), TxHash: res.GetHash(),
	})
	r.log.Info("worker registered", "identity", hex.EncodeToString(identity), "height", res.GetHeight(),
		"expires_at", rec.ExpiresAt, "refresh_at", refresh, "tcb_status", rec.TCBStatus, "confidence", rec.Confidence)
	return nil
}

// report tells the worker what the chain said; failures are only logged,
// the registration itself stands.
func (r *Relayer) report(ctx context.Context, reg *workerv1.Registration) {
	if _, err := r.worker.ReportRegistration(ctx, connect.NewRequest(&workerv1.ReportRegistrationRequest{Registration: reg})); err != nil {
		r.log.Warn("could not report the registration to the worker", "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
