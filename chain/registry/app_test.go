package registry_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/chaintest"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keys"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
	txv1 "github.com/veil-network/veil/gen/veil/tx/v1"
)

const chainID = "veil-registry-app"

// chain is a whole application driven block by block without a node, to
// run registrations through CheckTx and FinalizeBlock exactly as a node
// does.
type chain struct {
	tb     testing.TB
	app    *app.App
	height int64
	now    time.Time
	nonce  map[types.AccountID]uint64
}

func newChain(tb testing.TB, start time.Time, mutate func(app.GenesisState)) *chain {
	tb.Helper()
	a, err := app.New(app.Config{DataDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close() })
	g := app.DefaultGenesis(a.Modules())
	if mutate != nil {
		mutate(g)
	}
	st, _ := json.Marshal(g)
	if _, err := a.InitChain(context.Background(), &abci.RequestInitChain{ChainId: chainID, AppStateBytes: st, InitialHeight: 1, Time: start}); err != nil {
		tb.Fatal(err)
	}
	c := &chain{tb: tb, app: a, now: start, nonce: map[types.AccountID]uint64{}}
	c.finalize()
	c.commit()
	return c
}

func (c *chain) finalize(txs ...[]byte) *abci.ResponseFinalizeBlock {
	c.tb.Helper()
	c.height++
	c.now = c.now.Add(time.Second)
	r, err := c.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: c.height, Time: c.now, Txs: txs})
	if err != nil {
		c.tb.Fatal(err)
	}
	return r
}

func (c *chain) commit() {
	if _, err := c.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		c.tb.Fatal(err)
	}
}

func (c *chain) check(raw []byte) *abci.ResponseCheckTx {
	c.tb.Helper()
	r, err := c.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
	if err != nil {
		c.tb.Fatal(err)
	}
	return r
}

// tx signs msg from s with a generous fee and the next nonce.
func (c *chain) tx(s keys.Signer, msg proto.Message) []byte {
	c.tb.Helper()
	a, err := types.PackMsg(msg)
	if err != nil {
		c.tb.Fatal(err)
	}
	pub := s.Public()
	id := types.AccountID(pub.Key)
	raw, err := auth.Encode(&txv1.TxBody{ChainId: chainID, Sender: pub.Key[:], Nonce: c.nonce[id], Fee: "100000000000000",
		ExpiryHeight: uint64(c.height) + 100, Messages: []*anypb.Any{a}}, s)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.nonce[id]++
	return raw
}

var (
	signer     = chaintest.Signer
	readShared = registry.ReadShared
)

// worker is a simulated worker.
type worker struct{ *chaintest.Worker }

func newWorker(tb testing.TB) *worker {
	w := chaintest.RandomWorker(tb)
	w.Version = "bench"
	return &worker{w}
}

// registration builds MsgRegisterWorker for operator. With quote set, that
// evidence (of kind) replaces the simulated one.
func (w *worker) registration(tb testing.TB, c *chain, operator types.AccountID, kind attest.Kind, quote, collateral []byte) *registryv1.MsgRegisterWorker {
	tb.Helper()
	msg := w.Registration(tb, chainID, c.app.GenesisHash(), operator)
	if quote != nil {
		msg.WorkerInfo.TeeKind = string(kind)
		msg.Evidence = &registryv1.Evidence{Kind: string(kind), Quote: quote}
	}
	msg.Collateral = collateral
	return msg
}

// TestRegistrationThroughTheApp: CheckTx refuses a bad registration with
// its registry code and changes nothing; a good one is admitted, executes
// in a block, pays the weight-50 fee and is queryable.
func TestRegistrationThroughTheApp(t *testing.T) {
	c := newChain(t, time.Unix(1_750_000_000, 0).UTC(), nil)
	alice := signer(t, "//Alice")
	op := types.AccountID(alice.Public().Key)
	w := newWorker(t)

	if got := c.app.Router().Weights()[types.TypeURL(&registryv1.MsgRegisterWorker{})]; got != registry.RegisterWeight {
		t.Fatalf("weight %d", got)
	}
	bad := w.registration(t, c, op, "", nil, nil)
	bad.Collateral = make([]byte, registry.DefaultMaxCollateral+1)
	rootBefore := c.app.Tree().Hash()
	if r := c.check(c.tx(alice, bad)); r.Code != uint32(registry.CodeCollateralTooLarge) {
		t.Fatalf("CheckTx: code %d %s", r.Code, r.Log)
	}
	c.nonce[op]-- // refused: the nonce was not used
	good := c.tx(alice, w.registration(t, c, op, "", nil, nil))
	if r := c.check(good); r.Code != 0 {
		t.Fatalf("CheckTx refused a good registration: %s", r.Log)
	}
	if string(c.app.Tree().Hash()) != string(rootBefore) {
		t.Fatal("CheckTx changed committed state")
	}
	res := c.finalize(good)
	c.commit()
	if res.TxResults[0].Code != 0 {
		t.Fatalf("in block: %s", res.TxResults[0].Log)
	}
	b, _, err := c.app.QueryModule(registry.Name, "workers", nil)
	if err != nil {
		t.Fatal(err)
	}
	var list []registry.WorkerView
	if err := json.Unmarshal(b, &list); err != nil || len(list) != 1 || list[0].Operator != op.Address(42) || list[0].Stale {
		t.Fatalf("workers %s %v", b, err)
	}
}

// benchRegistration measures FinalizeBlock of a block holding one
// registration transaction (signature included, as for a transaction
// gossiped from another node), against a block holding one transfer.
func benchRegistration(b *testing.B, start time.Time, msg func(c *chain, w *worker, op types.AccountID) proto.Message, wantCode uint32) {
	c := newChain(b, start, nil)
	alice := signer(b, "//Alice")
	op := types.AccountID(alice.Public().Key)
	w := newWorker(b)
	m := msg(c, w, op)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		raw := c.tx(alice, m)
		b.StartTimer()
		r := c.finalize(raw)
		b.StopTimer()
		if r.TxResults[0].Code != wantCode {
			b.Fatalf("code %d: %s", r.TxResults[0].Code, r.TxResults[0].Log)
		}
		c.commit()
		b.StartTimer()
	}
}

func BenchmarkRegisterWorkerFinalizeBlock(b *testing.B) {
	b.Run("transfer-baseline", func(b *testing.B) {
		bob := signer(b, "//Bob").Public().Key
		benchRegistration(b, time.Unix(1_750_000_000, 0).UTC(), func(*chain, *worker, types.AccountID) proto.Message {
			return &bankv1.MsgTransfer{To: bob[:], Amount: "1000000000000"}
		}, 0)
	})
	b.Run("simulated", func(b *testing.B) {
		benchRegistration(b, time.Unix(1_750_000_000, 0).UTC(), func(c *chain, w *worker, op types.AccountID) proto.Message {
			return w.registration(b, c, op, "", nil, nil)
		}, 0)
	})
	// Genuine DCAP evidence is verified completely, then fails the binding
	// (it binds its authors' report data): the verification cost is the
	// same as for an admitted registration.
	b.Run("sgx-dcap", func(b *testing.B) {
		q, col := readShared(b, "dcap-qvl/sgx_quote"), readShared(b, "dcap-qvl/sgx_quote_collateral.json")
		benchRegistration(b, time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC), func(c *chain, w *worker, op types.AccountID) proto.Message {
			return w.registration(b, c, op, attest.KindSGX, q, col)
		}, uint32(registry.CodeBindingMismatch))
	})
	b.Run("tdx-dcap", func(b *testing.B) {
		q, col := readShared(b, "oasis-core/tdx_v4_quote"), readShared(b, "oasis-core/tdx_v4_quote_collateral.json")
		benchRegistration(b, time.Unix(1725263032, 0).UTC(), func(c *chain, w *worker, op types.AccountID) proto.Message {
			return w.registration(b, c, op, attest.KindTDX, q, col)
		}, uint32(registry.CodeBindingMismatch))
	})
}
