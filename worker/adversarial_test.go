package worker_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"connectrpc.com/connect"
	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/privval"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/devnet"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/relay"
	"github.com/veil-network/veil/worker"
)

// evilRelayer drives a worker through its API with data from a real node,
// and can tamper with any of it: it is the untrusted host.
type evilRelayer struct {
	t    *testing.T
	ctx  context.Context
	node *client.Client
	w    workerv1connect.WorkerServiceClient
}

func (r *evilRelayer) info() *workerv1.InfoResponse {
	r.t.Helper()
	res, err := r.w.Info(r.ctx, connect.NewRequest(&workerv1.InfoRequest{}))
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Msg
}

func (r *evilRelayer) lightBlocks(from int64, count uint32) []*cmttypes.LightBlock {
	r.t.Helper()
	res, err := r.node.Node.GetLightBlocks(r.ctx, connect.NewRequest(&nodev1.GetLightBlocksRequest{FromHeight: from, Count: count}))
	if err != nil {
		r.t.Fatal(err)
	}
	var out []*cmttypes.LightBlock
	for i, b := range res.Msg.GetLightBlocks() {
		var p cmtproto.LightBlock
		if err := p.Unmarshal(b); err != nil {
			r.t.Fatal(err)
		}
		lb, err := cmttypes.LightBlockFromProto(&p)
		if err != nil {
			r.t.Fatal(err)
		}
		if lb.Height != from+int64(i) {
			r.t.Fatalf("node returned height %d at %d", lb.Height, from+int64(i))
		}
		out = append(out, lb)
	}
	return out
}

func encodeLB(t *testing.T, lb *cmttypes.LightBlock) []byte {
	t.Helper()
	p, err := lb.ToProto()
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cloneLB(t *testing.T, lb *cmttypes.LightBlock) *cmttypes.LightBlock {
	t.Helper()
	var p cmtproto.LightBlock
	if err := p.Unmarshal(encodeLB(t, lb)); err != nil {
		t.Fatal(err)
	}
	out, err := cmttypes.LightBlockFromProto(&p)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (r *evilRelayer) syncRaw(raws ...[]byte) *workerv1.SyncHeadersResponse {
	r.t.Helper()
	res, err := r.w.SyncHeaders(r.ctx, connect.NewRequest(&workerv1.SyncHeadersRequest{LightBlocks: raws, ChainHeight: 1000}))
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Msg
}

func (r *evilRelayer) sync(lbs ...*cmttypes.LightBlock) *workerv1.SyncHeadersResponse {
	r.t.Helper()
	raws := make([][]byte, len(lbs))
	for i, lb := range lbs {
		raws[i] = encodeLB(r.t, lb)
	}
	return r.syncRaw(raws...)
}

func (r *evilRelayer) dispatch(req *workerv1.DispatchMessagesRequest) *workerv1.DispatchMessagesResponse {
	r.t.Helper()
	res, err := r.w.DispatchMessages(r.ctx, connect.NewRequest(req))
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Msg
}

func (r *evilRelayer) proven(topic string, version int64) *nodev1.GetProvenMessagesResponse {
	r.t.Helper()
	res, err := r.node.Node.GetProvenMessages(r.ctx, connect.NewRequest(&nodev1.GetProvenMessagesRequest{Topic: topic, Height: version, Limit: 100}))
	if err != nil {
		r.t.Fatal(err)
	}
	return res.Msg
}

func pm(m *nodev1.ProvenMessage) *workerv1.ProvenMessage {
	return &workerv1.ProvenMessage{Sequence: m.GetSequence(), Message: m.GetMessage(), Proof: m.GetProof()}
}

// snapshot is the part of the worker's state no refused input may change.
type snapshot struct {
	synced, processed, headers, egressNext uint64
	positions                              string
	appHash                                string
}

func snap(info *workerv1.InfoResponse) snapshot {
	s := info.GetSync()
	pos, _ := json.Marshal(s.GetTopics())
	return snapshot{uint64(info.GetSyncedHeight()), s.GetMessagesProcessed(), s.GetHeadersVerified(), s.GetEgressNextSequence(), string(pos), string(s.GetVerifiedAppHash())}
}

// TestAdversarialRelayer: every kind of relayer and host misbehaviour is
// refused by the worker with a specific reason and without any effect on
// its state; the worker's egress can only be submitted exactly once, in
// order, by anyone; the sync state survives a restart, frozen or not.
func TestAdversarialRelayer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	home := t.TempDir()
	n, err := devnet.Start(ctx, devnet.Options{Home: filepath.Join(home, "net"), Reset: true, Logger: slog.New(slog.DiscardHandler), BlockTime: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	node := n.Client()
	st, err := node.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// The worker under attack, registered by an honest registration-only
	// relayer (so its egress is admissible).
	whome := filepath.Join(home, "worker")
	w, err := worker.New(ctx, worker.Config{Home: whome, TEE: attest.KindSimulated, Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { w.Close() }()
	eve, _ := keys.FromURI("//Eve", keys.SchemeSr25519)
	reg, err := relay.New(relay.Config{WorkerURL: w.URL(), Node: node, Operator: eve, Collateral: &relay.PCS{}, DisableSync: true,
		PollInterval: 100 * time.Millisecond, MinBackoff: 100 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, rcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { reg.Run(rctx); close(done) }()
	defer func() { rcancel(); <-done }()
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: timed out", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	wait("registered", func() bool { return reg.Status().Registrations == 1 })
	r := &evilRelayer{t: t, ctx: ctx, node: node, w: workerv1connect.NewWorkerServiceClient(http.DefaultClient, w.URL())}
	id := [32]byte(w.Identity())
	topic := mq.WorkerTopic(id)

	// --- Trust root -------------------------------------------------
	genesis, err := os.ReadFile(filepath.Join(n.Nodes[0].Home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	first := r.lightBlocks(1, 1)[0]
	vsp, _ := first.ValidatorSet.ToProto()
	vsb, _ := vsp.Marshal()
	explicit := func(chainID string, gh []byte, vs []byte) *workerv1.InitTrustRootRequest {
		return &workerv1.InitTrustRootRequest{Root: &workerv1.InitTrustRootRequest_Explicit{Explicit: &workerv1.TrustRoot{
			ChainId: chainID, GenesisHash: gh, InitialHeight: 1, ValidatorSet: vs}}}
	}
	otherGenesis := append([]byte{}, st.GetGenesisHash()...)
	otherGenesis[0] ^= 1
	for name, req := range map[string]*workerv1.InitTrustRootRequest{
		"another chain id":     explicit("other-chain", st.GetGenesisHash(), vsb),
		"another genesis hash": explicit(st.GetChainId(), otherGenesis, vsb),
		"garbage validators":   explicit(st.GetChainId(), st.GetGenesisHash(), []byte{1, 2, 3}),
		"empty":                {},
	} {
		if _, err := r.w.InitTrustRoot(ctx, connect.NewRequest(req)); err == nil {
			t.Fatalf("trust root %s accepted", name)
		}
	}
	if r.info().GetSync().GetTrustRootInitialised() {
		t.Fatal("a refused trust root initialised the worker")
	}
	// genesis.json: the worker computes the genesis hash as the chain does.
	tr, err := r.w.InitTrustRoot(ctx, connect.NewRequest(&workerv1.InitTrustRootRequest{Root: &workerv1.InitTrustRootRequest_GenesisJson{GenesisJson: genesis}}))
	if err != nil {
		t.Fatalf("trust root from genesis.json: %v", err)
	}
	if string(tr.Msg.GetTrustRoot().GetGenesisHash()) != string(st.GetGenesisHash()) || string(tr.Msg.GetTrustRoot().GetValidatorSet()) != string(vsb) {
		t.Fatal("genesis.json trust root differs from the chain's")
	}
	if _, err := r.w.InitTrustRoot(ctx, connect.NewRequest(explicit(st.GetChainId(), st.GetGenesisHash(), vsb))); err != nil {
		t.Fatalf("the same root again: %v", err)
	}
	other := cmttypes.NewValidatorSet([]*cmttypes.Validator{cmttypes.NewValidator(first.ValidatorSet.Validators[0].PubKey, 12345)})
	ovp, _ := other.ToProto()
	ovb, _ := ovp.Marshal()
	if _, err := r.w.InitTrustRoot(ctx, connect.NewRequest(explicit(st.GetChainId(), st.GetGenesisHash(), ovb))); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("a second, different trust root: %v", err)
	}

	// --- Light blocks -----------------------------------------------
	refused := func(name string, res *workerv1.SyncHeadersResponse, reason string, before snapshot) {
		t.Helper()
		if res.GetRefusalReason() != reason {
			t.Fatalf("%s: refusal %q (%s), want %q", name, res.GetRefusalReason(), res.GetRefusal(), reason)
		}
		if after := snap(r.info()); after != before {
			t.Fatalf("%s changed the worker: %+v -> %+v", name, before, after)
		}
	}
	if err := node.WaitHeight(ctx, 12); err != nil {
		t.Fatal(err)
	}
	lbs := r.lightBlocks(1, 12)
	if res := r.sync(lbs[:5]...); res.GetAccepted() != 5 || res.GetSyncedHeight() != 5 || res.GetRefusalReason() != "" {
		t.Fatalf("honest headers: %v", res)
	}
	before := snap(r.info())
	next := lbs[5] // height 6
	weak := cloneLB(t, next)
	for i := range weak.Commit.Signatures {
		weak.Commit.Signatures[i] = cmttypes.NewCommitSigAbsent()
	}
	refused("too little voting power", r.sync(weak), worker.ReasonVerification, before)
	badVals := cloneLB(t, next)
	badVals.ValidatorSet = other
	refused("validator set not hashing to the header's", r.sync(badVals), worker.ReasonVerification, before)
	otherChain := cloneLB(t, next)
	otherChain.ChainID = "other-chain"
	refused("header of another chain", r.sync(otherChain), worker.ReasonVerification, before)
	forged := cloneLB(t, next)
	forged.AppHash = make([]byte, 32)
	refused("forged app hash", r.sync(forged), worker.ReasonVerification, before)
	refused("garbage", r.syncRaw([]byte("not a light block")), worker.ReasonMalformed, before)
	// Out of order: 8 (a valid skip) is applied, 7 after it is refused.
	if res := r.sync(lbs[7], lbs[6]); res.GetAccepted() != 1 || res.GetRefusalReason() != worker.ReasonOutOfOrder || res.GetSyncedHeight() != 8 {
		t.Fatalf("out of order in one call: %v", res)
	}
	before = snap(r.info())
	refused("a height below the trusted one, never verified", r.sync(lbs[6]), worker.ReasonOld, before)
	if res := r.sync(lbs[8:]...); res.GetSyncedHeight() != 12 {
		t.Fatalf("resume: %v", res)
	}

	// --- Messages ---------------------------------------------------
	alice, _ := keys.FromURI("//Alice", keys.SchemeSr25519)
	ping, _ := json.Marshal(worker.Command{Op: worker.OpPing})
	res, err := node.Send(ctx, alice, []proto.Message{
		&mqv1.MsgPushMessage{Topic: topic, Payload: ping},
		&mqv1.MsgPushMessage{Topic: topic, Payload: []byte("hello")},
		&mqv1.MsgPushMessage{Topic: topic, Payload: ping},
		&mqv1.MsgPushMessage{Topic: "app/ab", Payload: []byte("not yours")},
	}, client.TxOptions{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.WaitHeight(ctx, res.GetHeight()+1); err != nil {
		t.Fatal(err)
	}
	info := r.info()
	head := r.lightBlocks(info.GetSyncedHeight()+1, uint32(res.GetHeight()+1-info.GetSyncedHeight()))
	if res := r.sync(head...); res.GetRefusalReason() != "" {
		t.Fatal(res)
	}
	version := res.GetHeight() // its state is committed by the verified header height+1
	msgs := r.proven(topic, version)
	if len(msgs.GetMessages()) != 3 || msgs.GetNextSequence() != 3 {
		t.Fatalf("proven messages %v", msgs)
	}
	m0, m1 := msgs.GetMessages()[0], msgs.GetMessages()[1]
	one := func(ms ...*workerv1.ProvenMessage) *workerv1.DispatchMessagesRequest {
		return &workerv1.DispatchMessagesRequest{Version: version, Topics: []*workerv1.TopicMessages{{Topic: topic, Messages: ms}}}
	}
	mrefused := func(name string, req *workerv1.DispatchMessagesRequest, reason string) {
		t.Helper()
		before := snap(r.info())
		res := r.dispatch(req)
		if res.GetRefusalReason() != reason || res.GetAccepted() != 0 {
			t.Fatalf("%s: refusal %q (%s), accepted %d, want %q", name, res.GetRefusalReason(), res.GetRefusal(), res.GetAccepted(), reason)
		}
		if after := snap(r.info()); after != before {
			t.Fatalf("%s changed the worker: %+v -> %+v", name, before, after)
		}
	}
	mrefused("skipped sequence", one(pm(m1)), worker.ReasonSequence)
	swapped := pm(m0)
	swapped.Proof = m1.GetProof()
	mrefused("proof for another key", one(swapped), worker.ReasonProof)
	tampered := pm(m0)
	tampered.Message = append([]byte{}, m0.GetMessage()...)
	tampered.Message[len(tampered.Message)-1] ^= 1
	mrefused("forged message", one(tampered), worker.ReasonProof)
	garbled := pm(m0)
	garbled.Proof = []byte{0xff, 0xff}
	mrefused("garbled proof", one(garbled), worker.ReasonMalformed)
	older := one(pm(m0))
	older.Version = version - 1
	mrefused("proof for another height", older, worker.ReasonProof)
	future := one(pm(m0))
	future.Version = version + 100
	mrefused("a version the worker has not verified", future, worker.ReasonUnknownHeight)
	foreign := r.proven("app/ab", version)
	mrefused("a topic the worker does not follow", &workerv1.DispatchMessagesRequest{Version: version, Topics: []*workerv1.TopicMessages{
		{Topic: "app/ab", Messages: []*workerv1.ProvenMessage{pm(foreign.GetMessages()[0])}}}}, worker.ReasonNotSubscribed)
	// Another topic's proven message passed off as this topic's.
	passedOff := pm(foreign.GetMessages()[0])
	mrefused("another topic's message", one(passedOff), worker.ReasonProof)
	lie := one()
	lie.Topics[0].HasNextSequence, lie.Topics[0].NextSequence, lie.Topics[0].NextSequenceProof = true, 10, msgs.GetNextSequenceProof()
	mrefused("a false next sequence", lie, worker.ReasonProof)
	egressLie := one()
	egressLie.HasEgressNext, egressLie.EgressNextSequence, egressLie.EgressNextProof = true, 5, msgs.GetNextSequenceProof()
	mrefused("a false egress sequence", egressLie, worker.ReasonProof)

	// Batch proofs: a compressed proof where a single one is expected, a
	// batch whose lookup table is out of range, a batch for other bytes.
	bres, err := node.Node.GetProvenMessages(ctx, connect.NewRequest(&nodev1.GetProvenMessagesRequest{Topic: topic, Height: version, Limit: 100, Batch: true}))
	if err != nil || len(bres.Msg.GetBatchProof()) == 0 || bres.Msg.GetMessages()[0].GetProof() != nil {
		t.Fatalf("batch proof: %v %v", bres, err)
	}
	asSingle := pm(m0)
	asSingle.Proof = bres.Msg.GetBatchProof()
	mrefused("a batch proof as a single proof", one(asSingle), worker.ReasonMalformed)
	var cp ics23.CommitmentProof
	if err := cp.Unmarshal(bres.Msg.GetBatchProof()); err != nil || cp.GetCompressed() == nil {
		t.Fatalf("node batch proof is not compressed: %v", err)
	}
	cp.GetCompressed().GetEntries()[0].GetExist().Path[0] = 1 << 30
	broken, _ := cp.Marshal()
	withBatch := func(batch []byte, ms ...*workerv1.ProvenMessage) *workerv1.DispatchMessagesRequest {
		req := one(ms...)
		req.Topics[0].BatchProof = batch
		return req
	}
	mrefused("a compressed batch pointing outside its table", withBatch(broken, pm(m0)), worker.ReasonMalformed)
	mrefused("a batch proof for other bytes", withBatch(bres.Msg.GetBatchProof(), tampered), worker.ReasonProof)
	mrefused("a batch proof with a skipped sequence", withBatch(bres.Msg.GetBatchProof(), pm(m1)), worker.ReasonSequence)

	// Honest delivery, in order, then replays and reordering.
	all := one(pm(m0), pm(m1), pm(msgs.GetMessages()[2]))
	all.Topics[0].HasNextSequence, all.Topics[0].NextSequence, all.Topics[0].NextSequenceProof = true, 3, msgs.GetNextSequenceProof()
	if res := r.dispatch(all); res.GetAccepted() != 3 || res.GetRefusalReason() != "" {
		t.Fatalf("honest messages: %v", res)
	}
	mrefused("replayed message", one(pm(m1)), worker.ReasonSequence)
	mrefused("reordered batch", one(pm(m1), pm(m0)), worker.ReasonSequence)
	info = r.info()
	var wpos *workerv1.TopicPosition
	for _, tp := range info.GetSync().GetTopics() {
		if tp.GetTopic() == topic {
			wpos = tp
		}
	}
	if info.GetSync().GetMessagesProcessed() != 3 || wpos.GetChainNextSequence() != 3 {
		t.Fatalf("after delivery: %v", info.GetSync())
	}

	// --- Egress through real transactions ----------------------------
	eg, err := r.w.GetEgress(ctx, connect.NewRequest(&workerv1.GetEgressRequest{From: 0}))
	if err != nil || len(eg.Msg.GetMessages()) != 2 || eg.Msg.GetNextSequence() != 2 {
		t.Fatalf("egress: %v %v", eg, err)
	}
	bob, _ := keys.FromURI("//Bob", keys.SchemeSr25519)
	bobAddr := types.AccountID(bob.Public().Key).Hex()
	balance := func() string {
		a, err := node.Account(ctx, bobAddr)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s/%d", a.GetFree(), a.GetNonce())
	}
	submit := func(name string, m *mqv1.MsgSyncEgress, code types.Code) {
		t.Helper()
		b0 := balance()
		_, err := node.Send(ctx, bob, []proto.Message{m}, client.TxOptions{Wait: true})
		if code == 0 {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return
		}
		txErr, ok := err.(*client.TxError)
		if !ok || txErr.Code() != code {
			t.Fatalf("%s: %v, want code %d", name, err, code)
		}
		if b1 := balance(); b1 != b0 {
			t.Fatalf("%s: the refused submitter paid (%s -> %s)", name, b0, b1)
		}
	}
	e0, e1 := eg.Msg.GetMessages()[0], eg.Msg.GetMessages()[1]
	submit("egress with a gap", e1, mq.CodeEgressGap)
	stranger := &mqv1.MsgSyncEgress{Message: e0.GetMessage(), Signature: e1.GetSignature()}
	submit("egress with another message's signature", stranger, mq.CodeEgressSignature)
	fake, _ := proto.Marshal(&mqv1.EgressMessage{Sender: make([]byte, 32), Sequence: 0, Topic: registry.TopicSynced})
	submit("egress signed by an unregistered key", &mqv1.MsgSyncEgress{Message: fake, Signature: make([]byte, 64)}, mq.CodeEgressSignature)
	unregistered := unregisteredEgress(t)
	submit("egress from an unregistered worker", unregistered, registry.CodeWorkerNotRegistered)
	submit("egress 0", e0, 0)
	submit("egress 0 replayed", e0, mq.CodeEgressDuplicate)
	submit("egress 1", e1, 0)

	// --- Conflict: a real equivocation by the validator's key ---------
	info = r.info()
	h := info.GetSyncedHeight() - 1
	orig := r.lightBlocks(h, 1)[0]
	conf := cmtcfg.DefaultConfig()
	conf.SetRoot(n.Nodes[0].Home)
	pv := privval.LoadFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	evil := cloneLB(t, orig)
	evil.AppHash = make([]byte, 32)
	bid := cmttypes.BlockID{Hash: evil.Header.Hash(), PartSetHeader: evil.Commit.BlockID.PartSetHeader}
	evil.Commit.BlockID = bid
	vote := &cmttypes.Vote{Type: cmtproto.PrecommitType, Height: evil.Height, Round: evil.Commit.Round, BlockID: bid,
		Timestamp: evil.Commit.Signatures[0].Timestamp, ValidatorAddress: pv.Key.Address, ValidatorIndex: 0}
	sig, err := pv.Key.PrivKey.Sign(cmttypes.VoteSignBytes(st.GetChainId(), vote.ToProto()))
	if err != nil {
		t.Fatal(err)
	}
	evil.Commit.Signatures[0].Signature = sig
	if res := r.sync(evil); res.GetRefusalReason() != worker.ReasonConflict {
		t.Fatalf("equivocation: %v", res)
	}
	info = r.info()
	cf := info.GetSync().GetConflict()
	if cf == nil || cf.GetHeight() != h || len(cf.GetSignedHeader()) == 0 {
		t.Fatalf("conflict evidence %v", cf)
	}
	before = snap(info)
	refused("headers after a conflict", r.sync(r.lightBlocks(info.GetSyncedHeight()+1, 1)...), worker.ReasonFrozen, before)
	mrefused("messages after a conflict", one(), worker.ReasonFrozen)

	// --- Restart: the sealed checkpoint restores everything ----------
	rcancel()
	<-done
	w.Close()
	w2, err := worker.New(ctx, worker.Config{Home: whome, TEE: attest.KindSimulated, Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	i2 := w2.Info()
	if snap(i2) != before || i2.GetSync().GetConflict().GetHeight() != h || !i2.GetSync().GetTrustRootInitialised() {
		t.Fatalf("after restart: %+v vs %+v", snap(i2), before)
	}
	if _, err := os.Stat(filepath.Join(whome, worker.SyncFile)); err != nil {
		t.Fatal(err)
	}
}

// unregisteredEgress is a well-signed egress message from a worker key the
// registry has never seen.
func unregisteredEgress(t *testing.T) *mqv1.MsgSyncEgress {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := proto.Marshal(&mqv1.EgressMessage{Sender: pub, Sequence: 0, Topic: registry.TopicSynced})
	return &mqv1.MsgSyncEgress{Message: b, Signature: ed25519.Sign(priv, mq.SignEgressBytes(b))}
}
