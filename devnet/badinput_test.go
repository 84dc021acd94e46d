package devnet_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
	txv1 "github.com/veil-network/veil/gen/veil/tx/v1"
)

// TestBadInputOverTheAPI submits every class of bad transaction to a real
// node through its API: each is refused before reaching a block, with its
// specific code, and nothing changes (Alice's balance and nonce, Bob's
// balance, the app hash of later blocks apart from time).
func TestBadInputOverTheAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	n := startNet(t, t.TempDir(), true)
	defer n.Stop()
	c := n.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	alice, bob := mustSigner(t, "//Alice"), mustSigner(t, "//Bob")
	bobID := types.AccountID(bob.Public().Key)
	height := uint64(st.GetLatestHeight())

	build := func(mut func(b *txv1.TxBody), msgs ...proto.Message) []byte {
		var anys []*anypb.Any
		for _, m := range msgs {
			a, err := types.PackMsg(m)
			if err != nil {
				t.Fatal(err)
			}
			anys = append(anys, a)
		}
		pub := alice.Public()
		// Nonce 1: the replay case below commits nonce 0 first.
		body := &txv1.TxBody{ChainId: st.GetChainId(), Sender: pub.Key[:], Nonce: 1, Fee: "1000000000", ExpiryHeight: height + 100, Messages: anys}
		if mut != nil {
			mut(body)
		}
		raw, err := auth.Encode(body, alice)
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	transfer := func(amount string) proto.Message { return &bankv1.MsgTransfer{To: bobID[:], Amount: amount} }
	good := build(func(b *txv1.TxBody) { b.Nonce = 0 }, transfer("1000000000000"))
	env := func(mut func(e *txv1.Tx)) []byte {
		var e txv1.Tx
		if err := proto.Unmarshal(good, &e); err != nil {
			t.Fatal(err)
		}
		mut(&e)
		b, _ := proto.Marshal(&e)
		return b
	}
	ed, _ := keys.FromURI("//Alice", keys.SchemeEd25519)
	edPub := ed.Public()
	edRaw, _ := auth.Encode(&txv1.TxBody{ChainId: st.GetChainId(), Sender: edPub.Key[:], Fee: "1000000000", ExpiryHeight: height + 100,
		Messages: []*anypb.Any{must(types.PackMsg(transfer("1000000000000")))}}, ed)

	cases := []struct {
		name string
		raw  []byte
		want types.Code
	}{
		{"malformed protobuf", []byte{0x0a, 0x05, 0x01}, types.CodeTxDecode},
		{"truncated", good[:len(good)-10], types.CodeTxDecode},
		{"oversized", append(append([]byte{}, good...), make([]byte, auth.DefaultMaxTxBytes)...), types.CodeTxTooLarge},
		{"wrong signature", env(func(e *txv1.Tx) { e.Signature[10] ^= 0xff }), types.CodeInvalidSignature},
		{"wrong scheme", env(func(e *txv1.Tx) { e.Scheme = txv1.SignatureScheme_SIGNATURE_SCHEME_ED25519 }), types.CodeInvalidSignature},
		{"unsupported scheme", env(func(e *txv1.Tx) { e.Scheme = 9 }), types.CodeUnsupportedScheme},
		{"unfunded ed25519 account", edRaw, types.CodeInsufficientFunds},
		{"wrong chain id", build(func(b *txv1.TxBody) { b.ChainId = "another-chain" }, transfer("1000000000000")), types.CodeWrongChainID},
		// Filled below. The mempool's cache refuses the identical bytes
		// (duplicate_tx); the app would refuse them as stale_nonce, which
		// the re-signed replay below checks.
		{"replayed bytes", nil, types.CodeDuplicateTx},
		{"replayed nonce", nil, types.CodeStaleNonce},
		{"expired", build(func(b *txv1.TxBody) { b.ExpiryHeight = 1 }, transfer("1000000000000")), types.CodeTxExpired},
		{"insufficient fee", build(func(b *txv1.TxBody) { b.Fee = "1" }, transfer("1000000000000")), types.CodeInsufficientFee},
		{"amount overflow", build(nil, transfer("340282366920938463463374607431768211456")), types.CodeInvalidAmount},
		{"negative amount", build(nil, transfer("-1")), types.CodeInvalidAmount},
		{"zero amount", build(nil, transfer("0")), types.CodeInvalidAmount},
		{"unknown message", build(nil, &txv1.TxBody{}), types.CodeUnknownMessage},
		{"invalid recipient", build(nil, &bankv1.MsgTransfer{To: []byte("short"), Amount: "1"}), types.CodeInvalidAddress},
	}
	// Replay: commit one transfer, then send the same bytes again.
	if _, err := c.Submit(ctx, good, true); err != nil {
		t.Fatal(err)
	}
	cases[8].raw = good
	cases[9].raw = build(func(b *txv1.TxBody) { b.Nonce, b.Memo = 0, "same nonce, new bytes" }, transfer("1000000000000"))

	aliceBefore, nonceBefore := balance(t, c, alice.Public().Hex())
	bobBefore, _ := balance(t, c, bob.Public().Hex())
	for _, tc := range cases {
		res, err := c.Submit(ctx, tc.raw, false)
		var txErr *client.TxError
		if !asTxErr(err, &txErr) {
			t.Fatalf("%s: accepted (%v, %+v)", tc.name, err, res)
		}
		if txErr.Code() != tc.want || res.GetLog() == "" {
			t.Errorf("%s: code %d (%s) log %q, want %s", tc.name, txErr.Code(), txErr.Code(), res.GetLog(), tc.want)
		}
	}
	// Let a block pass: none of them may have reached it.
	st2, _ := c.Status(ctx)
	if err := c.WaitHeight(ctx, st2.GetLatestHeight()+2); err != nil {
		t.Fatal(err)
	}
	aliceAfter, nonceAfter := balance(t, c, alice.Public().Hex())
	bobAfter, _ := balance(t, c, bob.Public().Hex())
	if aliceAfter != aliceBefore || nonceAfter != nonceBefore || bobAfter != bobBefore {
		t.Fatalf("state changed: alice %s→%s nonce %d→%d bob %s→%s", aliceBefore, aliceAfter, nonceBefore, nonceAfter, bobBefore, bobAfter)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
