package worker

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	cmttypes "github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/worker/executor"
	"github.com/veil-network/veil/worker/gatekeeper"
	"github.com/veil-network/veil/worker/lightclient"
	"github.com/veil-network/veil/worker/queue"
	"github.com/veil-network/veil/worker/runtime"
)

// Limits of the sync API. They bound what one relayer call can make the
// worker hold in memory or do before answering.
const (
	// KeepHeaders recent verified headers are kept (proofs must be
	// against one of them; the relayer always uses the latest).
	KeepHeaders = 1000
	// MaxLightBlocksPerCall bounds SyncHeaders.
	MaxLightBlocksPerCall = 1000
	// MaxMessagesPerCall bounds DispatchMessages.
	MaxMessagesPerCall = 5000
	// MaxPendingEgress is how many signed egress messages the worker holds
	// for its relayer; beyond it, it stops taking messages (they stay on
	// chain) rather than drop its output.
	MaxPendingEgress = 4096
	// MaxBatchEntries bounds one batch proof (the node sends at most 1000
	// messages per topic and call); ics23 finds each key by a linear scan.
	MaxBatchEntries = 1000
	// MaxEgressPerCall bounds GetEgress.
	MaxEgressPerCall = 256
	// reportMaxLag: periodic sync reports are sent only when the worker is
	// (nearly) caught up, not for every batch of a long catch-up.
	reportMaxLag = 2
)

// Refusal reasons, reported to the relayer and counted in
// veil_worker_refusals_total.
const (
	ReasonMalformed     = "malformed"
	ReasonOutOfOrder    = "out_of_order"
	ReasonTrustRoot     = "trust_root"
	ReasonVerification  = "verification"
	ReasonOld           = "old"
	ReasonConflict      = "conflict"
	ReasonFrozen        = "frozen"
	ReasonNoTrustRoot   = "no_trust_root"
	ReasonUnknownHeight = "unverified_version"
	ReasonProof         = "proof"
	ReasonSequence      = "sequence"
	ReasonMismatch      = "mismatch"
	ReasonNotSubscribed = "not_subscribed"
	ReasonBackpressure  = "backpressure"
	// ReasonRetry: the worker failed to process a verified message for a
	// reason of its own (storage); the call fails and the message is
	// delivered again.
	ReasonRetry = "retry"
)

var (
	errNoTrustRoot     = errors.New("the worker has no trust root yet: call InitTrustRoot")
	errTrustRootDiffer = errors.New("the trust root does not match the worker's")
)

// chainNext is a topic's next sequence on chain as proven at a version.
type chainNext struct {
	Next    uint64 `json:"next"`
	Version int64  `json:"version"`
}

// syncer is the worker's view of the chain: the light client, the inbox
// of its topics, the outbox of its egress and their sealed checkpoint. One
// mutex serializes every call: the relayer drives it sequentially anyway,
// and it makes "verify, apply, seal, answer" atomic for each call.
type syncer struct {
	log         *slog.Logger
	m           *metrics
	identity    [32]byte
	key         []byte // identity private key, for the outbox
	workerTopic string
	reportEvery int64
	store       *syncStore
	bindingOf   func() binding
	gk          *gatekeeper.Gatekeeper
	exec        *executor.Executor

	mu          sync.Mutex
	root        *workerv1.TrustRoot
	lc          *lightclient.Client
	inbox       *queue.Inbox
	outbox      *queue.Outbox
	durableNext uint64 // egress below this is sealed; GetEgress serves only it
	egressAcked uint64
	chainNext   map[string]chainNext
	conflict    *workerv1.ConflictEvidence
	chainHeight int64
	headers     uint64
	processed   uint64
	lastReport  int64
	lastRefusal string
}

// topics are the topics every worker follows; contract topics are added
// as the executor makes contracts ready.
func (s *syncer) topics() []string {
	return []string{s.workerTopic, mq.TopicSystem, mq.TopicGatekeeper}
}

// restore loads the sealed checkpoint, if any, so a restarted worker
// resumes where it was without re-syncing.
func (s *syncer) restore() error {
	s.outbox = queue.RestoreOutbox(s.key, 0, nil)
	s.chainNext = map[string]chainNext{}
	cp, err := s.store.load()
	if err != nil || cp == nil {
		return err
	}
	if !bytes.Equal(cp.Identity, s.identity[:]) {
		return fmt.Errorf("%s: %w: the checkpoint belongs to worker %x, not %x (delete it to re-sync)", s.store.path, ErrNotSealed, cp.Identity, s.identity)
	}
	var root workerv1.TrustRoot
	if err := proto.Unmarshal(cp.Root, &root); err != nil {
		return fmt.Errorf("%s: %w: trust root: %w", s.store.path, ErrNotSealed, err)
	}
	vals, err := decodeValidatorSet(root.GetValidatorSet())
	if err != nil {
		return fmt.Errorf("%s: %w: %w", s.store.path, ErrNotSealed, err)
	}
	if err := s.install(&root, vals); err != nil {
		return err
	}
	if len(cp.LightClient) > 0 {
		if err := s.lc.Restore(cp.LightClient); err != nil {
			return fmt.Errorf("%s: %w: %w", s.store.path, ErrNotSealed, err)
		}
	}
	// Before the contract topics are subscribed: subscribeReadyLocked
	// hands the executor the log lengths the checkpoint proved.
	if cp.ChainNext != nil {
		s.chainNext = cp.ChainNext
	}
	// A checkpoint from before a topic existed (the gatekeeper topic)
	// has no position for it: it is followed from 0.
	for _, t := range s.topics() {
		if err := s.inbox.Subscribe(t, cp.Positions[t]); err != nil {
			return err
		}
	}
	// Contract topics resume where the executor's own (atomically
	// committed) position is, whatever the checkpoint says.
	if err := s.subscribeReadyLocked(); err != nil {
		return err
	}
	msgs := make([]*mqv1.MsgSyncEgress, len(cp.Egress))
	for i, b := range cp.Egress {
		msgs[i] = &mqv1.MsgSyncEgress{}
		if err := proto.Unmarshal(b, msgs[i]); err != nil {
			return fmt.Errorf("%s: %w: egress: %w", s.store.path, ErrNotSealed, err)
		}
	}
	s.outbox = queue.RestoreOutbox(s.key, cp.EgressBase, msgs)
	s.durableNext = s.outbox.Next()
	s.egressAcked = cp.EgressAcked
	if len(cp.Conflict) > 0 {
		s.conflict = &workerv1.ConflictEvidence{}
		if err := proto.Unmarshal(cp.Conflict, s.conflict); err != nil {
			return fmt.Errorf("%s: %w: conflict: %w", s.store.path, ErrNotSealed, err)
		}
	}
	s.chainHeight, s.headers, s.processed, s.lastReport = cp.ChainHeight, cp.HeadersVerified, cp.MessagesProcessed, cp.LastReport
	s.updateGauges()
	s.log.Info("sync state restored from its sealed checkpoint", "synced_height", s.lc.TrustedHeight(),
		"positions", cp.Positions, "egress_next", s.outbox.Next(), "frozen", s.conflict != nil)
	return nil
}

// install sets up the light client and inbox for a trust root.
func (s *syncer) install(root *workerv1.TrustRoot, vals *cmttypes.ValidatorSet) error {
	lc, err := lightclient.New(lightclient.TrustRoot{ChainID: root.GetChainId(), InitialHeight: root.GetInitialHeight(), Validators: vals},
		lightclient.Options{KeepHeaders: KeepHeaders})
	if err != nil {
		return err
	}
	s.root, s.lc, s.inbox = root, lc, queue.NewInbox(lc)
	return nil
}

// checkpoint seals the sync state to disk. Callers hold s.mu. Egress
// becomes available to the relayer only once sealed, so the chain never
// accepts output a restarted worker would not remember.
func (s *syncer) checkpoint() error {
	if s.store.ephemeral() {
		s.durableNext = s.outbox.Next()
		return nil
	}
	start := time.Now()
	rb, err := proto.Marshal(s.root)
	if err != nil {
		return fmt.Errorf("checkpoint trust root: %w", err)
	}
	cp := &syncCheckpoint{Identity: s.identity[:], Root: rb, Positions: s.inbox.Positions(), EgressAcked: s.egressAcked,
		ChainNext: s.chainNext, ChainHeight: s.chainHeight, HeadersVerified: s.headers, MessagesProcessed: s.processed,
		LastReport: s.lastReport}
	if s.lc.TrustedHeight() > 0 {
		if cp.LightClient, err = s.lc.Checkpoint(); err != nil {
			return fmt.Errorf("checkpoint light client: %w", err)
		}
	}
	base, msgs := s.outbox.Pending()
	cp.EgressBase = base
	for _, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			return fmt.Errorf("checkpoint egress: %w", err)
		}
		cp.Egress = append(cp.Egress, b)
	}
	if s.conflict != nil {
		if cp.Conflict, err = proto.Marshal(s.conflict); err != nil {
			return fmt.Errorf("checkpoint conflict: %w", err)
		}
	}
	if err := s.store.save(cp); err != nil {
		return err
	}
	s.durableNext = base + uint64(len(msgs))
	s.m.checkpointSecond.Observe(time.Since(start).Seconds())
	return nil
}

// initTrustRoot sets the trust root once. The chain id and genesis hash
// must be those the worker is bound to: its attestation binds them, so a
// trust root for any other chain would make the worker follow a chain it
// can never be registered on.
func (s *syncer) initTrustRoot(req *workerv1.InitTrustRootRequest) (*workerv1.TrustRoot, error) {
	root, vals, err := decodeTrustRoot(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errInvalid, err)
	}
	b := s.bindingOf()
	if !b.bound {
		return nil, errUnbound
	}
	if root.GetChainId() != b.chainID || !bytes.Equal(root.GetGenesisHash(), b.genesisHash[:]) {
		return nil, fmt.Errorf("%w: it is for chain %q (genesis %x), the worker is bound to %q (genesis %x)", errTrustRootDiffer,
			root.GetChainId(), root.GetGenesisHash(), b.chainID, b.genesisHash[:])
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.root != nil {
		if proto.Equal(s.root, root) {
			return proto.Clone(s.root).(*workerv1.TrustRoot), nil
		}
		return nil, fmt.Errorf("%w: the worker already follows %q from height %d; the given root (height %d, validator set %X) differs (delete its sync checkpoint to start over)",
			errTrustRootDiffer, s.root.GetChainId(), s.root.GetInitialHeight(), root.GetInitialHeight(), vals.Hash())
	}
	if err := s.install(root, vals); err != nil {
		return nil, err
	}
	for _, t := range s.topics() {
		if err := s.inbox.Subscribe(t, 0); err != nil {
			return nil, err
		}
	}
	if err := s.subscribeReadyLocked(); err != nil {
		return nil, err
	}
	if err := s.checkpoint(); err != nil {
		return nil, err
	}
	s.log.Info("light client trust root set", "chain_id", root.GetChainId(), "initial_height", root.GetInitialHeight(),
		"validators", vals.Size(), "validator_set_hash", fmt.Sprintf("%X", vals.Hash()))
	return proto.Clone(root).(*workerv1.TrustRoot), nil
}

// refuse records a refusal (metrics, Info, log).
func (s *syncer) refuse(input, reason string, err error) {
	s.m.refusals.WithLabelValues(input, reason).Inc()
	s.lastRefusal = fmt.Sprintf("%s %s: %v", input, reason, err)
	s.log.Warn("refused relayer input", "input", input, "reason", reason, "err", err)
}

// syncHeaders verifies and applies light blocks in order, stopping at the
// first refusal.
func (s *syncer) syncHeaders(req *workerv1.SyncHeadersRequest) (*workerv1.SyncHeadersResponse, error) {
	if n := len(req.GetLightBlocks()); n > MaxLightBlocksPerCall {
		return nil, fmt.Errorf("%w: %d light blocks, at most %d per call", errInvalid, n, MaxLightBlocksPerCall)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lc == nil {
		return nil, errNoTrustRoot
	}
	if h := req.GetChainHeight(); h > 0 {
		s.chainHeight = h
		s.m.chainHeight.Set(float64(h))
	}
	resp := &workerv1.SyncHeadersResponse{}
	changed := false
	var prev int64
	for i, raw := range req.GetLightBlocks() {
		reason, height, err := s.applyLightBlock(raw, prev)
		if reason == ReasonConflict {
			changed = true
		}
		if err != nil {
			s.refuse("light_block", reason, err)
			resp.RefusalReason, resp.Refusal, resp.RefusedIndex = reason, err.Error(), uint32(i)
			break
		}
		if reason == "" {
			resp.Accepted++
			changed = true
		}
		prev = height
	}
	synced := s.lc.TrustedHeight()
	if resp.Accepted > 0 && s.reportEvery > 0 && s.chainHeight-synced <= reportMaxLag && synced >= s.lastReport+s.reportEvery {
		if err := s.report(&registryv1.SyncReport{SyncedHeight: synced}); err == nil {
			s.lastReport = synced
		}
	}
	s.updateGauges()
	if changed {
		if err := s.checkpoint(); err != nil {
			return nil, err
		}
	}
	resp.SyncedHeight = synced
	return resp, nil
}

// applyLightBlock decodes and verifies one light block. reason is "" when
// it was applied, "known" when it repeats a verified header, and a refusal
// reason otherwise (with err).
func (s *syncer) applyLightBlock(raw []byte, prev int64) (reason string, height int64, err error) {
	lb, err := decodeLightBlock(raw)
	if err != nil {
		return ReasonMalformed, 0, err
	}
	if lb.Height <= prev {
		return ReasonOutOfOrder, lb.Height, fmt.Errorf("light block %d follows %d in the same call", lb.Height, prev)
	}
	if s.conflict != nil {
		return ReasonFrozen, lb.Height, lightclient.ErrFrozen
	}
	before := s.lc.TrustedHeight()
	if err := s.lc.Update(lb); err != nil {
		switch {
		case errors.Is(err, lightclient.ErrFrozen):
			if cf := s.lc.Conflict(); cf != nil && s.conflict == nil {
				s.conflict = &workerv1.ConflictEvidence{Height: cf.Height, TrustedHash: cf.Trusted, ReceivedHash: cf.Received}
				if cf.Header != nil {
					s.conflict.SignedHeader, _ = cf.Header.ToProto().Marshal()
				}
				s.log.Error("CONFLICTING HEADERS: two validly signed headers for one height; the light client is frozen",
					"height", cf.Height, "trusted", hex.EncodeToString(cf.Trusted), "received", hex.EncodeToString(cf.Received))
			}
			return ReasonConflict, lb.Height, err
		case errors.Is(err, lightclient.ErrTrustRoot):
			return ReasonTrustRoot, lb.Height, err
		case errors.Is(err, lightclient.ErrOld):
			return ReasonOld, lb.Height, err
		}
		return ReasonVerification, lb.Height, err
	}
	if lb.Height <= before {
		return "known", lb.Height, nil
	}
	s.headers++
	s.m.headersVerified.Inc()
	return "", lb.Height, nil
}

// encodeNext is the stored form of a next-sequence counter (absent for 0).
func encodeNext(n uint64) []byte {
	if n == 0 {
		return nil
	}
	return binary.BigEndian.AppendUint64(nil, n)
}

// verifyCounter checks a proven next-sequence counter at version.
func (s *syncer) verifyCounter(version int64, key []byte, value uint64, proof []byte) error {
	p, err := decodeProof(proof)
	if err != nil {
		return err
	}
	return verifyGuarded(func() error { return s.lc.VerifyState(version, key, encodeNext(value), p) })
}

func verifyGuarded(f func() error) (err error) {
	defer guard("proof verification", &err)
	return f()
}

// dispatch verifies and processes proven messages strictly in sequence,
// stopping at the first refusal.
func (s *syncer) dispatch(req *workerv1.DispatchMessagesRequest) (*workerv1.DispatchMessagesResponse, error) {
	total := 0
	for _, t := range req.GetTopics() {
		total += len(t.GetMessages())
	}
	if total > MaxMessagesPerCall {
		return nil, fmt.Errorf("%w: %d messages, at most %d per call", errInvalid, total, MaxMessagesPerCall)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lc == nil {
		return nil, errNoTrustRoot
	}
	resp := &workerv1.DispatchMessagesResponse{}
	changed := false
	defer func() { resp.Topics = s.positions() }()
	fail := func(reason, topic string, seq uint64, err error) (*workerv1.DispatchMessagesResponse, error) {
		s.refuse("message", reason, err)
		resp.RefusalReason, resp.Refusal, resp.RefusedTopic, resp.RefusedSequence = reason, err.Error(), topic, seq
		if err := s.endDispatch(changed); err != nil {
			return nil, err
		}
		return resp, nil
	}
	version := req.GetVersion()
	if s.conflict != nil {
		return fail(ReasonFrozen, "", 0, lightclient.ErrFrozen)
	}
	if _, err := s.lc.StateRoot(version); err != nil {
		return fail(ReasonUnknownHeight, "", 0, err)
	}
	if req.GetHasEgressNext() {
		n := req.GetEgressNextSequence()
		if err := s.verifyCounter(version, mq.EgressSequenceKey(s.identity), n, req.GetEgressNextProof()); err != nil {
			return fail(ReasonProof, "", 0, fmt.Errorf("egress sequence: %w", err))
		}
		if n > s.egressAcked {
			s.egressAcked = n
			s.outbox.Ack(n)
			changed = true
		}
	}
	// Open the call's command envelopes ahead of execution, on all cores;
	// nothing from it is trusted until Execute matches it against the
	// verified message, and endDispatch's Flush ends it on every path out.
	s.exec.Prepare(context.Background(), req)
	for _, tm := range req.GetTopics() {
		topic := tm.GetTopic()
		if _, ok := s.inbox.Next(topic); !ok {
			return fail(ReasonNotSubscribed, topic, 0, fmt.Errorf("the worker does not follow topic %q", truncateTopic(topic)))
		}
		var batch *ics23.CommitmentProof
		if b := tm.GetBatchProof(); len(b) > 0 {
			var err error
			if batch, err = decodeBatchProof(b, MaxBatchEntries); err != nil {
				return fail(ReasonMalformed, topic, 0, err)
			}
		}
		for _, pm := range tm.GetMessages() {
			seq := pm.GetSequence()
			// Processing the topic's previous message may have stopped
			// the worker following it (processContractMessage drops a
			// contract the executor cannot run). The rest is then
			// refused as for a topic never followed: the proofs are not
			// at fault, and Inbox.Deliver's own "not subscribed" error
			// would be classified as a proof failure below.
			if _, ok := s.inbox.Next(topic); !ok {
				return fail(ReasonNotSubscribed, topic, seq, fmt.Errorf("the worker stopped following topic %q while processing this call", truncateTopic(topic)))
			}
			if n := s.outbox.Len(); n >= MaxPendingEgress {
				return fail(ReasonBackpressure, topic, seq, fmt.Errorf("%d egress messages from %d wait for the relayer", n, s.outbox.Next()-uint64(n)))
			}
			proof := batch
			if proof == nil {
				var err error
				if proof, err = decodeProof(pm.GetProof()); err != nil {
					return fail(ReasonMalformed, topic, seq, err)
				}
			}
			if err := deliver(s.inbox, version, topic, seq, pm.GetMessage(), proof); err != nil {
				if errors.Is(err, errMalformed) {
					return fail(ReasonMalformed, topic, seq, err)
				}
				reason := ReasonProof
				switch {
				case errors.Is(err, queue.ErrNotNext):
					reason = ReasonSequence
				case errors.Is(err, queue.ErrMismatch):
					reason = ReasonMismatch
				}
				return fail(reason, topic, seq, err)
			}
			resp.Accepted++
			changed = true
			for _, m := range s.inbox.Take() {
				if err := s.process(m); err != nil {
					// Not the message's fault (the executor's storage):
					// the topic goes back to the failed message, and the
					// relayer retries it.
					resp.Accepted--
					return s.retryLater(resp, topic, seq, err)
				}
			}
		}
		if tm.GetHasNextSequence() {
			n := tm.GetNextSequence()
			if err := s.verifyCounter(version, mq.NextSequenceKey(topic), n, tm.GetNextSequenceProof()); err != nil {
				return fail(ReasonProof, topic, n, fmt.Errorf("next sequence: %w", err))
			}
			if cur, ok := s.chainNext[topic]; !ok || version > cur.Version {
				s.chainNext[topic] = chainNext{Next: n, Version: version}
				changed = true
			}
			if id, ok := contractTopicID(topic); ok {
				s.exec.NoteChainNext(id, s.chainNext[topic].Next)
			}
		}
	}
	if err := s.endDispatch(changed); err != nil {
		return nil, err
	}
	return resp, nil
}

// endDispatch ends a dispatch call, refused or not: it makes the call's
// execution durable and queues the state reports of the contracts
// executed in it, moves contract topics back to where the executor
// stands if a failed write rolled it back, and, if the call changed the
// sync state, seals the checkpoint. Callers hold s.mu.
func (s *syncer) endDispatch(changed bool) error {
	s.flushExecutor()
	if s.rewindToExecutor() {
		changed = true
	}
	s.updateGauges()
	if !changed {
		return nil
	}
	return s.checkpoint()
}

// retryLater handles a host failure while processing topic's message
// seq: the topic is rewound to what the executor committed, the rest of
// the call is sealed, and the call fails (Unavailable) so the relayer
// sends the message again.
func (s *syncer) retryLater(resp *workerv1.DispatchMessagesResponse, topic string, seq uint64, err error) (*workerv1.DispatchMessagesResponse, error) {
	s.refuse("message", ReasonRetry, fmt.Errorf("%s/%d: %w", truncateTopic(topic), seq, err))
	back := seq
	if id, ok := contractTopicID(topic); ok {
		if next, ok := s.exec.Next(id); ok {
			back = next
		}
	}
	s.setPosition(topic, back, false)
	if cerr := s.endDispatch(true); cerr != nil {
		return nil, errors.Join(err, cerr)
	}
	return nil, fmt.Errorf("processing %s message %d: %w", truncateTopic(topic), seq, err)
}

// flushExecutor queues the state reports of the contracts executed in
// this dispatch call.
func (s *syncer) flushExecutor() {
	egs, err := s.exec.Flush()
	if err != nil {
		s.log.Error("contract state: durable write or state reports failed", "err", err)
	}
	send(s, "state report", egs)
}

// rewindToExecutor moves every contract topic whose inbox position is
// ahead of the executor's next sequence back to it, and reports whether
// it moved any. The executor writes a dispatch call's messages at its
// end (Flush) or when its pending batch is full (in Execute); a failed
// write rolls every contract of the batch back to its last durable
// position, while the inbox has accepted their messages. Left ahead, a
// topic would be served again only once its log grows (the next message
// is then out of sequence, and retryLater rewinds it), and until then
// the contract refuses reads as behind its log. Rewound, the relayer
// sends the messages again at once. Callers hold s.mu.
func (s *syncer) rewindToExecutor() bool {
	if s.inbox == nil {
		return false
	}
	moved := false
	for topic, pos := range s.inbox.Positions() {
		id, ok := contractTopicID(topic)
		if !ok {
			continue
		}
		if next, ok := s.exec.Next(id); ok && next < pos {
			s.log.Warn("contract topic rewound to the executor's durable position after a failed write", "topic", truncateTopic(topic),
				"from", pos, "to", next)
			s.setPosition(topic, next, false)
			moved = true
		}
	}
	return moved
}

// send queues executor or gatekeeper egress (the same shape).
func send[E executor.Egress | gatekeeper.Egress](s *syncer, what string, egs []E) {
	for _, e := range egs {
		eg := executor.Egress(e)
		if _, err := s.outbox.Send(eg.Topic, eg.Payload); err != nil {
			s.log.Error("could not queue egress", "what", what, "topic", eg.Topic, "err", err)
		}
	}
}

// contractTopicID parses mq.ContractTopic's form, "contract/<64 lowercase
// hex>" (it runs for every processed message: no formatting).
func contractTopicID(topic string) ([32]byte, bool) {
	var id [32]byte
	h, ok := strings.CutPrefix(topic, "contract/")
	if !ok || len(h) != 64 || strings.ContainsAny(h, "ABCDEF") {
		return id, false
	}
	if _, err := hex.Decode(id[:], []byte(h)); err != nil {
		return id, false
	}
	return id, true
}

// setPosition moves (or, with remove, drops) a topic in the inbox. The
// inbox has no rewind, so it is rebuilt with the adjusted positions; it
// holds no undelivered messages between Take and the next Deliver.
func (s *syncer) setPosition(topic string, next uint64, remove bool) {
	pos := s.inbox.Positions()
	if cur, ok := pos[topic]; ok && cur == next && !remove {
		return
	}
	if remove {
		delete(pos, topic)
	} else {
		pos[topic] = next
	}
	in := queue.NewInbox(s.lc)
	for t, n := range pos {
		if err := in.Subscribe(t, n); err != nil {
			s.log.Error("resubscribe topic", "topic", truncateTopic(t), "err", err)
		}
	}
	s.inbox = in
}

// subscribeReady subscribes the topics of contracts that became ready
// outside a dispatch (ProvideCode) and seals the change.
func (s *syncer) subscribeReady() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inbox == nil {
		return nil // no trust root yet: initTrustRoot subscribes them
	}
	before := len(s.inbox.Positions())
	if err := s.subscribeReadyLocked(); err != nil {
		return err
	}
	if len(s.inbox.Positions()) == before {
		return nil
	}
	return s.checkpoint()
}

// subscribeReadyLocked follows every ready contract's topic from the
// executor's next sequence. Callers hold s.mu.
func (s *syncer) subscribeReadyLocked() error {
	if s.inbox == nil {
		return nil
	}
	for id, next := range s.exec.Ready() {
		topic := mq.ContractTopic(id)
		if err := s.inbox.Subscribe(topic, next); err != nil {
			return err
		}
		// A restored checkpoint knows how long the log was: a restarted
		// worker that is behind refuses reads until it has caught up.
		if cn, ok := s.chainNext[topic]; ok {
			s.exec.NoteChainNext(id, cn.Next)
		}
	}
	return nil
}

// deliver is Inbox.Deliver with ics23's verification guarded: a panic on
// a hostile proof shape is a refusal, not a crash.
func deliver(in *queue.Inbox, version int64, topic string, seq uint64, raw []byte, proof *ics23.CommitmentProof) (err error) {
	defer guard("proof verification", &err)
	return in.Deliver(version, topic, seq, raw, proof)
}

func truncateTopic(t string) string {
	if len(t) > 140 {
		return t[:140] + "…"
	}
	return t
}

// process handles one verified message, in chain order:
//
//   - the worker's own topic: from a chain module, a WorkerMessage (master
//     key → gatekeeper; contract key → executor, and the contract's topic is
//     followed once it is ready; unassignment → executor; heartbeat
//     challenge → an answer on TopicHeartbeat); from an account, the JSON
//     operator commands (ping);
//   - the gatekeeper topic → the gatekeeper;
//   - a contract topic → the executor.
//
// Malformed or refused payloads are counted, logged (never their
// contents) and skipped: every replica sees the same chain-ordered
// message, so a poison message must not wedge the queue. Only a failure
// of the worker itself (the executor's storage) returns an error, and the
// message is retried.
func (s *syncer) process(m *mqv1.Message) error {
	s.processed++
	kind, outcome := "system", "ignored"
	var err error
	switch {
	case m.GetTopic() == s.workerTopic:
		kind = "worker"
		if m.GetOrigin().GetModule() != "" {
			outcome, err = s.processWorkerMessage(m)
			break
		}
		if c, ok := parseCommand(m.GetPayload()); ok && c.Op == OpPing {
			err := s.report(&registryv1.SyncReport{SyncedHeight: s.lc.TrustedHeight(), Ping: true, PingTopic: m.GetTopic(), PingSequence: m.GetSequence()})
			outcome = "ping"
			if err != nil {
				outcome = "failed"
				s.log.Error("could not answer a ping", "sequence", m.GetSequence(), "err", err)
			}
		}
	case m.GetTopic() == mq.TopicGatekeeper:
		kind, outcome = "gatekeeper", "ok"
		var gm contractsv1.GatekeeperMessage
		if perr := proto.Unmarshal(m.GetPayload(), &gm); perr != nil {
			outcome = "malformed"
			s.log.Warn("malformed gatekeeper message", "sequence", m.GetSequence(), "err", perr)
			break
		}
		egs, gerr := s.gk.HandleGatekeeper(&gm)
		if gerr != nil {
			outcome = "failed"
			s.log.Warn("gatekeeper message not applied", "sequence", m.GetSequence(), "err", gerr)
		}
		send(s, "gatekeeper", egs)
	default:
		id, ok := contractTopicID(m.GetTopic())
		if !ok {
			break
		}
		kind = "contract"
		outcome, err = s.processContractMessage(id, m)
	}
	s.m.messages.WithLabelValues(kind, outcome).Inc()
	s.log.Debug("processed message", "topic", m.GetTopic(), "sequence", m.GetSequence(), "height", m.GetHeight(), "outcome", outcome)
	if err != nil {
		s.processed--
	}
	return err
}

// processWorkerMessage handles a chain module's message on the worker's
// own topic.
func (s *syncer) processWorkerMessage(m *mqv1.Message) (string, error) {
	var wm contractsv1.WorkerMessage
	if err := proto.Unmarshal(m.GetPayload(), &wm); err != nil {
		s.log.Warn("malformed worker message", "sequence", m.GetSequence(), "err", err)
		return "malformed", nil
	}
	switch k := wm.GetKind().(type) {
	case *contractsv1.WorkerMessage_MasterKey:
		egs, err := s.gk.HandleMasterKey(k.MasterKey)
		send(s, "gatekeeper", egs)
		if err != nil {
			s.log.Warn("master key delivery not applied", "sequence", m.GetSequence(), "err", err)
			return "failed", nil
		}
		return "master_key", nil
	case *contractsv1.WorkerMessage_ContractKey:
		ready, err := s.exec.HandleContractKey(context.Background(), k.ContractKey)
		if errors.Is(err, runtime.ErrStorage) {
			return "retry", err
		}
		if err != nil {
			s.log.Warn("contract key delivery not applied", "sequence", m.GetSequence(), "contract", hex.EncodeToString(k.ContractKey.GetContractId()), "err", err)
			return "failed", nil
		}
		if ready {
			if err := s.subscribeReadyLocked(); err != nil {
				s.log.Error("subscribe contract topic", "err", err)
			}
		}
		return "contract_key", nil
	case *contractsv1.WorkerMessage_ContractUnassigned:
		b := k.ContractUnassigned.GetContractId()
		if len(b) != 32 {
			s.log.Warn("malformed contract unassignment", "sequence", m.GetSequence())
			return "malformed", nil
		}
		if err := s.exec.HandleUnassigned([32]byte(b)); err != nil {
			return "retry", err
		}
		// Stop following the log; a re-assignment resumes it from the
		// executor's position.
		s.setPosition(mq.ContractTopic([32]byte(b)), 0, true)
		return "unassigned", nil
	case *contractsv1.WorkerMessage_Heartbeat:
		return s.answerHeartbeat(m, k.Heartbeat), nil
	}
	s.log.Warn("empty worker message", "sequence", m.GetSequence())
	return "malformed", nil
}

// processContractMessage executes a contract log entry. A contract the
// executor does not run (unassigned meanwhile) stops being followed.
func (s *syncer) processContractMessage(id [32]byte, m *mqv1.Message) (string, error) {
	out, err := s.exec.Execute(context.Background(), id, m)
	switch {
	case errors.Is(err, executor.ErrNotReady):
		s.setPosition(m.GetTopic(), 0, true)
		return "not_ready", nil
	case err != nil:
		return "retry", err
	}
	send(s, "contract", out.Egress)
	return out.Status, nil
}

// report queues a signed sync report for the chain.
func (s *syncer) report(rep *registryv1.SyncReport) error {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(rep)
	if err != nil {
		return fmt.Errorf("encode sync report: %w", err)
	}
	_, err = s.outbox.Send(registry.TopicSynced, b)
	return err
}

// egress returns sealed egress from sequence `from` on.
func (s *syncer) egress(from uint64, limit uint32) *workerv1.GetEgressResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	if limit == 0 || limit > MaxEgressPerCall {
		limit = MaxEgressPerCall
	}
	out := &workerv1.GetEgressResponse{NextSequence: s.durableNext}
	base, msgs := s.outbox.Pending()
	for seq := max(from, base); seq < s.durableNext && seq-base < uint64(len(msgs)) && uint32(len(out.Messages)) < limit; seq++ {
		out.Messages = append(out.Messages, msgs[seq-base])
	}
	return out
}

// positions lists the subscribed topics with what the worker knows of them.
func (s *syncer) positions() []*workerv1.TopicPosition {
	if s.inbox == nil {
		return nil
	}
	pos := s.inbox.Positions()
	names := make([]string, 0, len(pos))
	for t := range pos {
		names = append(names, t)
	}
	sort.Strings(names)
	out := make([]*workerv1.TopicPosition, len(names))
	for i, t := range names {
		cn := s.chainNext[t]
		out[i] = &workerv1.TopicPosition{Topic: t, NextSequence: pos[t], ChainNextSequence: cn.Next, ChainVersion: cn.Version}
	}
	return out
}

func (s *syncer) updateGauges() {
	if s.lc != nil {
		s.m.syncedHeight.Set(float64(s.lc.TrustedHeight()))
	}
	s.m.egressPending.Set(float64(s.outbox.Len()))
	s.m.egressNext.Set(float64(s.outbox.Next()))
}

// status is the sync part of Info.
func (s *syncer) status() (int64, *workerv1.SyncStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &workerv1.SyncStatus{ChainHeight: s.chainHeight, HeadersVerified: s.headers, MessagesProcessed: s.processed,
		LastRefusal: s.lastRefusal, EgressAcknowledged: s.egressAcked}
	st.EgressNextSequence, st.EgressPending = s.outbox.Next(), uint64(s.outbox.Len())
	if s.conflict != nil {
		st.Conflict = proto.Clone(s.conflict).(*workerv1.ConflictEvidence)
	}
	if s.root == nil {
		return 0, st
	}
	st.TrustRootInitialised = true
	st.TrustRoot = proto.Clone(s.root).(*workerv1.TrustRoot)
	st.Topics = s.positions()
	synced := s.lc.TrustedHeight()
	if lb := s.lc.Trusted(); lb != nil {
		st.VerifiedVersion = synced - 1
		st.VerifiedAppHash = bytes.Clone(lb.AppHash)
		st.VerifiedTimeUnixMs = lb.Time.UnixMilli()
	}
	if s.chainHeight > synced {
		st.Lag = s.chainHeight - synced
	}
	return synced, st
}
