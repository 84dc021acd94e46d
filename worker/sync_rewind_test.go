package worker

import (
	"crypto/sha256"
	"testing"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keyderiv"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
)

// TestDispatchRewindsTopicsAheadOfExecutor: when the executor's write of
// a dispatch call fails, it rolls the call's contracts back to their last
// durable position while the inbox has accepted their messages. The end
// of the call (of any call) moves such a topic back to the executor's
// position, reports that position to the relayer and seals it, so the
// relayer sends the lost messages again at once rather than after the
// contract's log grows. Topics of contracts the executor does not hold,
// and the worker's own, are left alone.
func TestDispatchRewindsTopicsAheadOfExecutor(t *testing.T) {
	w, _ := newTestWorker(t, t.TempDir(), nil)
	defer w.Close()
	withTrustRoot(t, w)
	// A contract the executor holds (its key; code is not needed): its
	// next sequence is 0.
	id := sha256.Sum256([]byte("a contract"))
	master, _ := keyderiv.NewMaster([32]byte{42})
	sec, _ := master.ContractSecrets(id)
	self := [32]byte(w.Identity())
	sealed, err := envelope.SealContractSecrets(w.keys.HPKE.PublicKey(), self, id, 1, sec)
	if err != nil {
		t.Fatal(err)
	}
	hash := sha256.Sum256([]byte("its code"))
	wt := mq.WorkerTopic(self)
	feed(t, w, wt, 0, moduleOrigin, mustProto(t, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_ContractKey{ContractKey: &contractsv1.ContractKeyDelivery{
		ContractId: id[:], Epoch: 1, CodeHash: hash[:], Sealed: sealed}}}))
	if next, ok := w.exec.Next(id); !ok || next != 0 {
		t.Fatalf("executor at %d (%v)", next, ok)
	}
	ct := mq.ContractTopic(id)
	unknown := mq.ContractTopic(sha256.Sum256([]byte("a contract without its key")))
	// What a rolled-back write leaves: the inbox accepted seven messages
	// of ct that the executor no longer holds.
	w.sync.mu.Lock()
	w.sync.setPosition(ct, 7, false)
	w.sync.setPosition(unknown, 4, false)
	w.sync.setPosition(wt, 9, false)
	w.sync.mu.Unlock()

	// Any call ends the same way; this one names a height the worker has
	// not verified and is refused at once.
	resp, err := w.sync.dispatch(&workerv1.DispatchMessagesRequest{Version: 1000})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{ct: 0, unknown: 4, wt: 9}
	check := func(when string, pos map[string]uint64) {
		t.Helper()
		for topic, n := range want {
			if got, ok := pos[topic]; !ok || got != n {
				t.Errorf("%s: %s at %d (followed: %v), want %d", when, topic, got, ok, n)
			}
		}
	}
	check("inbox", w.sync.inbox.Positions())
	reported := map[string]uint64{}
	for _, tp := range resp.GetTopics() {
		reported[tp.GetTopic()] = tp.GetNextSequence()
	}
	check("reported to the relayer", reported)

	// The rewind is sealed in the checkpoint.
	cp, err := w.sync.store.load()
	if err != nil || cp == nil {
		t.Fatalf("checkpoint: %v", err)
	}
	check("in the checkpoint", cp.Positions)
}
