package registry

import (
	"bytes"
	"crypto/hpke"
	"encoding/json"
	"google.golang.org/protobuf/encoding/protowire"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/types"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// gkEnv is a registry env wired to a real message queue.
func gkEnv(t *testing.T, validity uint64) *env {
	t.Helper()
	g := DevGenesis()
	g.Params.AttestationValidityBlocks = validity
	e := newEnv(t, g)
	q := mq.New()
	if err := q.InitGenesis(e.ctx, q.DefaultGenesis()); err != nil {
		t.Fatal(err)
	}
	e.m.SetSender(q)
	return e
}

// mqMessage reads ingress message seq of topic and decodes its payload.
func mqMessage(t *testing.T, s types.KVStore, topic string, seq uint64, into proto.Message) *mqv1.Message {
	t.Helper()
	b := s.Get(mq.MessageKey(topic, seq))
	if b == nil {
		t.Fatalf("no message %d on %s", seq, topic)
	}
	var msg mqv1.Message
	if err := proto.Unmarshal(b, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.GetOrigin().GetModule() != Name {
		t.Fatalf("message %s/%d origin %v, want module registry", topic, seq, msg.GetOrigin())
	}
	if err := proto.Unmarshal(msg.GetPayload(), into); err != nil {
		t.Fatal(err)
	}
	return &msg
}

func newXWingKey(t *testing.T) []byte {
	t.Helper()
	k, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k.PublicKey().Bytes()
}

func enc(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantCode(t *testing.T, what string, err error, code types.Code) {
	t.Helper()
	if types.CodeOf(err) != code {
		t.Fatalf("%s: %v, want code %d (%s)", what, err, code, CodeName(code))
	}
}

func TestGatekeepersAndMasterKeys(t *testing.T) {
	e := gkEnv(t, 1000)
	s := e.ctx.Store
	w1, w2, w3 := newSimWorker(t, DevWorkerMeasurement()), newSimWorker(t, DevWorkerMeasurement()), newSimWorker(t, DevWorkerMeasurement())
	for _, w := range []*simWorker{w1, w2, w3} {
		if err := e.exec(e.oper, w.register(t, e.oper)); err != nil {
			t.Fatal(err)
		}
	}
	id1, id2, id3 := [32]byte(w1.pub()), [32]byte(w2.pub()), [32]byte(w3.pub())
	reg := func(id []byte) error { return e.exec(e.sudo, &registryv1.MsgRegisterGatekeeper{Identity: id}) }

	// Refusals change nothing.
	before := e.store().Clone()
	wantCode(t, "not sudo", e.exec(e.oper, &registryv1.MsgRegisterGatekeeper{Identity: id1[:]}), types.CodeUnauthorized)
	wantCode(t, "short identity", reg(id1[:5]), CodeInvalidWorkerInfo)
	wantCode(t, "unknown worker", reg(bytes.Repeat([]byte{7}, 32)), CodeWorkerNotRegistered)
	wantCode(t, "rotate without gatekeepers", e.exec(e.sudo, &registryv1.MsgRotateMasterKey{}), CodeNoGatekeeper)
	wantCode(t, "remove non-gatekeeper", e.exec(e.sudo, &registryv1.MsgRemoveGatekeeper{Identity: id1[:]}), CodeNotGatekeeper)
	if !before.Equal(e.store()) {
		t.Fatal("refusals changed state")
	}

	// The first gatekeeper is asked for epoch 1.
	if err := reg(id1[:]); err != nil {
		t.Fatal(err)
	}
	if g := Gatekeeper(s, id1[:]); g.GetIndex() != 0 || g.GetAddedAt() != 1 {
		t.Fatalf("record %v", g)
	}
	var gm contractsv1.GatekeeperMessage
	mqMessage(t, s, mq.TopicGatekeeper, 0, &gm)
	if a := gm.GetGatekeeperAdded(); !bytes.Equal(a.GetIdentity(), id1[:]) || !bytes.Equal(a.GetHpkePublicKey(), w1.hpkePub) {
		t.Fatalf("message 0: %v", &gm)
	}
	mqMessage(t, s, mq.TopicGatekeeper, 1, &gm)
	if r := gm.GetMasterKeyRequest(); r.GetEpoch() != 1 || !bytes.Equal(r.GetGenerator(), id1[:]) {
		t.Fatalf("message 1: %v", &gm)
	}
	if ep, pub := CurrentMasterEpoch(s); ep != 1 || pub {
		t.Fatalf("epoch %d published %v", ep, pub)
	}
	if _, ok := LatestPublishedEpoch(s); ok {
		t.Fatal("no epoch is published yet")
	}
	wantCode(t, "again", reg(id1[:]), CodeGatekeeperExists)
	wantCode(t, "rotate while pending", e.exec(e.sudo, &registryv1.MsgRotateMasterKey{}), CodeMasterKeyPending)

	// Publication: only the generator, only the pending epoch, valid keys.
	hk, sk := newXWingKey(t), bytes.Repeat([]byte{5}, 32)
	pubMsg := func(epoch uint64, h, s []byte) []byte {
		return enc(t, &contractsv1.MasterKeyPublication{Epoch: epoch, HpkePublicKey: h, SigningPublicKey: s})
	}
	egress := func(from [32]byte, topic string, payload []byte) error {
		ctx := e.ctx.WithStore(e.ctx.Store)
		err := e.m.HandleEgress(ctx, from, topic, payload)
		e.events = append(e.events, ctx.Events()...)
		return err
	}
	before = e.store().Clone()
	wantCode(t, "not the generator", egress(id2, TopicMasterKey, pubMsg(1, hk, sk)), CodeNotGenerator)
	wantCode(t, "epoch not requested", egress(id1, TopicMasterKey, pubMsg(2, hk, sk)), CodeMasterKeyNotPending)
	wantCode(t, "bad hpke key", egress(id1, TopicMasterKey, pubMsg(1, hk[:100], sk)), CodeInvalidMasterKey)
	wantCode(t, "bad signing key", egress(id1, TopicMasterKey, pubMsg(1, hk, sk[:31])), CodeInvalidMasterKey)
	wantCode(t, "garbage", egress(id1, TopicMasterKey, []byte{0xff}), types.CodeInvalidRequest)
	if !before.Equal(e.store()) {
		t.Fatal("refused publications changed state")
	}
	e.events = nil
	if err := egress(id1, TopicMasterKey, pubMsg(1, hk, sk)); err != nil {
		t.Fatal(err)
	}
	if len(e.events) != 1 || e.events[0].Type != "master_key_published" {
		t.Fatalf("events %v", e.events)
	}
	wantCode(t, "published twice", egress(id1, TopicMasterKey, pubMsg(1, hk, sk)), CodeMasterKeyNotPending)
	if ep, ok := LatestPublishedEpoch(s); !ok || ep != 1 {
		t.Fatalf("latest published %d %v", ep, ok)
	}
	if r := MasterKey(s, 1); !bytes.Equal(r.GetHpkePublicKey(), hk) || r.GetPublishedAt() != 1 {
		t.Fatalf("master key record %v", r)
	}

	// A second gatekeeper: announced, no new request.
	if err := reg(id2[:]); err != nil {
		t.Fatal(err)
	}
	if n := mq.NextSequence(s, mq.TopicGatekeeper); n != 3 {
		t.Fatalf("gatekeeper topic has %d messages, want 3", n)
	}
	if Gatekeeper(s, id2[:]).GetIndex() != 1 {
		t.Fatal("index")
	}

	// Handover: forwarded once to the recipient's worker topic.
	ho := func(to []byte, epoch uint64) []byte {
		return enc(t, &contractsv1.MasterKeyHandover{Recipient: to, LatestEpoch: epoch, Sealed: []byte("sealed")})
	}
	before = e.store().Clone()
	wantCode(t, "sender not a gatekeeper", egress(id3, TopicMasterKeyHandover, ho(id2[:], 1)), CodeNotGatekeeper)
	wantCode(t, "recipient not a gatekeeper", egress(id1, TopicMasterKeyHandover, ho(id3[:], 1)), CodeNotGatekeeper)
	wantCode(t, "unpublished epoch", egress(id1, TopicMasterKeyHandover, ho(id2[:], 2)), CodeUnknownMasterEpoch)
	wantCode(t, "to itself", egress(id1, TopicMasterKeyHandover, ho(id1[:], 1)), types.CodeInvalidRequest)
	if !before.Equal(e.store()) {
		t.Fatal("refused handovers changed state")
	}
	if err := egress(id1, TopicMasterKeyHandover, ho(id2[:], 1)); err != nil {
		t.Fatal(err)
	}
	var wm contractsv1.WorkerMessage
	mqMessage(t, s, mq.WorkerTopic(id2), 0, &wm)
	if d := wm.GetMasterKey(); d.GetLatestEpoch() != 1 || string(d.GetSealed()) != "sealed" || !bytes.Equal(d.GetFrom(), id1[:]) {
		t.Fatalf("delivery %v", &wm)
	}
	wantCode(t, "duplicate handover", egress(id1, TopicMasterKeyHandover, ho(id2[:], 1)), CodeHandoverDuplicate)

	// Rotation: the publisher of the latest epoch generates again.
	if err := e.exec(e.sudo, &registryv1.MsgRotateMasterKey{}); err != nil {
		t.Fatal(err)
	}
	if r := MasterKey(s, 2); !bytes.Equal(r.GetGenerator(), id1[:]) {
		t.Fatalf("epoch 2 generator %x", r.GetGenerator())
	}
	if ep, ok := LatestPublishedEpoch(s); !ok || ep != 1 {
		t.Fatalf("while epoch 2 is pending, epoch 1 stays current for new contracts: %d %v", ep, ok)
	}
	// Removing the pending generator re-asks the epoch of the next one.
	if err := e.exec(e.sudo, &registryv1.MsgRemoveGatekeeper{Identity: id1[:]}); err != nil {
		t.Fatal(err)
	}
	mqMessage(t, s, mq.TopicGatekeeper, 4, &gm)
	if !bytes.Equal(gm.GetGatekeeperRemoved().GetIdentity(), id1[:]) {
		t.Fatalf("message 4: %v", &gm)
	}
	mqMessage(t, s, mq.TopicGatekeeper, 5, &gm)
	if r := gm.GetMasterKeyRequest(); r.GetEpoch() != 2 || !bytes.Equal(r.GetGenerator(), id2[:]) {
		t.Fatalf("message 5: %v", &gm)
	}
	wantCode(t, "old generator publishes", egress(id1, TopicMasterKey, pubMsg(2, hk, sk)), CodeNotGenerator)
	wantCode(t, "last gatekeeper", e.exec(e.sudo, &registryv1.MsgRemoveGatekeeper{Identity: id2[:]}), CodeLastGatekeeper)
	if err := egress(id2, TopicMasterKey, pubMsg(2, newXWingKey(t), sk)); err != nil {
		t.Fatal(err)
	}
	if ep, pub := CurrentMasterEpoch(s); ep != 2 || !pub {
		t.Fatalf("epoch %d %v", ep, pub)
	}

	// Query.
	v, err := e.query("gatekeepers", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	var out struct {
		Gatekeepers []struct {
			Identity string `json:"identity"`
			Index    uint64 `json:"index"`
		} `json:"gatekeepers"`
		MasterKeys []struct {
			Epoch            uint64 `json:"epoch"`
			Generator        string `json:"generator"`
			PublishedAt      int64  `json:"published_at"`
			HPKEPublicKey    []byte `json:"hpke_public_key"`
			SigningPublicKey string `json:"signing_public_key"`
		} `json:"master_keys"`
		CurrentEpoch uint64 `json:"current_epoch"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Gatekeepers) != 1 || out.Gatekeepers[0].Identity != types.HexID(id2[:]) || out.Gatekeepers[0].Index != 1 ||
		len(out.MasterKeys) != 2 || out.CurrentEpoch != 2 || !bytes.Equal(out.MasterKeys[0].HPKEPublicKey, hk) ||
		out.MasterKeys[1].Generator != types.HexID(id2[:]) || out.MasterKeys[0].SigningPublicKey != types.HexID(sk) {
		t.Fatalf("query %s", b)
	}
}

func TestGatekeeperStaleAndNoQueue(t *testing.T) {
	e := gkEnv(t, 10)
	w := newSimWorker(t, DevWorkerMeasurement())
	if err := e.exec(e.oper, w.register(t, e.oper)); err != nil {
		t.Fatal(err)
	}
	e.advance(11)
	wantCode(t, "stale", e.exec(e.sudo, &registryv1.MsgRegisterGatekeeper{Identity: w.pub()}), CodeWorkerStale)

	e2 := newEnv(t, DevGenesis()) // no SetSender
	w2 := newSimWorker(t, DevWorkerMeasurement())
	if err := e2.exec(e2.oper, w2.register(t, e2.oper)); err != nil {
		t.Fatal(err)
	}
	wantCode(t, "no queue", e2.exec(e2.sudo, &registryv1.MsgRegisterGatekeeper{Identity: w2.pub()}), CodeNoMessageQueue)
}

// A pending epoch whose generator went stale is re-asked by rotation.
func TestRotateReplacesStaleGenerator(t *testing.T) {
	e := gkEnv(t, 10)
	w1 := newSimWorker(t, DevWorkerMeasurement())
	if err := e.exec(e.oper, w1.register(t, e.oper)); err != nil {
		t.Fatal(err)
	}
	if err := e.exec(e.sudo, &registryv1.MsgRegisterGatekeeper{Identity: w1.pub()}); err != nil {
		t.Fatal(err)
	}
	e.advance(5)
	w2 := newSimWorker(t, DevWorkerMeasurement())
	if err := e.exec(e.oper, w2.register(t, e.oper)); err != nil {
		t.Fatal(err)
	}
	if err := e.exec(e.sudo, &registryv1.MsgRegisterGatekeeper{Identity: w2.pub()}); err != nil {
		t.Fatal(err)
	}
	e.advance(11) // w1 stale, w2 valid until 15
	if err := e.exec(e.sudo, &registryv1.MsgRotateMasterKey{}); err != nil {
		t.Fatal(err)
	}
	if ep, _ := CurrentMasterEpoch(e.ctx.Store); ep != 1 || !bytes.Equal(MasterKey(e.ctx.Store, 1).GetGenerator(), w2.pub()) {
		t.Fatalf("epoch %d generator %x", ep, MasterKey(e.ctx.Store, 1).GetGenerator())
	}
}

// TestSyncReportKeepsKnownFieldsOnly: a worker cannot park arbitrary
// bytes in state through unknown fields of its sync report.
func TestSyncReportKeepsKnownFieldsOnly(t *testing.T) {
	e := gkEnv(t, 10)
	w := newSimWorker(t, DevWorkerMeasurement())
	if err := e.exec(e.oper, w.register(t, e.oper)); err != nil {
		t.Fatal(err)
	}
	e.advance(3)
	payload := protowire.AppendVarint(protowire.AppendTag(enc(t, &registryv1.SyncReport{SyncedHeight: 2}), 99, protowire.BytesType), 4)
	payload = append(payload, "junk"...)
	if err := e.m.HandleEgress(e.ctx, [32]byte(w.pub()), TopicSynced, payload); err != nil {
		t.Fatal(err)
	}
	got := WorkerSynced(e.ctx.Store, w.pub())
	if got.GetReport().GetSyncedHeight() != 2 || len(got.GetReport().ProtoReflect().GetUnknown()) != 0 {
		t.Fatalf("stored report %v with unknown fields %x", got.GetReport(), got.GetReport().ProtoReflect().GetUnknown())
	}
}
