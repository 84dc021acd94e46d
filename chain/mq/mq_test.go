package mq

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	"github.com/veil-network/veil/internal/fifoset"
)

type fakeRegistry map[[32]byte]bool

func (f fakeRegistry) AuthorizeEgress(_ *types.Context, id [32]byte) error {
	if !f[id] {
		return types.Errf(CodeUnknownSender, "worker %x is not registered", id)
	}
	return nil
}

type recorder struct{ got []string }

func (r *recorder) HandleEgress(_ *types.Context, _ [32]byte, topic string, payload []byte) error {
	if string(payload) == "fail" {
		return errors.New("handler refused")
	}
	r.got = append(r.got, topic+":"+string(payload))
	return nil
}

func setup(t *testing.T) (*Module, *types.Context, *types.Router, *recorder) {
	m := New()
	ctx := &types.Context{Store: store.NewMemory(), SS58Prefix: 42, Height: 7}
	if err := m.InitGenesis(ctx, m.DefaultGenesis()); err != nil {
		t.Fatal(err)
	}
	r := types.NewRouter()
	m.RegisterMessages(r)
	rec := &recorder{}
	m.HandleEgress("system", rec)
	return m, ctx, r, rec
}

func exec(t *testing.T, r *types.Router, ctx *types.Context, sender types.AccountID, msg proto.Message) error {
	t.Helper()
	a, err := types.PackMsg(msg)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := r.Decode(a)
	if err != nil {
		t.Fatal(err)
	}
	return dm.Execute(ctx, sender)
}

func TestIngressSequencesAndKeys(t *testing.T) {
	m, ctx, r, _ := setup(t)
	alice := types.AccountID{1}
	for i := 0; i < 3; i++ {
		if err := exec(t, r, ctx, alice, &mqv1.MsgPushMessage{Topic: "app/ab", Payload: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Send(ctx, &mqv1.Origin{Kind: &mqv1.Origin_Module{Module: "registry"}}, "worker/01", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if NextSequence(ctx.Store, "app/ab") != 3 || NextSequence(ctx.Store, "worker/01") != 1 {
		t.Fatal("sequences")
	}
	var msg mqv1.Message
	if err := proto.Unmarshal(ctx.Store.Get(MessageKey("app/ab", 2)), &msg); err != nil {
		t.Fatal(err)
	}
	if msg.GetSequence() != 2 || msg.GetPayload()[0] != 2 || msg.GetHeight() != 7 || string(msg.GetOrigin().GetAccount()) != string(alice[:]) {
		t.Fatalf("stored %v", &msg)
	}
	// Topics never share key prefixes ("a" vs "a/b" are length-prefixed).
	if string(MessageKey("a", 0)[:len(MessageKey("a", 0))-9]) == string(MessageKey("a/b", 0)[:len(MessageKey("a", 0))-9]) {
		t.Fatal("topic keys collide")
	}
}

func TestIngressBadInput(t *testing.T) {
	_, ctx, r, _ := setup(t)
	alice := types.AccountID{1}
	for name, tc := range map[string]struct {
		msg  *mqv1.MsgPushMessage
		code types.Code
	}{
		"empty topic":    {&mqv1.MsgPushMessage{Topic: ""}, CodeInvalidTopic},
		"bad character":  {&mqv1.MsgPushMessage{Topic: "Contract/X"}, CodeInvalidTopic},
		"empty segment":  {&mqv1.MsgPushMessage{Topic: "a//b"}, CodeInvalidTopic},
		"reserved":       {&mqv1.MsgPushMessage{Topic: "system"}, CodeReservedTopic},
		"reserved below": {&mqv1.MsgPushMessage{Topic: "gatekeeper/x"}, CodeReservedTopic},
		"contract topic": {&mqv1.MsgPushMessage{Topic: "contract/00"}, CodeReservedTopic},
		"a contract's":   {&mqv1.MsgPushMessage{Topic: ContractTopic([32]byte{0xab})}, CodeReservedTopic},
		"too large":      {&mqv1.MsgPushMessage{Topic: "a", Payload: make([]byte, 64<<10+1)}, CodePayloadTooLarge},
	} {
		if err := exec(t, r, ctx, alice, tc.msg); types.CodeOf(err) != tc.code {
			t.Errorf("%s: %v, want %s", name, err, tc.code)
		}
	}
	if ctx.Store.(*store.Memory).Len() != 1 { // only the params
		t.Fatal("rejected pushes changed state")
	}
	if got, want := ContractTopic([32]byte{0xab, 0x01}), "contract/ab01"+strings.Repeat("00", 30); got != want {
		t.Fatalf("ContractTopic = %q, want %q", got, want)
	}
}

func signEgress(t *testing.T, priv ed25519.PrivateKey, seq uint64, topic, payload string) *mqv1.MsgSyncEgress {
	b, err := proto.Marshal(&mqv1.EgressMessage{Sender: priv.Public().(ed25519.PublicKey), Sequence: seq, Topic: topic, Payload: []byte(payload)})
	if err != nil {
		t.Fatal(err)
	}
	return &mqv1.MsgSyncEgress{Message: b, Signature: ed25519.Sign(priv, SignEgressBytes(b))}
}

func TestEgressExactlyOnceInOrder(t *testing.T) {
	m, ctx, r, rec := setup(t)
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	id := [32]byte(priv.Public().(ed25519.PublicKey))
	relayer := types.AccountID{9}

	// Fail closed before a registry is installed.
	if err := exec(t, r, ctx, relayer, signEgress(t, priv, 0, "system", "x")); types.CodeOf(err) != CodeUnknownSender {
		t.Fatalf("no registry: %v", err)
	}
	m.SetEgressSenders(fakeRegistry{id: true})

	if err := exec(t, r, ctx, relayer, signEgress(t, priv, 1, "system", "gap")); types.CodeOf(err) != CodeEgressGap {
		t.Fatalf("gap: %v", err)
	}
	if err := exec(t, r, ctx, relayer, signEgress(t, priv, 0, "system", "first")); err != nil {
		t.Fatal(err)
	}
	if err := exec(t, r, ctx, relayer, signEgress(t, priv, 0, "system", "first")); types.CodeOf(err) != CodeEgressDuplicate {
		t.Fatalf("replay: %v", err)
	}
	if err := exec(t, r, ctx, relayer, signEgress(t, priv, 1, "system/heartbeat", "second")); err != nil {
		t.Fatal(err)
	}
	if err := exec(t, r, ctx, relayer, signEgress(t, priv, 2, "contracts", "x")); types.CodeOf(err) != CodeNoEgressHandler {
		t.Fatalf("unrouted topic: %v", err)
	}
	// A refusal by the destination consumes the sequence (no blocked queue).
	if err := exec(t, r, ctx, relayer, signEgress(t, priv, 2, "system", "fail")); err != nil {
		t.Fatalf("refused egress must still be processed: %v", err)
	}
	bad := signEgress(t, priv, 2, "system", "x")
	bad.Signature[0] ^= 1
	if err := exec(t, r, ctx, relayer, bad); types.CodeOf(err) != CodeEgressSignature {
		t.Fatalf("bad signature: %v", err)
	}
	other := ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	if err := exec(t, r, ctx, relayer, signEgress(t, other, 0, "system", "x")); types.CodeOf(err) != CodeUnknownSender {
		t.Fatalf("unregistered signer: %v", err)
	}
	if err := exec(t, r, ctx, relayer, &mqv1.MsgSyncEgress{Message: []byte{0xff}, Signature: make([]byte, 64)}); types.CodeOf(err) != CodeMalformedEgress {
		t.Fatalf("garbage: %v", err)
	}
	if len(rec.got) != 2 || rec.got[0] != "system:first" || rec.got[1] != "system/heartbeat:second" {
		t.Fatalf("delivered %v", rec.got)
	}
	if NextEgressSequence(ctx.Store, id) != 3 {
		t.Fatal("egress sequence")
	}
}

// FuzzEgressDecode: arbitrary bytes never panic the egress decoder and are
// never accepted without a valid signature; the decoding the handler uses,
// with the verified-egress memory, answers exactly as DecodeEgress does,
// the first time and again.
func FuzzEgressDecode(f *testing.F) {
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	good := signEgress(&testing.T{}, priv, 0, "system", "x")
	f.Add(good.Message, good.Signature)
	f.Add([]byte{}, []byte{})
	bad := append([]byte{}, good.Signature...)
	bad[0] ^= 1
	f.Add(good.Message, bad)
	seen := fifoset.New(64)
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		em, sender, err := DecodeEgress(msg, sig)
		for range 2 {
			em2, sender2, err2 := decodeEgress(msg, sig, seen)
			if sender2 != sender || (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) ||
				types.CodeOf(err) != types.CodeOf(err2) || (em == nil) != (em2 == nil) || (em != nil && !proto.Equal(em, em2)) {
				t.Fatalf("with the memory: %v %x, without: %v %x", err2, sender2, err, sender)
			}
		}
		if err != nil {
			return
		}
		if !ed25519.Verify(ed25519.PublicKey(sender[:]), SignEgressBytes(msg), sig) || em == nil {
			t.Fatal("accepted without a valid signature")
		}
	})
}

// TestGenesisRefusesUnknownFields: a misspelt parameter is an error, not
// a silent default; a non-positive payload bound is refused.
func TestGenesisRefusesUnknownFields(t *testing.T) {
	m := New()
	if err := m.ValidateGenesis(m.DefaultGenesis(), 42); err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{`{"params":{"max_payload_byte":1}}`, `{"params":{"max_payload_bytes":0}}`} {
		if err := m.ValidateGenesis([]byte(g), 42); err == nil {
			t.Fatalf("%s accepted", g)
		}
	}
}

// TestEgressVerdictsWithVerifiedCache: the verified-egress memory changes
// no outcome. A pair is remembered only once its signature verified; the
// same message under another signature, a bad signature seen twice and
// a replay of an accepted message all get the codes they get without it.
func TestEgressVerdictsWithVerifiedCache(t *testing.T) {
	m, ctx, r, rec := setup(t)
	priv := ed25519.NewKeyFromSeed(make([]byte, 32))
	m.SetEgressSenders(fakeRegistry{[32]byte(priv.Public().(ed25519.PublicKey)): true})
	relayer := types.AccountID{9}

	good := signEgress(t, priv, 0, "system", "first")
	bad := signEgress(t, priv, 0, "system", "first")
	bad.Signature = append([]byte{}, bad.Signature...)
	bad.Signature[63] ^= 0x40
	for range 2 {
		if err := exec(t, r, ctx, relayer, bad); types.CodeOf(err) != CodeEgressSignature {
			t.Fatalf("bad signature: %v", err)
		}
	}
	if m.verified.Has(egressKey(bad.Message, bad.Signature)) {
		t.Fatal("a signature that failed was remembered")
	}
	// What a re-check does: the same transaction on a state that has not
	// accepted it yet (a fresh cache over the same store each time).
	for i := range 3 {
		sub := ctx.WithStore(store.NewCache(ctx.Store))
		if err := exec(t, r, sub, relayer, good); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		if !m.verified.Has(egressKey(good.Message, good.Signature)) {
			t.Fatalf("run %d: a verified pair was not remembered", i)
		}
	}
	// The remembered message under a tampered signature is still refused.
	if err := exec(t, r, ctx, relayer, bad); types.CodeOf(err) != CodeEgressSignature {
		t.Fatalf("bad signature after the good one: %v", err)
	}
	if err := exec(t, r, ctx, relayer, good); err != nil {
		t.Fatal(err)
	}
	if err := exec(t, r, ctx, relayer, good); types.CodeOf(err) != CodeEgressDuplicate {
		t.Fatalf("replay: %v", err)
	}
	if len(rec.got) != 4 { // three re-checks and the accepted run
		t.Fatalf("delivered %v", rec.got)
	}
	// Wrong signature length: refused before the memory is consulted.
	short := &mqv1.MsgSyncEgress{Message: good.Message, Signature: good.Signature[:63]}
	if err := exec(t, r, ctx, relayer, short); types.CodeOf(err) != CodeEgressSignature {
		t.Fatalf("short signature: %v", err)
	}
}

// messagesPage is the "messages" query answer as a client reads it.
type messagesPage struct {
	Topic        string `json:"topic"`
	NextSequence uint64 `json:"next_sequence"`
	Next         uint64 `json:"next"`
	More         bool   `json:"more"`
	Messages     []struct {
		Sequence uint64 `json:"sequence"`
		Payload  []byte `json:"payload"`
	} `json:"messages"`
}

func queryPage(t *testing.T, m *Module, ctx *types.Context, args string) (messagesPage, int) {
	t.Helper()
	v, err := m.Query(ctx, "messages", []byte(args))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v) // what QueryModule sends
	if err != nil {
		t.Fatal(err)
	}
	var p messagesPage
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	return p, len(b)
}

// TestMessagesQueryByteBudget: a topic of maximum-size messages is paged
// by bytes, not only by count: each answer holds at most
// MessagesQueryBytes of messages (and stays under gRPC's 4 MiB default),
// "next"/"more" lead through every message exactly once, in order.
func TestMessagesQueryByteBudget(t *testing.T) {
	m, ctx, _, _ := setup(t)
	const n = 40
	max := m.Params(ctx.Store).MaxPayloadBytes
	origin := ModuleOrigin("test")
	for i := range n {
		if _, err := m.Send(ctx, origin, "big", bytes.Repeat([]byte{byte(i)}, max)); err != nil {
			t.Fatal(err)
		}
	}
	var seen []uint64
	from, pages := uint64(0), 0
	for {
		p, size := queryPage(t, m, ctx, fmt.Sprintf(`{"topic":"big","from":%d,"limit":1000}`, from))
		pages++
		if size >= 4<<20 {
			t.Fatalf("page %d is %d bytes of JSON", pages, size)
		}
		stored := 0
		for _, msg := range p.Messages {
			if len(msg.Payload) != max || msg.Payload[0] != byte(msg.Sequence) {
				t.Fatalf("message %d: %d bytes", msg.Sequence, len(msg.Payload))
			}
			seen = append(seen, msg.Sequence)
			stored += len(ctx.Store.Get(MessageKey("big", msg.Sequence)))
		}
		if stored > MessagesQueryBytes {
			t.Fatalf("page %d holds %d stored bytes, budget %d", pages, stored, MessagesQueryBytes)
		}
		if p.NextSequence != n || p.Next != from+uint64(len(p.Messages)) || p.More != (p.Next < n) {
			t.Fatalf("page %d: next %d, more %v, next_sequence %d after %d messages from %d", pages, p.Next, p.More, p.NextSequence, len(p.Messages), from)
		}
		if !p.More {
			break
		}
		from = p.Next
	}
	if pages < 2 || len(seen) != n {
		t.Fatalf("%d pages, %d messages", pages, len(seen))
	}
	for i, s := range seen {
		if s != uint64(i) {
			t.Fatalf("message %d came as %d", i, s)
		}
	}
	// The count limit still applies, and says there is more.
	if p, _ := queryPage(t, m, ctx, `{"topic":"big","from":3,"limit":2}`); len(p.Messages) != 2 || p.Next != 5 || !p.More {
		t.Fatalf("limit 2: %d messages, next %d, more %v", len(p.Messages), p.Next, p.More)
	}
	// Past the end: nothing, nothing more.
	if p, _ := queryPage(t, m, ctx, `{"topic":"big","from":99}`); len(p.Messages) != 0 || p.More || p.Next != 99 {
		t.Fatalf("past the end: %+v", p)
	}
}

// TestMessagesQueryOversizedMessageProgresses: a message larger than the
// whole budget (possible if governance raises max_payload_bytes) comes
// alone on its page instead of blocking the topic.
func TestMessagesQueryOversizedMessageProgresses(t *testing.T) {
	m, ctx, _, _ := setup(t)
	origin := ModuleOrigin("test")
	for _, size := range []int{10, 5000, 5000, 10} {
		if _, err := m.Send(ctx, origin, "t", make([]byte, size)); err != nil {
			t.Fatal(err)
		}
	}
	const budget = 1000
	var sizes [][]int
	for from := uint64(0); ; {
		p := queryMessages(ctx, "t", from, 100, budget)
		var page []int
		for _, msg := range p["messages"].([]map[string]any) {
			page = append(page, len(msg["payload"].([]byte)))
		}
		sizes = append(sizes, page)
		if !p["more"].(bool) {
			break
		}
		from = p["next"].(uint64)
	}
	if fmt.Sprint(sizes) != "[[10] [5000] [5000] [10]]" {
		t.Fatalf("pages %v", sizes)
	}
}
