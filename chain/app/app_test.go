package app

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/chaintest"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keys"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
	sudov1 "github.com/veil-network/veil/gen/veil/sudo/v1"
	txv1 "github.com/veil-network/veil/gen/veil/tx/v1"
)

const testChain = "veil-test"

type harness struct {
	t      *testing.T
	app    *App
	height int64
	now    time.Time
	dir    string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), now: time.Unix(1_700_000_000, 0).UTC()}
	h.open()
	st, err := json.Marshal(DefaultGenesis(h.app.Modules()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.app.InitChain(context.Background(), &abci.RequestInitChain{ChainId: testChain, AppStateBytes: st, InitialHeight: 1, Time: h.now}); err != nil {
		t.Fatal(err)
	}
	h.block() // commit genesis with block 1
	return h
}

func (h *harness) open() {
	a, err := New(Config{DataDir: h.dir})
	if err != nil {
		h.t.Fatal(err)
	}
	h.app = a
	h.t.Cleanup(func() { a.Close() })
}

// block finalizes and commits a block with txs, returning the results.
func (h *harness) block(txs ...[]byte) []*abci.ExecTxResult {
	h.t.Helper()
	h.height++
	h.now = h.now.Add(time.Second)
	resp, err := h.app.FinalizeBlock(context.Background(), &abci.RequestFinalizeBlock{Height: h.height, Time: h.now, Txs: txs})
	if err != nil {
		h.t.Fatalf("finalize block %d: %v", h.height, err)
	}
	if _, err := h.app.Commit(context.Background(), &abci.RequestCommit{}); err != nil {
		h.t.Fatal(err)
	}
	h.checkInvariant()
	return resp.TxResults
}

// checkInvariant: the sum of all balances equals the total issuance.
func (h *harness) checkInvariant() {
	h.t.Helper()
	s := h.app.Tree().Committed()
	var sum types.Amount
	h.app.Bank.ForEach(s, func(_ types.AccountID, b bank.Balance) bool {
		sum, _ = sum.Add(b.Free)
		sum, _ = sum.Add(b.Reserved)
		return true
	})
	if iss := h.app.Bank.Issuance(s); iss != sum {
		h.t.Fatalf("issuance %s != sum of balances %s", iss, sum)
	}
}

func (h *harness) check(raw []byte) *abci.ResponseCheckTx {
	h.t.Helper()
	r, err := h.app.CheckTx(context.Background(), &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

var signer = chaintest.Signer

func acct(s keys.Signer) types.AccountID { return types.AccountID(s.Public().Key) }

// txb builds transactions with every field under the test's control.
type txb struct {
	chain  string
	nonce  uint64
	fee    string
	expiry uint64
	msgs   []*anypb.Any
	memo   string
}

func (h *harness) defaults(msgs ...proto.Message) txb {
	b := txb{chain: testChain, fee: "1000000000", expiry: uint64(h.height) + 100}
	for _, m := range msgs {
		a, err := types.PackMsg(m)
		if err != nil {
			h.t.Fatal(err)
		}
		b.msgs = append(b.msgs, a)
	}
	return b
}

func (h *harness) sign(s keys.Signer, b txb) []byte {
	h.t.Helper()
	pub := s.Public()
	raw, err := auth.Encode(&txv1.TxBody{ChainId: b.chain, Sender: pub.Key[:], Nonce: b.nonce, Fee: b.fee, ExpiryHeight: b.expiry, Messages: b.msgs, Memo: b.memo}, s)
	if err != nil {
		h.t.Fatal(err)
	}
	return raw
}

func transfer(to types.AccountID, amount string) *bankv1.MsgTransfer {
	return &bankv1.MsgTransfer{To: to[:], Amount: amount}
}

func TestTransferInBlock(t *testing.T) {
	h := newHarness(t)
	alice, bob := signer(t, "//Alice"), signer(t, "//Bob")
	before := h.app.Account(acct(bob)).Free
	raw := h.sign(alice, h.defaults(transfer(acct(bob), "1000000000000")))
	if r := h.check(raw); r.Code != 0 {
		t.Fatalf("CheckTx rejected a valid transfer: %s", r.Log)
	}
	res := h.block(raw)
	if res[0].Code != 0 {
		t.Fatalf("transfer failed in block: %s", res[0].Log)
	}
	after := h.app.Account(acct(bob)).Free
	if want, _ := before.Add(types.NewAmount(1_000_000_000_000)); after != want {
		t.Fatalf("bob %s, want %s", after, want)
	}
	if n := h.app.Account(acct(alice)).Nonce; n != 1 {
		t.Fatalf("nonce %d, want 1", n)
	}
	// The same bytes again: replay.
	if r := h.check(raw); r.Code != uint32(types.CodeStaleNonce) {
		t.Fatalf("replay: code %d (%s), want stale_nonce", r.Code, r.Log)
	}
	res = h.block(raw)
	if res[0].Code != uint32(types.CodeStaleNonce) {
		t.Fatalf("replay in a block: code %d, want stale_nonce", res[0].Code)
	}
}

func TestBadInputRejectedInCheckTx(t *testing.T) {
	h := newHarness(t)
	alice, bob := signer(t, "//Alice"), signer(t, "//Bob")
	good := h.sign(alice, h.defaults(transfer(acct(bob), "1000000000000")))
	ed, err := keys.FromURI("//Alice", keys.SchemeEd25519)
	if err != nil {
		t.Fatal(err)
	}

	tamperSig := func(raw []byte) []byte {
		var env txv1.Tx
		proto.Unmarshal(raw, &env)
		env.Signature[0] ^= 1
		b, _ := proto.Marshal(&env)
		return b
	}
	wrongScheme := func(raw []byte) []byte {
		var env txv1.Tx
		proto.Unmarshal(raw, &env)
		env.Scheme = txv1.SignatureScheme_SIGNATURE_SCHEME_ED25519
		b, _ := proto.Marshal(&env)
		return b
	}
	unknownScheme := func(raw []byte) []byte {
		var env txv1.Tx
		proto.Unmarshal(raw, &env)
		env.Scheme = 7
		b, _ := proto.Marshal(&env)
		return b
	}
	otherSender := func(raw []byte) []byte {
		var env txv1.Tx
		proto.Unmarshal(raw, &env)
		k := acct(bob)
		env.PublicKey = k[:]
		b, _ := proto.Marshal(&env)
		return b
	}
	withBody := func(mut func(b *txb)) []byte {
		b := h.defaults(transfer(acct(bob), "1000000000000"))
		mut(&b)
		return h.sign(alice, b)
	}
	unknownMsg, _ := anypb.New(&txv1.Tx{})
	huge := make([]byte, auth.DefaultMaxTxBytes)
	cases := []struct {
		name string
		raw  []byte
		want types.Code
	}{
		{"empty", nil, types.CodeTxDecode},
		{"garbage", []byte{0xff, 0xff, 0xff, 0x01, 0x02}, types.CodeTxDecode},
		{"truncated", good[:len(good)/2], types.CodeTxDecode},
		{"oversized", append(append([]byte{}, good...), huge...), types.CodeTxTooLarge},
		{"bad signature", tamperSig(good), types.CodeInvalidSignature},
		{"wrong scheme", wrongScheme(good), types.CodeInvalidSignature},
		{"unknown scheme", unknownScheme(good), types.CodeUnsupportedScheme},
		{"key is not the sender", otherSender(good), types.CodeSenderMismatch},
		{"ed25519 key without funds", h.sign(ed, h.defaults(transfer(acct(bob), "1000000000000"))), types.CodeInsufficientFunds},
		{"wrong chain id", withBody(func(b *txb) { b.chain = "other-chain" }), types.CodeWrongChainID},
		{"future nonce", withBody(func(b *txb) { b.nonce = 5 }), types.CodeFutureNonce},
		{"expired", withBody(func(b *txb) { b.expiry = 1 }), types.CodeTxExpired},
		{"expiry too far", withBody(func(b *txb) { b.expiry = 1 << 40 }), types.CodeExpiryTooFar},
		{"fee too low", withBody(func(b *txb) { b.fee = "1" }), types.CodeInsufficientFee},
		{"fee not a number", withBody(func(b *txb) { b.fee = "-5" }), types.CodeInsufficientFee},
		{"no messages", withBody(func(b *txb) { b.msgs = nil }), types.CodeNoMessages},
		{"unknown message", withBody(func(b *txb) { b.msgs = []*anypb.Any{unknownMsg} }), types.CodeUnknownMessage},
		{"malformed message", withBody(func(b *txb) { b.msgs[0].Value = []byte{0xff} }), types.CodeTxDecode},
		{"memo too large", withBody(func(b *txb) { b.memo = string(make([]byte, 300)) }), types.CodeMemoTooLarge},
		{"zero amount", h.sign(alice, h.defaults(transfer(acct(bob), "0"))), types.CodeInvalidAmount},
		{"negative amount", h.sign(alice, h.defaults(transfer(acct(bob), "-1"))), types.CodeInvalidAmount},
		{"amount overflow", h.sign(alice, h.defaults(transfer(acct(bob), "340282366920938463463374607431768211456"))), types.CodeInvalidAmount},
		{"amount above balance", h.sign(alice, h.defaults(transfer(acct(bob), "340282366920938463463374607431768211455"))), types.CodeInsufficientFunds},
		{"invalid recipient", h.sign(alice, h.defaults(&bankv1.MsgTransfer{To: []byte{1, 2, 3}, Amount: "1000000000000"})), types.CodeInvalidAddress},
		{"self transfer", h.sign(alice, h.defaults(transfer(acct(alice), "1000000000000"))), types.CodeSelfTransfer},
		{"dust recipient", h.sign(alice, h.defaults(transfer(types.AccountID{9}, "5"))), types.CodeExistentialDeposit},
		{"sudo call by non-sudo", h.sign(bob, h.defaults(&sudov1.MsgSetSudoKey{NewSudo: func() []byte { a := acct(bob); return a[:] }()})), types.CodeUnauthorized},
	}
	rootBefore := h.app.Tree().Hash()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.check(c.raw)
			if r.Code != uint32(c.want) {
				t.Fatalf("code %d (%s), want %d (%s); log: %s", r.Code, types.Code(r.Code), c.want, c.want, r.Log)
			}
			if r.Log == "" || r.Codespace != types.Codespace {
				t.Fatalf("rejection without message/codespace: %+v", r)
			}
		})
	}
	// None of it changed the mempool view: Alice's first good tx is still nonce 0.
	if r := h.check(good); r.Code != 0 {
		t.Fatalf("good tx after bad ones: %s", r.Log)
	}
	// And a block carrying all the bad ones changes nothing but what the
	// good one does.
	var all [][]byte
	for _, c := range cases {
		if c.raw != nil {
			all = append(all, c.raw)
		}
	}
	res := h.block(all...)
	for i, r := range res {
		if r.Code == 0 {
			t.Fatalf("bad tx %d succeeded in a block", i)
		}
	}
	if string(h.app.Tree().Hash()) == string(rootBefore) {
		t.Log("state unchanged by bad txs (expected: none was charged)")
	}
}

func TestFailedMessageStillPaysFee(t *testing.T) {
	h := newHarness(t)
	alice, bob := signer(t, "//Alice"), signer(t, "//Bob")
	// Two txs in one block: the second spends more than is left after the first.
	all := h.app.Account(acct(alice)).Free
	half, _ := all.DivMod64(2)
	tx1 := h.sign(alice, h.defaults(transfer(acct(bob), half.String())))
	b := h.defaults(transfer(acct(bob), half.String()))
	b.nonce = 1
	tx2 := h.sign(alice, b)
	res := h.block(tx1, tx2)
	if res[0].Code != 0 {
		t.Fatalf("tx1: %s", res[0].Log)
	}
	if res[1].Code != uint32(types.CodeInsufficientFunds) {
		t.Fatalf("tx2: code %d (%s), want insufficient_funds", res[1].Code, res[1].Log)
	}
	if n := h.app.Account(acct(alice)).Nonce; n != 2 {
		t.Fatalf("nonce %d, want 2: a failed tx still uses its nonce", n)
	}
	fee := types.MustParseAmount("1000000000")
	spent, _ := half.Add(fee)
	spent, _ = spent.Add(fee)
	if want, _ := all.Sub(spent); h.app.Account(acct(alice)).Free != want {
		t.Fatalf("alice %s, want %s", h.app.Account(acct(alice)).Free, want)
	}
}

func TestRestartResumesState(t *testing.T) {
	h := newHarness(t)
	alice, bob := signer(t, "//Alice"), signer(t, "//Bob")
	h.block(h.sign(alice, h.defaults(transfer(acct(bob), "1000000000000"))))
	hash, height := h.app.Tree().Hash(), h.app.Tree().Version()
	h.app.Close()
	h.open()
	info, err := h.app.Info(context.Background(), &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if info.LastBlockHeight != height || string(info.LastBlockAppHash) != string(hash) {
		t.Fatalf("Info after restart: height %d hash %X, want %d %X", info.LastBlockHeight, info.LastBlockAppHash, height, hash)
	}
	if h.app.ChainID() != testChain {
		t.Fatalf("chain id %q after restart", h.app.ChainID())
	}
	b := h.defaults(transfer(acct(bob), "1000000000000"))
	b.nonce = 1
	if r := h.block(h.sign(alice, b)); r[0].Code != 0 {
		t.Fatalf("tx after restart: %s", r[0].Log)
	}
}

func TestProvenQuery(t *testing.T) {
	h := newHarness(t)
	bob := signer(t, "//Bob")
	key := bank.BalanceKey(acct(bob))
	p, err := h.app.Tree().GetProven(key, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Exists {
		t.Fatal("bob has no balance record")
	}
	if err := storeVerify(p.Root, p, key, p.Value); err != nil {
		t.Fatalf("membership proof: %v", err)
	}
	tampered := append([]byte{}, p.Value...)
	tampered[0] ^= 1
	if err := storeVerify(p.Root, p, key, tampered); err == nil {
		t.Fatal("proof verified a tampered value")
	}
	missing := bank.BalanceKey(types.AccountID{7})
	q, err := h.app.Tree().GetProven(missing, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if q.Exists {
		t.Fatal("unexpected balance")
	}
	if err := storeVerify(q.Root, q, missing, nil); err != nil {
		t.Fatalf("non-membership proof: %v", err)
	}
}

func TestGenesisValidation(t *testing.T) {
	mods := NewModuleSet().Modules
	for name, st := range map[string]string{
		"not json":        `[`,
		"unknown section": `{"nope":{}}`,
		"bad address":     `{"bank":{"params":{"existential_deposit":"1"},"balances":[{"address":"xyz","free":"1"}]}}`,
		"bad fee dest":    `{"auth":{"params":{"fee_destination":"moon","max_tx_bytes":1,"max_messages":1,"max_tx_lifetime":1}}}`,
		"duplicate acct":  `{"bank":{"params":{"existential_deposit":"1"},"balances":[{"address":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY","free":"1"},{"address":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY","free":"1"}]}}`,
		"bad prefix":      `{"chain":{"ss58_prefix":20000}}`,
		"misspelt param":  `{"chain":{"ss58_prefx":7}}`,
	} {
		if _, _, err := ParseGenesis([]byte(st), mods); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
