package auth

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keys"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
	txv1 "github.com/veil-network/veil/gen/veil/tx/v1"
)

func testRouter() *types.Router {
	r := types.NewRouter()
	bank.New().RegisterMessages(r)
	return r
}

func signedTx(t testing.TB, scheme keys.Scheme) []byte {
	s, err := keys.FromURI("//Alice", scheme)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := types.PackMsg(&bankv1.MsgTransfer{To: make([]byte, 32), Amount: "5"})
	if err != nil {
		t.Fatal(err)
	}
	pub := s.Public()
	raw, err := Encode(&txv1.TxBody{ChainId: "c", Sender: pub.Key[:], Fee: "10", ExpiryHeight: 9, Messages: []*anypb.Any{msg}}, s)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestDecodeAndVerify(t *testing.T) {
	for _, scheme := range []keys.Scheme{keys.SchemeSr25519, keys.SchemeEd25519} {
		raw := signedTx(t, scheme)
		tx, err := Decode(raw, DefaultParams().Limits(), testRouter())
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.VerifySignature(); err != nil {
			t.Fatalf("%s: %v", scheme, err)
		}
		// The signature covers the domain tag: the bare body does not verify.
		if tx.PubKey.Verify(tx.BodyBytes, tx.Sig) {
			t.Fatalf("%s: signature verifies without the domain tag", scheme)
		}
		// Flip each byte of the body in turn: decoding fails or the
		// signature does.
		var env txv1.Tx
		if err := proto.Unmarshal(raw, &env); err != nil {
			t.Fatal(err)
		}
		for i := range env.Body {
			cp := proto.Clone(&env).(*txv1.Tx)
			cp.Body[i] ^= 0x40
			b, _ := proto.Marshal(cp)
			if tx, err := Decode(b, DefaultParams().Limits(), testRouter()); err == nil && tx.VerifySignature() == nil {
				t.Fatalf("%s: body byte %d flipped and still valid", scheme, i)
			}
		}
	}
}

func TestVerifyBatchReportsEachFailure(t *testing.T) {
	var txs []*Tx
	for i := 0; i < 6; i++ {
		scheme := keys.SchemeSr25519
		if i%2 == 1 {
			scheme = keys.SchemeEd25519
		}
		tx, err := Decode(signedTx(t, scheme), DefaultParams().Limits(), testRouter())
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	txs[2].Sig = append([]byte{}, txs[2].Sig...)
	txs[2].Sig[5] ^= 1
	txs[3].Sig = append([]byte{}, txs[3].Sig...)
	txs[3].Sig[5] ^= 1
	errs := VerifyBatch(txs)
	for i, e := range errs {
		if bad := i == 2 || i == 3; bad != (e != nil) {
			t.Fatalf("tx %d: err %v", i, e)
		}
	}
}

func TestRequiredFee(t *testing.T) {
	p := DefaultParams()
	tx, err := Decode(signedTx(t, keys.SchemeSr25519), p.Limits(), testRouter())
	if err != nil {
		t.Fatal(err)
	}
	fee, err := p.RequiredFee(len(tx.Raw), tx.Msgs)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := p.FeePerByte.Mul64(uint64(len(tx.Raw)))
	want, _ = want.Add(p.FeePerMessage)
	if fee != want {
		t.Fatalf("fee %s want %s", fee, want)
	}
}

// FuzzDecode: arbitrary bytes never panic the decoder, and whatever it
// accepts re-verifies consistently.
func FuzzDecode(f *testing.F) {
	f.Add(signedTx(f, keys.SchemeSr25519))
	f.Add(signedTx(f, keys.SchemeEd25519))
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	router := testRouter()
	lim := DefaultParams().Limits()
	f.Fuzz(func(t *testing.T, raw []byte) {
		tx, err := Decode(raw, lim, router)
		if err != nil {
			if types.CodeOf(err) == types.CodeInternal {
				t.Fatalf("decode error without a code: %v", err)
			}
			return
		}
		_ = tx.VerifySignature()
		_ = VerifyBatch([]*Tx{tx, tx})
	})
}

// TestVerifyBatchMalformedKey: an sr25519 public key that is no curve
// point fails its own transaction only; the rest of the batch is judged
// as usual.
func TestVerifyBatchMalformedKey(t *testing.T) {
	var txs []*Tx
	for i := 0; i < 5; i++ {
		scheme := keys.SchemeSr25519
		if i%2 == 1 {
			scheme = keys.SchemeEd25519
		}
		tx, err := Decode(signedTx(t, scheme), DefaultParams().Limits(), testRouter())
		if err != nil {
			t.Fatal(err)
		}
		txs = append(txs, tx)
	}
	for i := range txs[2].PubKey.Key {
		txs[2].PubKey.Key[i] = 0xff
	}
	if err := keys.NewBatchVerifier().Add(txs[2].PubKey, txs[2].SignedBytes(), txs[2].Sig); err == nil {
		t.Fatal("the test key is accepted as an sr25519 point")
	}
	for i, e := range VerifyBatch(txs) {
		if bad := i == 2; bad != (e != nil) || (bad && types.CodeOf(e) != types.CodeInvalidSignature) {
			t.Fatalf("tx %d: err %v", i, e)
		}
	}
}

// TestGenesisRefusesUnknownFields: a misspelt parameter is an error, not
// a silent default.
func TestGenesisRefusesUnknownFields(t *testing.T) {
	m := New(bank.New())
	if err := m.ValidateGenesis(m.DefaultGenesis(), 42); err != nil {
		t.Fatal(err)
	}
	if err := m.ValidateGenesis([]byte(`{"params":{"fee_per_bite":"1"}}`), 42); err == nil {
		t.Fatal("unknown parameter accepted")
	}
}
