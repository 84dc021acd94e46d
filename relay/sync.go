package relay

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"connectrpc.com/connect"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/client"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/worker"
)

// Defaults of the sync loop.
const (
	DefaultSyncInterval = 250 * time.Millisecond
	DefaultHeaderBatch  = 200
	DefaultMessageBatch = 500
	DefaultEgressPerTx  = 32
	maxHeaderBatch      = 500
	syncRoundTimeout    = 2 * time.Minute
	progressMinHeaders  = 1000
	waitLogRepeatAfter  = time.Minute
	egressRoundTimeout  = 3 * time.Minute
	maxDispatchPerRound = 20
	// dispatchBytes bounds one DispatchMessages request: topics are added
	// until it holds this much, the others wait for the next dispatch.
	// The node sends a topic's messages in pages of about 2 MiB of
	// messages and proofs (api.ProvenMessagesBytes), so a request stays
	// near 10 MiB, well under the 32 MiB a worker accepts, however many
	// topics have news.
	dispatchBytes = 8 << 20
)

// errWaiting marks a round that could not proceed for a reason outside
// the relayer's control (logged once by wait).
var errWaiting = errors.New("waiting")

// wait records why a loop cannot proceed and logs it when the reason
// changes (or a minute later): the relayer never stalls silently, and it
// does not flood the log either.
func (r *Relayer) wait(loop, reason string, level func(string, ...any)) {
	r.mu.Lock()
	prev, at := r.waiting[loop], r.waitingAt[loop]
	now := time.Now()
	if prev != reason || now.Sub(at) > waitLogRepeatAfter {
		r.waitingAt[loop] = now
		r.waiting[loop] = reason
		r.mu.Unlock()
		level("relayer waiting", "loop", loop, "reason", reason)
		return
	}
	r.mu.Unlock()
}

func (r *Relayer) clearWait(loop string) {
	r.mu.Lock()
	delete(r.waiting, loop)
	delete(r.waitingAt, loop)
	r.mu.Unlock()
}

// loop runs step until ctx ends: immediately again after progress,
// after interval or a new block (wake) when idle, with exponential
// backoff after errors (a new block does not cut a backoff short: a
// failing node or worker is not hammered once per block).
func (r *Relayer) loop(ctx context.Context, name string, interval time.Duration, wake <-chan struct{}, step func(context.Context) (bool, error)) {
	backoff := r.cfg.MinBackoff
	for {
		progressed, err := r.safeStep(ctx, step)
		wait := interval
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, errWaiting):
			// Already logged by wait; poll at the normal pace.
			backoff = r.cfg.MinBackoff
		case err != nil:
			r.m.errors.WithLabelValues(name).Inc()
			r.mu.Lock()
			r.status.SyncError = fmt.Sprintf("%s: %v", name, err)
			r.mu.Unlock()
			r.log.Warn("relayer round failed; retrying", "loop", name, "err", err, "retry_in", backoff)
			wait = backoff
			backoff = min(2*backoff, r.cfg.MaxBackoff)
		case progressed:
			backoff = r.cfg.MinBackoff
			wait = 0
		default:
			backoff = r.cfg.MinBackoff
		}
		if wait == 0 {
			continue
		}
		w := wake
		if err != nil && !errors.Is(err, errWaiting) {
			w = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-w:
			// A new block: act now (a nil channel never fires).
		}
	}
}

func (r *Relayer) safeStep(ctx context.Context, step func(context.Context) (bool, error)) (progressed bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("relayer round panicked: %v", p)
		}
	}()
	return step(ctx)
}

// syncStep brings the worker up to the node's head: trust root if needed,
// light blocks from the worker's synced height, then the proven messages
// of its topics at its latest verified state. It resumes from what the
// worker reports, so restarts of the worker, the relayer or the node only
// cost a round.
func (r *Relayer) syncStep(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, syncRoundTimeout)
	defer cancel()
	info, err := r.workerInfo(ctx)
	if err != nil {
		return false, err
	}
	if !info.GetBound() {
		r.wait("sync", "the worker is not bound to a chain yet (the registration loop binds it)", r.log.Info)
		return false, errWaiting
	}
	ss := info.GetSync()
	if cf := ss.GetConflict(); cf != nil {
		r.wait("sync", fmt.Sprintf("the worker is FROZEN: it saw two validly signed headers at height %d (trusted %X, received %X); an operator must investigate the validators' equivocation",
			cf.GetHeight(), cf.GetTrustedHash(), cf.GetReceivedHash()), r.log.Error)
		return false, errWaiting
	}
	st, err := r.cfg.Node.Status(ctx)
	if err != nil {
		return false, err
	}
	wi := info.GetWorkerInfo()
	if wi.GetChainId() != st.GetChainId() || !bytes.Equal(wi.GetGenesisHash(), st.GetGenesisHash()) {
		r.wait("sync", fmt.Sprintf("the worker is bound to chain %q but the node serves %q (genesis %x)", wi.GetChainId(), st.GetChainId(), st.GetGenesisHash()), r.log.Error)
		return false, errWaiting
	}
	if st.GetCatchingUp() {
		r.wait("sync", "the node is catching up with the network; its head is not final yet", r.log.Info)
		return false, errWaiting
	}
	if !ss.GetTrustRootInitialised() {
		if err := r.initTrustRoot(ctx, st); err != nil {
			return false, err
		}
		return true, nil
	}
	latest := st.GetLatestHeight()
	synced := info.GetSyncedHeight()
	if synced > latest {
		r.wait("sync", fmt.Sprintf("the node's head %d is below the height %d the worker verified (a lagging node?)", latest, synced), r.log.Warn)
		return false, errWaiting
	}
	r.clearWait("sync")
	r.m.chainHeight.Set(float64(latest))
	progressed := false
	if synced < latest {
		from := synced + 1
		if synced == 0 {
			from = ss.GetTrustRoot().GetInitialHeight()
		}
		if synced, err = r.relayHeaders(ctx, from, latest); err != nil {
			return false, err
		}
		progressed = true
	}
	r.noteSynced(synced, latest)
	if progressed {
		// The headers may have queued a sync report: read the worker's
		// egress and topic positions again. Otherwise this round's are
		// current.
		if info, err = r.workerInfo(ctx); err != nil {
			return progressed, err
		}
	}
	// Code first: an assigned worker cannot execute a contract's log
	// without it.
	provided := r.provideCode(ctx, info)
	n, err := r.relayMessages(ctx, wi.GetIdentity(), info.GetSync(), synced-1, ss.GetTrustRoot().GetInitialHeight())
	if err != nil {
		return progressed, err
	}
	return progressed || n > 0 || provided > 0, nil
}

func (r *Relayer) workerInfo(ctx context.Context) (*workerv1.InfoResponse, error) {
	info, err := r.worker.Info(ctx, connect.NewRequest(&workerv1.InfoRequest{}))
	if err != nil {
		return nil, fmt.Errorf("worker info: %w", err)
	}
	return info.Msg, nil
}

func (r *Relayer) noteSynced(synced, latest int64) {
	r.m.workerSynced.Set(float64(synced))
	r.m.lag.Set(float64(latest - synced))
	r.mu.Lock()
	r.status.SyncedHeight, r.status.ChainHeight = synced, latest
	r.mu.Unlock()
}

// initTrustRoot gives the worker its trust root: the configured
// genesis.json, or (trusting the node as the binding did, see
// docs/lightclient.md) the node's chain id, genesis hash, initial height
// and the validator set of the initial height.
func (r *Relayer) initTrustRoot(ctx context.Context, st *nodev1.GetStatusResponse) error {
	req := &workerv1.InitTrustRootRequest{}
	if len(r.cfg.GenesisJSON) > 0 {
		req.Root = &workerv1.InitTrustRootRequest_GenesisJson{GenesisJson: r.cfg.GenesisJSON}
	} else {
		ih := max(st.GetInitialHeight(), 1)
		lbs, err := r.cfg.Node.Node.GetLightBlocks(ctx, connect.NewRequest(&nodev1.GetLightBlocksRequest{FromHeight: ih, Count: 1}))
		if err != nil {
			return fmt.Errorf("light block %d for the trust root: %w", ih, err)
		}
		if len(lbs.Msg.GetLightBlocks()) != 1 {
			return fmt.Errorf("the node has no light block at the initial height %d (pruned?): start the relayer with --genesis", ih)
		}
		var lb cmtproto.LightBlock
		if err := lb.Unmarshal(lbs.Msg.GetLightBlocks()[0]); err != nil {
			return fmt.Errorf("decode light block %d: %w", ih, err)
		}
		if lb.ValidatorSet == nil {
			return fmt.Errorf("light block %d from the node has no validator set", ih)
		}
		vs, err := lb.ValidatorSet.Marshal()
		if err != nil {
			return err
		}
		req.Root = &workerv1.InitTrustRootRequest_Explicit{Explicit: &workerv1.TrustRoot{
			ChainId: st.GetChainId(), GenesisHash: st.GetGenesisHash(), InitialHeight: ih, ValidatorSet: vs,
		}}
	}
	res, err := r.worker.InitTrustRoot(ctx, connect.NewRequest(req))
	if err != nil {
		return fmt.Errorf("initialise the worker's trust root: %w", err)
	}
	tr := res.Msg.GetTrustRoot()
	r.log.Info("worker trust root initialised", "chain_id", tr.GetChainId(), "initial_height", tr.GetInitialHeight(),
		"from_genesis_file", len(r.cfg.GenesisJSON) > 0)
	return nil
}

// relayHeaders feeds light blocks from..to to the worker in batches,
// fetching the next batch from the node while the worker verifies the
// current one. It returns the worker's synced height.
func (r *Relayer) relayHeaders(ctx context.Context, from, to int64) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type batch struct {
		blocks [][]byte
		latest int64
		err    error
	}
	// One batch in flight while the worker verifies another.
	ch := make(chan batch, 1)
	go func() {
		defer close(ch)
		for h := from; h <= to; {
			n := min(int64(r.cfg.HeaderBatch), to-h+1)
			res, err := r.cfg.Node.Node.GetLightBlocks(ctx, connect.NewRequest(&nodev1.GetLightBlocksRequest{FromHeight: h, Count: uint32(n)}))
			b := batch{err: err}
			if err == nil {
				b.blocks, b.latest = res.Msg.GetLightBlocks(), res.Msg.GetLatestHeight()
				if len(b.blocks) == 0 {
					b.err = fmt.Errorf("the node returned no light block from height %d (its head is %d)", h, b.latest)
				}
			} else {
				b.err = fmt.Errorf("light blocks from %d: %w", h, err)
			}
			select {
			case ch <- b:
			case <-ctx.Done():
				return
			}
			if b.err != nil {
				return
			}
			h += int64(len(b.blocks))
		}
	}()
	var p *progress
	if to-from+1 >= progressMinHeaders {
		p = newProgress(r.cfg.Progress, r.log, from-1)
		defer p.done()
	}
	synced := from - 1
	for b := range ch {
		if b.err != nil {
			return synced, b.err
		}
		start := time.Now()
		res, err := r.worker.SyncHeaders(ctx, connect.NewRequest(&workerv1.SyncHeadersRequest{LightBlocks: b.blocks, ChainHeight: max(b.latest, to)}))
		if err != nil {
			return synced, fmt.Errorf("worker sync headers: %w", err)
		}
		r.m.headerBatchSecs.Observe(time.Since(start).Seconds())
		m := res.Msg
		synced = m.GetSyncedHeight()
		r.m.headers.Add(float64(m.GetAccepted()))
		r.mu.Lock()
		r.status.HeadersRelayed += int64(m.GetAccepted())
		r.mu.Unlock()
		r.noteSynced(synced, max(b.latest, to))
		if p != nil {
			p.update(synced, to)
		}
		if m.GetRefusalReason() != "" {
			return synced, fmt.Errorf("the worker refused light block %d of the batch (%s): %s", m.GetRefusedIndex(), m.GetRefusalReason(), m.GetRefusal())
		}
	}
	return synced, nil
}

// relayMessages feeds the proven messages of the worker's topics at state
// `version` (the latest the worker can verify), from the positions in ss
// (the worker's current sync status), and the proof of the
// chain's egress sequence for it so it can drop what the chain accepted.
// It returns how many messages the worker accepted.
func (r *Relayer) relayMessages(ctx context.Context, identity []byte, ss *workerv1.SyncStatus, version, initialHeight int64) (int, error) {
	if version < initialHeight || len(identity) != 32 {
		return 0, nil
	}
	egressKnown := ss.GetEgressAcknowledged()
	var egressNext uint64
	var egressProof []byte
	needEgress := ss.GetEgressPending() > 0
	if needEgress {
		q, err := r.cfg.Node.Node.QueryState(ctx, connect.NewRequest(&nodev1.QueryStateRequest{Key: mq.EgressSequenceKey([32]byte(identity)), Height: version, Prove: true}))
		if err != nil {
			return 0, fmt.Errorf("egress sequence at %d: %w", version, err)
		}
		if v := q.Msg.GetValue(); len(v) == 8 {
			egressNext = binary.BigEndian.Uint64(v)
		}
		egressProof = q.Msg.GetProof()
		needEgress = egressNext > egressKnown
	}
	// Positions to fetch from, per topic that may have news at version.
	from := map[string]uint64{}
	var topics []string
	for _, tp := range ss.GetTopics() {
		if tp.GetChainVersion() == version && tp.GetNextSequence() >= tp.GetChainNextSequence() {
			continue // nothing new at this version
		}
		from[tp.GetTopic()] = tp.GetNextSequence()
		topics = append(topics, tp.GetTopic())
	}
	total := 0
	for round := 0; round < maxDispatchPerRound && (len(topics) > 0 || needEgress); round++ {
		req := &workerv1.DispatchMessagesRequest{Version: version}
		if needEgress {
			req.HasEgressNext, req.EgressNextSequence, req.EgressNextProof = true, egressNext, egressProof
			needEgress = false
		}
		// more: topics with messages after this dispatch's page;
		// deferred: topics not fetched for this dispatch (dispatchBytes,
		// or worker.MaxMessagesPerCall, past which the worker refuses the
		// whole call), first in the next one so that every topic advances.
		var more, deferred []string
		size, count := 0, 0
		for i, t := range topics {
			limit := min(r.cfg.MessageBatch, worker.MaxMessagesPerCall-count)
			if size >= dispatchBytes || limit <= 0 {
				deferred = slices.Clone(topics[i:])
				break
			}
			pm, err := r.cfg.Node.Node.GetProvenMessages(ctx, connect.NewRequest(&nodev1.GetProvenMessagesRequest{
				Topic: t, FromSequence: from[t], Limit: uint32(limit), Height: version, Batch: true}))
			if err != nil {
				return total, fmt.Errorf("proven messages of %s from %d at %d: %w", t, from[t], version, err)
			}
			tm := &workerv1.TopicMessages{Topic: t, HasNextSequence: true, NextSequence: pm.Msg.GetNextSequence(),
				NextSequenceProof: pm.Msg.GetNextSequenceProof(), BatchProof: pm.Msg.GetBatchProof()}
			for _, m := range pm.Msg.GetMessages() {
				tm.Messages = append(tm.Messages, &workerv1.ProvenMessage{Sequence: m.GetSequence(), Message: m.GetMessage(), Proof: m.GetProof()})
			}
			req.Topics = append(req.Topics, tm)
			size += proto.Size(tm)
			count += len(tm.Messages)
			// The node pages by count and by bytes (a page of large
			// messages holds fewer than asked for): the next page starts
			// after the last message received, not limit messages on.
			// The worker checks the sequences; max keeps a node that
			// answers out of order from sending the relayer backwards.
			if n := len(tm.Messages); n > 0 {
				from[t] = max(from[t], tm.Messages[n-1].GetSequence()+1)
				if from[t] < pm.Msg.GetNextSequence() {
					more = append(more, t)
				}
			}
		}
		res, err := r.worker.DispatchMessages(ctx, connect.NewRequest(req))
		if err != nil {
			return total, fmt.Errorf("worker dispatch: %w", err)
		}
		acc := int(res.Msg.GetAccepted())
		total += acc
		r.m.messages.Add(float64(acc))
		r.mu.Lock()
		r.status.MessagesRelayed += int64(acc)
		r.mu.Unlock()
		if reason := res.Msg.GetRefusalReason(); reason != "" {
			switch reason {
			case worker.ReasonBackpressure:
				r.wait("sync", "the worker holds too much unsubmitted egress; messages wait until the egress loop submits it", r.log.Warn)
				return total, errWaiting
			case worker.ReasonNotSubscribed:
				// The worker stopped following the topic since it listed
				// it, possibly while processing this very call (a
				// contract it can no longer run): nothing is wrong, and
				// the next round fetches only the topics it follows now.
				r.log.Debug("the worker no longer follows a topic; re-reading its topics", "topic", res.Msg.GetRefusedTopic(),
					"sequence", res.Msg.GetRefusedSequence())
				return total, nil
			}
			return total, fmt.Errorf("the worker refused %s/%d (%s): %s", res.Msg.GetRefusedTopic(), res.Msg.GetRefusedSequence(), reason, res.Msg.GetRefusal())
		}
		topics = append(deferred, more...)
	}
	return total, nil
}

// egressStep submits the worker's egress from the chain's next sequence
// for it, in transactions of up to EgressPerTx messages from the operator
// account, each waited for, so the sequence advances one transaction at a
// time and a restart resumes from the chain's own counter.
func (r *Relayer) egressStep(ctx context.Context) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, egressRoundTimeout)
	defer cancel()
	info, err := r.workerInfo(ctx)
	if err != nil {
		return false, err
	}
	id := info.GetWorkerInfo().GetIdentity()
	if !info.GetBound() || len(id) != 32 || info.GetSync().GetEgressPending() == 0 {
		// Nothing the chain has not acknowledged to the worker.
		return false, nil
	}
	var q struct {
		NextSequence uint64 `json:"next_sequence"`
	}
	if _, err := r.cfg.Node.QueryModule(ctx, mq.Name, "egress", map[string]string{"sender": hex.EncodeToString(id)}, &q); err != nil {
		return false, err
	}
	eg, err := r.worker.GetEgress(ctx, connect.NewRequest(&workerv1.GetEgressRequest{From: q.NextSequence, Limit: uint32(r.cfg.EgressPerTx)}))
	if err != nil {
		return false, fmt.Errorf("worker egress: %w", err)
	}
	msgs := eg.Msg.GetMessages()
	if len(msgs) == 0 {
		r.clearWait("egress")
		return false, nil
	}
	batch := make([]proto.Message, len(msgs))
	for i, m := range msgs {
		batch[i] = m
	}
	res, err := r.txs.send(ctx, batch)
	var txErr *client.TxError
	if errors.As(err, &txErr) {
		switch txErr.Code() {
		case mq.CodeEgressDuplicate:
			// Another relayer got there first; the next round reads the
			// chain's new sequence.
			r.log.Info("egress already accepted (another relayer?)", "from", q.NextSequence)
			return true, nil
		case registry.CodeWorkerNotRegistered, registry.CodeWorkerStale:
			r.wait("egress", fmt.Sprintf("%d egress messages from %d wait: %s", len(msgs), q.NextSequence, res.GetLog()), r.log.Info)
			return false, errWaiting
		}
		return false, fmt.Errorf("egress transaction rejected: %w", err)
	}
	if err != nil {
		return false, fmt.Errorf("submit egress: %w", err)
	}
	r.clearWait("egress")
	r.m.egress.Add(float64(len(msgs)))
	r.mu.Lock()
	r.status.EgressSubmitted += int64(len(msgs))
	r.mu.Unlock()
	r.log.Debug("egress submitted", "from", q.NextSequence, "count", len(msgs), "height", res.GetHeight())
	return true, nil
}

// watchBlocks follows the node's block stream and wakes the sync and
// egress loops for each committed block. The stream is an optimisation
// only: the loops still poll, so a broken stream (retried with backoff)
// costs latency, never progress.
func (r *Relayer) watchBlocks(ctx context.Context) {
	backoff := r.cfg.MinBackoff
	for ctx.Err() == nil {
		stream, err := r.cfg.Node.Node.StreamBlocks(ctx, connect.NewRequest(&nodev1.StreamBlocksRequest{}))
		if err == nil {
			for stream.Receive() {
				backoff = r.cfg.MinBackoff
				for _, ch := range []chan struct{}{r.syncWake, r.egressWake} {
					select {
					case ch <- struct{}{}:
					default:
					}
				}
			}
			err = stream.Err()
			stream.Close()
		}
		if ctx.Err() != nil {
			return
		}
		r.log.Debug("block stream ended; polling until it is back", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.cfg.MaxBackoff)
	}
}
