package registry_test

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/chaintest"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// egress signs an egress message as worker key id would.
var egress = chaintest.SignEgress

func report(t *testing.T, h int64) []byte {
	b, err := proto.Marshal(&registryv1.SyncReport{SyncedHeight: h})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEgressAuthorityThroughTheApp: egress is admitted only from a
// registered, non-stale worker, exactly at its next sequence, with a valid
// signature; every refusal happens in CheckTx and costs the submitter
// nothing; the registry records sync reports; and a transaction that lost
// an egress race is evicted from the mempool on recheck instead of
// reaching a block.
func TestEgressAuthorityThroughTheApp(t *testing.T) {
	const validity = 30
	c := newChain(t, time.Unix(1_750_000_000, 0).UTC(), func(g app.GenesisState) {
		var rg registry.Genesis
		if err := json.Unmarshal(g[registry.Name], &rg); err != nil {
			t.Fatal(err)
		}
		rg.Params.AttestationValidityBlocks = validity
		g[registry.Name], _ = json.Marshal(rg)
	})
	alice, bob, charlie := signer(t, "//Alice"), signer(t, "//Bob"), signer(t, "//Charlie")
	op := types.AccountID(alice.Public().Key)
	w := newWorker(t)
	reg := c.tx(alice, w.registration(t, c, op, "", nil, nil))
	if r := c.finalize(reg); r.TxResults[0].Code != 0 {
		t.Fatalf("registration: %s", r.TxResults[0].Log)
	}
	c.commit()

	expect := func(name string, raw []byte, sender types.AccountID, code types.Code) {
		t.Helper()
		before := c.app.Tree().Hash()
		r := c.check(raw)
		if r.Code != uint32(code) {
			t.Fatalf("%s: CheckTx code %d (%s), want %d", name, r.Code, r.Log, code)
		}
		if code != 0 {
			c.nonce[sender]-- // refused: nonce unused, no fee
			if string(c.app.Tree().Hash()) != string(before) {
				t.Fatalf("%s: state changed", name)
			}
		}
	}
	bobID, charlieID := types.AccountID(bob.Public().Key), types.AccountID(charlie.Public().Key)

	// Signed by a key the registry does not know.
	stranger := newWorker(t)
	expect("unregistered", c.tx(bob, egress(t, stranger.Key, 0, registry.TopicSynced, report(t, 1))), bobID, registry.CodeWorkerNotRegistered)
	// A gap: sequence 1 before 0.
	expect("gap", c.tx(bob, egress(t, w.Key, 1, registry.TopicSynced, report(t, 1))), bobID, mq.CodeEgressGap)
	// A forged signature.
	forged := egress(t, w.Key, 0, registry.TopicSynced, report(t, 1))
	forged.Signature[0] ^= 1
	expect("bad signature", c.tx(bob, forged), bobID, mq.CodeEgressSignature)

	// The genuine message: accepted and recorded.
	good := c.tx(bob, egress(t, w.Key, 0, registry.TopicSynced, report(t, 2)))
	expect("good", good, bobID, 0)
	// While it is pending, another relayer's copy is refused by the
	// mempool's view.
	expect("pending duplicate", c.tx(charlie, egress(t, w.Key, 0, registry.TopicSynced, report(t, 2))), charlieID, mq.CodeEgressDuplicate)
	r := c.finalize(good)
	c.commit()
	if r.TxResults[0].Code != 0 {
		t.Fatalf("good egress in block: %s", r.TxResults[0].Log)
	}
	synced := false
	for _, ev := range r.TxResults[0].Events {
		if ev.Type == "worker_synced" {
			synced = true
		}
	}
	if !synced {
		t.Fatalf("no worker_synced event: %v", r.TxResults[0].Events)
	}
	b, _, err := c.app.QueryModule(registry.Name, "worker", []byte(`{"identity":"`+registryHex(w)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var v registry.WorkerView
	if err := json.Unmarshal(b, &v); err != nil || v.SyncedHeight != 2 || v.SyncReportedAt != c.height {
		t.Fatalf("worker view %s %v", b, err)
	}
	// Replayed after acceptance.
	expect("replay", c.tx(charlie, egress(t, w.Key, 0, registry.TopicSynced, report(t, 2))), charlieID, mq.CodeEgressDuplicate)

	// The race between nodes: this node's mempool holds Bob's copy of
	// egress 1 when a block from another node commits Charlie's copy. On
	// recheck, Bob's is evicted (not left to fail in a block and pay).
	mine := c.tx(bob, egress(t, w.Key, 1, registry.TopicSynced, report(t, 3)))
	expect("mine", mine, bobID, 0)
	theirs := c.tx(charlie, egress(t, w.Key, 1, registry.TopicSynced, report(t, 3)))
	if r := c.finalize(theirs); r.TxResults[0].Code != 0 {
		t.Fatalf("their egress: %s", r.TxResults[0].Log)
	}
	c.commit()
	rc, err := c.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: mine, Type: abci.CheckTxType_Recheck})
	if err != nil || rc.Code != uint32(mq.CodeEgressDuplicate) {
		t.Fatalf("recheck of the losing copy: %v code %d %s", err, rc.GetCode(), rc.GetLog())
	}
	c.nonce[bobID]--
	// A pending egress that is still valid survives recheck and keeps its
	// effect in the mempool's view (the next sequence is admitted).
	next := c.tx(bob, egress(t, w.Key, 2, registry.TopicSynced, report(t, 3)))
	expect("next", next, bobID, 0)
	c.finalize()
	c.commit()
	if rc, _ := c.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: next, Type: abci.CheckTxType_Recheck}); rc.Code != 0 {
		t.Fatalf("recheck of a valid egress: %s", rc.Log)
	}
	after := c.tx(charlie, egress(t, w.Key, 3, registry.TopicSynced, report(t, 3)))
	expect("after recheck", after, charlieID, 0)

	// Egress the registry refuses still consumes its sequence (the
	// worker's later messages are not blocked) and changes nothing else.
	bad := c.tx(bob, egress(t, w.Key, 4, registry.Name+"/nonsense", nil))
	future := c.tx(bob, egress(t, w.Key, 5, registry.TopicSynced, report(t, 1_000_000)))
	r = c.finalize(next, after)
	c.commit()
	for i, tr := range r.TxResults {
		if tr.Code != 0 {
			t.Fatalf("tx %d: %s", i, tr.Log)
		}
	}
	r = c.finalize(bad, future)
	c.commit()
	for i, tr := range r.TxResults {
		if tr.Code != 0 {
			t.Fatalf("refused-by-handler tx %d: code %d %s", i, tr.Code, tr.Log)
		}
		status := ""
		for _, ev := range tr.Events {
			for _, a := range ev.Attributes {
				if ev.Type == "mq_egress" && a.Key == "status" {
					status = a.Value
				}
			}
		}
		if len(status) < 8 || status[:8] != "refused:" {
			t.Fatalf("tx %d egress status %q", i, status)
		}
	}
	if got := mq.NextEgressSequence(c.app.Tree().Committed(), w.ID()); got != 6 {
		t.Fatalf("egress sequence %d, want 6", got)
	}

	// Stale: after expires_at the worker's egress waits for re-attestation.
	for c.height < validity+3 {
		c.finalize()
		c.commit()
	}
	expect("stale", c.tx(bob, egress(t, w.Key, 6, registry.TopicSynced, report(t, 3))), bobID, registry.CodeWorkerStale)
}

func registryHex(w *worker) string { return hex.EncodeToString(w.Key.Public().(ed25519.PublicKey)) }
