package worker

import (
	"bytes"
	"crypto/sha256"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/store"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/worker/lightclient/lctest"
)

// provenTopic commits n messages of topic to a fresh IAVL state, gives w
// a trust root whose validators sign two headers, the second committing
// that state's root, and verifies them: the worker can then check the
// returned proven messages (at the returned version) exactly as it
// checks a node's.
func provenTopic(t *testing.T, w *Worker, topic string, n int) (int64, []*workerv1.ProvenMessage) {
	t.Helper()
	tree, err := store.Open(t.TempDir(), store.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer tree.Close()
	ws := tree.Working()
	for seq := range n {
		m, err := proto.MarshalOptions{Deterministic: true}.Marshal(&mqv1.Message{Topic: topic, Sequence: uint64(seq),
			Origin: moduleOrigin, Payload: []byte("a contract log entry"), Height: 1})
		if err != nil {
			t.Fatal(err)
		}
		ws.Set(mq.MessageKey(topic, uint64(seq)), m)
	}
	root, v, err := tree.Commit()
	if err != nil {
		t.Fatal(err)
	}
	var out []*workerv1.ProvenMessage
	for seq := range n {
		p, err := tree.GetProven(mq.MessageKey(topic, uint64(seq)), v, true)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := p.Proof.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &workerv1.ProvenMessage{Sequence: uint64(seq), Message: p.Value, Proof: pb})
	}

	c := lctest.New("subscription-chain", 4)
	gh := bytes.Repeat([]byte{9}, 32)
	if err := w.bind(c.ChainID, gh); err != nil {
		t.Fatal(err)
	}
	vsp, _ := c.Validators.ToProto()
	vsb, _ := vsp.Marshal()
	if _, err := w.sync.initTrustRoot(&workerv1.InitTrustRootRequest{Root: &workerv1.InitTrustRootRequest_Explicit{Explicit: &workerv1.TrustRoot{
		ChainId: c.ChainID, GenesisHash: gh, InitialHeight: v, ValidatorSet: vsb}}}); err != nil {
		t.Fatal(err)
	}
	// Header v+1 carries the app hash of the state after block v.
	for h := v; h <= v+1; h++ {
		var app []byte
		if h == v+1 {
			app = root
		}
		if err := w.sync.lc.Update(c.Block(t, h, app)); err != nil {
			t.Fatal(err)
		}
	}
	return v, out
}

// TestDispatchNotSubscribedIsNotAProofFailure: a followed contract the
// executor cannot run stops being followed while its first message is
// processed; the call's next message of that topic, with a valid proof,
// is refused as not_subscribed — counted under that reason, not as a
// proof failure — and a topic never followed is refused the same way.
func TestDispatchNotSubscribedIsNotAProofFailure(t *testing.T) {
	w, _ := newTestWorker(t, t.TempDir(), nil)
	defer w.Close()
	id := sha256.Sum256([]byte("a contract without its key"))
	topic := mq.ContractTopic(id)
	version, msgs := provenTopic(t, w, topic, 3)
	// Followed, but the executor has no key for it: the state of a
	// contract that was followed and then cannot run.
	if err := w.sync.inbox.Subscribe(topic, 0); err != nil {
		t.Fatal(err)
	}
	req := &workerv1.DispatchMessagesRequest{Version: version, Topics: []*workerv1.TopicMessages{{Topic: topic, Messages: msgs}}}
	resp, err := w.sync.dispatch(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAccepted() != 1 || resp.GetRefusalReason() != ReasonNotSubscribed || resp.GetRefusedTopic() != topic || resp.GetRefusedSequence() != 1 {
		t.Fatalf("accepted %d, refused %s/%d (%s): %s", resp.GetAccepted(), resp.GetRefusedTopic(), resp.GetRefusedSequence(),
			resp.GetRefusalReason(), resp.GetRefusal())
	}
	if _, ok := w.sync.inbox.Next(topic); ok {
		t.Fatal("the contract the executor cannot run is still followed")
	}
	for _, tp := range resp.GetTopics() {
		if tp.GetTopic() == topic {
			t.Fatalf("the response still lists %s as followed", topic)
		}
	}
	if n := metricValue(t, w, "veil_worker_messages_processed_total", "topic", "contract", "outcome", "not_ready"); n != 1 {
		t.Fatalf("%v contract messages processed as not_ready, want 1", n)
	}
	// The relayer, not yet aware, sends the rest again.
	req.Topics[0].Messages = msgs[1:]
	resp, err = w.sync.dispatch(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAccepted() != 0 || resp.GetRefusalReason() != ReasonNotSubscribed || resp.GetRefusedSequence() != 0 {
		t.Fatalf("resent: accepted %d, refused %d (%s)", resp.GetAccepted(), resp.GetRefusedSequence(), resp.GetRefusalReason())
	}
	for reason, want := range map[string]float64{ReasonNotSubscribed: 2, ReasonProof: 0, ReasonSequence: 0, ReasonMalformed: 0} {
		if got := metricValue(t, w, "veil_worker_refusals_total", "input", "message", "reason", reason); got != want {
			t.Errorf("refusals_total{input=message,reason=%s} = %v, want %v", reason, got, want)
		}
	}
	if st := w.Info().GetSync(); !bytes.Contains([]byte(st.GetLastRefusal()), []byte("message "+ReasonNotSubscribed)) {
		t.Errorf("last refusal %q", st.GetLastRefusal())
	}
}
