package randomness

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519/extra/ecvrf"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/types"
	randomnessv1 "github.com/veil-network/veil/gen/veil/randomness/v1"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRFC9381Vectors: a CometBFT-format key converted by NewKey proves
// and verifies RFC 9381's ECVRF-EDWARDS25519-SHA512-ELL2 examples 19 and
// 20 exactly (appendix B.3), so outputs are the standard's.
func TestRFC9381Vectors(t *testing.T) {
	for _, v := range []struct{ sk, pk, alpha, pi, beta string }{
		{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
			"7d9c633ffeee27349264cf5c667579fc583b4bda63ab71d001f89c10003ab46f14adf9a3cd8b8412d9038531e865c341cafa73589b023d14311c331a9ad15ff2fb37831e00f0acaa6d73bc9997b06501",
			"9d574bf9b8302ec0fc1e21c3ec5368269527b87b462ce36dab2d14ccf80c53cccf6758f058c5b1c856b116388152bbe509ee3b9ecfe63d93c3b4346c1fbc6c54"},
		{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb", "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
			"47b327393ff2dd81336f8a2ef10339112401253b3c714eeda879f12c509072ef055b48372bb82efbdce8e10c8cb9a2f9d60e93908f93df1623ad78a86a028d6bc064dbfc75a6a57379ef855dc6733801",
			"38561d6b77b71d30eb97a062168ae12b667ce5c28caccdf76bc88e093e4635987cd96814ce55b4689b3dd2947f80e59aac7b7675f8083865b46c89b2ce9cc735"},
	} {
		k, err := NewKey(append(unhex(t, v.sk), unhex(t, v.pk)...))
		if err != nil {
			t.Fatal(err)
		}
		alpha := unhex(t, v.alpha)
		pi := ecvrf.Prove(k.sk, alpha)
		if hex.EncodeToString(pi) != v.pi {
			t.Fatalf("proof %x, want %s", pi, v.pi)
		}
		pub := k.PublicKey()
		ok, beta := ecvrf.Verify(pub[:], pi, alpha)
		if !ok || hex.EncodeToString(beta) != v.beta {
			t.Fatalf("verify: %v, beta %x, want %s", ok, beta, v.beta)
		}
	}
}

func TestInputLayout(t *testing.T) {
	prev := bytes.Repeat([]byte{0xab}, 64)
	got := Input("veil-1", 0x0102030405060708, prev)
	want := append([]byte("veil/vrf/v1\x00\x00\x00\x00\x06veil-1\x01\x02\x03\x04\x05\x06\x07\x08"), prev...)
	if !bytes.Equal(got, want) {
		t.Fatalf("input\n%x\nwant\n%x", got, want)
	}
	gs := sha512.Sum512(append([]byte("veil/vrf/genesis/v1"), testGenesisHash[:]...))
	if !bytes.Equal(GenesisSeed(testGenesisHash), gs[:]) {
		t.Fatal("genesis seed is not SHA-512(tag ‖ genesis hash)")
	}
	// The length prefix keeps chain ids from running into the height.
	if bytes.Equal(Input("a", 0x6100000000000000, nil)[:17], Input("aa", 0, nil)[:17]) {
		t.Fatal("chain id and height are ambiguous")
	}
}

// TestProveVerifyChain: proofs verify block after block, each block's
// input chains the previous output (the genesis seed for the first), and
// the stored record is what Verify returned.
func TestProveVerifyChain(t *testing.T) {
	alice, bob := mustKey(t, "alice"), mustKey(t, "bob")
	e := newEnv(t, DefaultParams(), alice, bob)
	prev := GenesisSeed(testGenesisHash)
	seen := map[string]bool{}
	for h := int64(1); h <= 6; h++ {
		k := alice
		if h%2 == 0 {
			k = bob
		}
		raw := e.prove(h, k)
		if !IsProofTx(raw) || len(raw) > MaxProofTxBytes {
			t.Fatalf("proof tx %x", raw)
		}
		// Proving is deterministic: one valid proof per key and height.
		if again := e.prove(h, k); !bytes.Equal(again, raw) {
			t.Fatal("two proofs of one height differ")
		}
		r, err := e.verify(h, k.Address(), raw)
		if err != nil {
			t.Fatalf("height %d: %v", h, err)
		}
		if !bytes.Equal(r.GetInput(), Input(testChainID, h, prev)) {
			t.Fatalf("height %d: input does not chain the previous output", h)
		}
		pub := k.PublicKey()
		if r.GetHeight() != h || len(r.GetOutput()) != OutputSize || r.GetFallback() ||
			!bytes.Equal(r.GetProposer(), k.Address()) || !bytes.Equal(r.GetProposerKey(), pub[:]) {
			t.Fatalf("record %+v", r)
		}
		if seen[string(r.GetOutput())] {
			t.Fatal("output repeated")
		}
		seen[string(r.GetOutput())] = true
		evs := e.apply(r)
		if len(evs) != 1 || evs[0].Type != Name {
			t.Fatalf("events %+v", evs)
		}
		a := attrs(evs[0])
		if a["height"] != fmt.Sprint(h) || a["output"] != "0x"+hex.EncodeToString(r.GetOutput()) ||
			a["proposer"] != "0x"+hex.EncodeToString(k.Address()) || a["fallback"] != "false" {
			t.Fatalf("event %v", a)
		}
		if got := Latest(e.s); got.GetHeight() != h || !bytes.Equal(got.GetOutput(), r.GetOutput()) {
			t.Fatalf("latest %+v", got)
		}
		if got := Get(e.s, h); !bytes.Equal(got.GetProof(), r.GetProof()) {
			t.Fatal("stored record differs")
		}
		prev = r.GetOutput()
	}
}

func TestVerifyRejects(t *testing.T) {
	alice, bob, carol := mustKey(t, "alice"), mustKey(t, "bob"), mustKey(t, "carol")
	e := newEnv(t, DefaultParams(), alice, bob)
	e.block(1, alice)
	good := e.prove(2, alice)
	if _, err := e.verify(2, alice.Address(), good); err != nil {
		t.Fatal(err)
	}
	p, err := DecodeProofTx(good)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("missing", func(t *testing.T) {
		_, err := e.verify(2, alice.Address(), nil)
		wantCode(t, err, CodeMissingProof)
		_, err = e.verify(2, alice.Address(), []byte{0x0a, 0x02, 0x08, 0x01}) // a protobuf message
		wantCode(t, err, CodeMissingProof)
	})
	t.Run("malformed", func(t *testing.T) {
		_, err := e.verify(2, alice.Address(), good[:len(good)-1])
		wantCode(t, err, CodeMalformedProof)
	})
	t.Run("wrong key", func(t *testing.T) {
		// Bob's address, Alice's proof.
		_, err := e.verify(2, bob.Address(), good)
		wantCode(t, err, CodeInvalidProof)
		// Bob's proof claimed by Alice.
		_, err = e.verify(2, alice.Address(), e.prove(2, bob))
		wantCode(t, err, CodeInvalidProof)
	})
	t.Run("unknown proposer", func(t *testing.T) {
		_, err := e.verify(2, carol.Address(), e.prove(2, carol))
		wantCode(t, err, CodeUnknownProposer)
	})
	t.Run("wrong height", func(t *testing.T) {
		_, err := e.verify(3, alice.Address(), good)
		wantCode(t, err, CodeWrongHeight)
		// The proof relabelled with another height: the input differs.
		_, err = e.verify(3, alice.Address(), EncodeProofTx(3, p.GetProof()))
		wantCode(t, err, CodeInvalidProof)
		// A height already recorded.
		_, err = e.verify(1, alice.Address(), EncodeProofTx(1, p.GetProof()))
		wantCode(t, err, CodeWrongHeight)
	})
	t.Run("wrong input", func(t *testing.T) {
		_, err := Verify(e.s, "other-chain", testGenesisHash, 2, alice.Address(), good)
		wantCode(t, err, CodeInvalidProof)
		// A proof over another previous output (a fork's) does not verify.
		other := newEnv(t, DefaultParams(), alice, bob)
		other.block(1, bob)
		_, err = other.verify(2, alice.Address(), good)
		wantCode(t, err, CodeInvalidProof)
	})
	t.Run("tampered", func(t *testing.T) {
		for i := 0; i < ProofSize; i++ {
			pi := bytes.Clone(p.GetProof())
			pi[i] ^= 0x01
			if _, err := e.verify(2, alice.Address(), EncodeProofTx(2, pi)); err == nil {
				t.Fatalf("proof with byte %d flipped verified", i)
			} else {
				wantCode(t, err, CodeInvalidProof)
			}
		}
	})
}

func TestProveErrors(t *testing.T) {
	alice := mustKey(t, "alice")
	e := newEnv(t, DefaultParams(), alice)
	if _, err := Prove(e.s, testChainID, testGenesisHash, 1, nil); err == nil {
		t.Fatal("proved without a key")
	}
	if _, err := Prove(e.s, testChainID, testGenesisHash, 0, alice); err == nil {
		t.Fatal("proved height 0")
	}
	e.block(1, alice)
	_, err := Prove(e.s, testChainID, testGenesisHash, 1, alice)
	wantCode(t, err, CodeWrongHeight)
}

func TestNewKey(t *testing.T) {
	ck := cometKey("alice")
	k, err := NewKey(ck)
	if err != nil {
		t.Fatal(err)
	}
	pub := k.PublicKey()
	if !bytes.Equal(pub[:], ck[32:]) || !bytes.Equal(k.Address(), staking.ConsensusAddress(ck[32:])) {
		t.Fatal("public key or address")
	}
	_, err = NewKey(ck[:32])
	wantCode(t, err, CodeInvalidKey)
	bad := bytes.Clone(ck)
	bad[40] ^= 1
	_, err = NewKey(bad)
	wantCode(t, err, CodeInvalidKey)
	// Printing a key shows its address, never its seed.
	seedHex := hex.EncodeToString(ck[:32])
	for _, s := range []string{fmt.Sprint(k), fmt.Sprintf("%v %+v %#v %s", k, k, k, k), k.LogValue().String()} {
		if strings.Contains(s, seedHex) || strings.Contains(strings.ToLower(s), seedHex[:16]) {
			t.Fatalf("key printed its seed: %s", s)
		}
		if !strings.Contains(s, hex.EncodeToString(k.Address())) {
			t.Fatalf("key printed without its address: %s", s)
		}
	}
}

func TestRecordKeysNeverDeletes(t *testing.T) {
	alice, bob := mustKey(t, "alice"), mustKey(t, "bob")
	e := newEnv(t, DefaultParams(), alice)
	RecordKeys(e.s, []types.ValidatorUpdate{{PubKey: alice.PublicKey(), Power: 0}, {PubKey: bob.PublicKey(), Power: 0}})
	for _, k := range []*Key{alice, bob} {
		pub := k.PublicKey()
		if got := ConsensusKey(e.s, k.Address()); !bytes.Equal(got, pub[:]) {
			t.Fatalf("key of %s: %x", k, got)
		}
	}
	// A removed validator may still propose the next block.
	e.block(1, alice)
	e.block(2, bob)
}

func TestHistoryPruning(t *testing.T) {
	alice := mustKey(t, "alice")
	e := newEnv(t, Params{HistoryBlocks: 3}, alice)
	for h := int64(1); h <= 10; h++ {
		e.block(h, alice)
	}
	for h := int64(1); h <= 10; h++ {
		if got, want := Get(e.s, h) != nil, h >= 8; got != want {
			t.Fatalf("height %d present %v, want %v", h, got, want)
		}
	}
	if Latest(e.s).GetHeight() != 10 {
		t.Fatal("latest")
	}
	// One record per block stays in state: exactly history_blocks of them.
	n := 0
	e.s.Iterate(prefixBlock, func(_, _ []byte) bool { n++; return true })
	if n != 3 {
		t.Fatalf("%d records, want 3", n)
	}

	all := newEnv(t, Params{HistoryBlocks: 0}, alice)
	for h := int64(1); h <= 10; h++ {
		all.block(h, alice)
	}
	for h := int64(1); h <= 10; h++ {
		if Get(all.s, h) == nil {
			t.Fatalf("history 0 pruned height %d", h)
		}
	}
}

// TestFallback: a block without a valid proof gets SHA-512 of its input,
// flagged, and the chain continues from it with proofs again.
func TestFallback(t *testing.T) {
	alice := mustKey(t, "alice")
	e := newEnv(t, DefaultParams(), alice)
	first := e.block(1, alice)
	fb := Fallback(e.s, testChainID, testGenesisHash, 2, alice.Address())
	alpha := Input(testChainID, 2, first.GetOutput())
	out := sha512.Sum512(alpha)
	pub := alice.PublicKey()
	if !fb.GetFallback() || !bytes.Equal(fb.GetOutput(), out[:]) || !bytes.Equal(fb.GetInput(), alpha) ||
		len(fb.GetProof()) != 0 || fb.GetHeight() != 2 || !bytes.Equal(fb.GetProposerKey(), pub[:]) {
		t.Fatalf("fallback record %+v", fb)
	}
	evs := e.apply(fb)
	if len(evs) != 1 || attrs(evs[0])["fallback"] != "true" {
		t.Fatalf("fallback event %+v", evs)
	}
	r := e.block(3, alice)
	if !bytes.Equal(r.GetInput(), Input(testChainID, 3, out[:])) {
		t.Fatal("block after a fallback does not chain the fallback output")
	}
	// An unknown proposer's fallback has no key.
	if fb := Fallback(e.s, testChainID, testGenesisHash, 4, []byte("unknown-proposer-addr")); fb.GetProposerKey() != nil {
		t.Fatal("fallback invented a key")
	}
}

// protoField appends a protobuf field to b.
func varintField(b []byte, num protowire.Number, v uint64) []byte {
	return protowire.AppendVarint(protowire.AppendTag(b, num, protowire.VarintType), v)
}

func bytesField(b []byte, num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

func TestDecodeProofTxRejects(t *testing.T) {
	pi := bytes.Repeat([]byte{7}, ProofSize)
	good := EncodeProofTx(5, pi)
	if p, err := DecodeProofTx(good); err != nil || p.GetHeight() != 5 || !bytes.Equal(p.GetProof(), pi) {
		t.Fatalf("good: %v %v", p, err)
	}
	if max := EncodeProofTx(1<<63-1, pi); len(max) != MaxProofTxBytes {
		t.Fatalf("largest proof tx has %d bytes, MaxProofTxBytes %d", len(max), MaxProofTxBytes)
	}
	m := []byte(Magic)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	cases := []struct {
		name string
		raw  []byte
		code types.Code
	}{
		{"empty", nil, CodeMissingProof},
		{"no magic", good[1:], CodeMissingProof},
		{"magic only", m, CodeMalformedProof},
		{"too long", cat(good, make([]byte, MaxProofTxBytes)), CodeMalformedProof},
		{"garbage", cat(m, []byte{0xff, 0xff, 0xff}), CodeMalformedProof},
		{"truncated", good[:len(good)-3], CodeMalformedProof},
		{"short proof", EncodeProofTx(5, pi[:79]), CodeMalformedProof},
		{"long proof", cat(m, varintField(nil, 1, 5), bytesField(nil, 2, append(bytes.Clone(pi), 1))), CodeMalformedProof},
		{"no proof", EncodeProofTx(5, nil), CodeMalformedProof},
		{"height 0", EncodeProofTx(0, pi), CodeMalformedProof},
		{"negative height", EncodeProofTx(-1, pi), CodeMalformedProof},
		{"fields reversed", cat(m, bytesField(nil, 2, pi), varintField(nil, 1, 5)), CodeMalformedProof},
		{"unknown field", cat(good, varintField(nil, 9, 1)), CodeMalformedProof},
		{"height repeated", cat(m, varintField(nil, 1, 4), varintField(nil, 1, 5), bytesField(nil, 2, pi)), CodeMalformedProof},
		{"padded varint", cat(m, protowire.AppendTag(nil, 1, protowire.VarintType), []byte{0x85, 0x00}, bytesField(nil, 2, pi)), CodeMalformedProof},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := DecodeProofTx(c.raw)
			wantCode(t, err, c.code)
			if !strings.Contains(err.Error(), CodeName(c.code)) {
				t.Fatalf("message %q lacks the code name", err)
			}
		})
	}
}

// FuzzDecodeProofTx: no input panics, and whatever decodes is the one
// canonical encoding of what it decodes to.
func FuzzDecodeProofTx(f *testing.F) {
	pi := bytes.Repeat([]byte{7}, ProofSize)
	f.Add(EncodeProofTx(1, pi))
	f.Add(EncodeProofTx(1<<40, pi))
	f.Add([]byte(Magic))
	f.Add(append([]byte(Magic), 0x08, 0x01))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, err := DecodeProofTx(raw)
		if err != nil {
			if types.CodeOf(err) != CodeMissingProof && types.CodeOf(err) != CodeMalformedProof {
				t.Fatalf("unexpected code %d: %v", types.CodeOf(err), err)
			}
			return
		}
		if len(raw) > MaxProofTxBytes || p.GetHeight() <= 0 || len(p.GetProof()) != ProofSize {
			t.Fatalf("accepted %x as %+v", raw, p)
		}
		if !bytes.Equal(EncodeProofTx(p.GetHeight(), p.GetProof()), raw) {
			t.Fatalf("accepted non-canonical %x", raw)
		}
	})
}

func TestGenesis(t *testing.T) {
	m := New()
	if err := m.ValidateGenesis(m.DefaultGenesis(), 42); err != nil {
		t.Fatal(err)
	}
	var g Genesis
	if err := json.Unmarshal(m.DefaultGenesis(), &g); err != nil || g.Params.HistoryBlocks != DefaultHistoryBlocks {
		t.Fatalf("default genesis %s: %v", m.DefaultGenesis(), err)
	}
	for _, raw := range []string{`{"params":{"history_blocks":0}}`, `{"params":{"history_blocks":1}}`, `{}`} {
		if err := m.ValidateGenesis(json.RawMessage(raw), 42); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
	for _, raw := range []string{
		`[`, `{"params":{"history_blocks":-1}}`, `{"params":{"history_blocks":"5"}}`,
		`{"params":{"history_block":5}}`, `{"params":{"history_blocks":1000000001}}`, `{"extra":1}`, `{} {}`,
	} {
		if err := m.ValidateGenesis(json.RawMessage(raw), 42); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}
}

func TestQuery(t *testing.T) {
	alice := mustKey(t, "alice")
	e := newEnv(t, Params{HistoryBlocks: 2}, alice)
	q := func(args string) (View, error) {
		v, err := e.m.Query(e.ctx, "randomness", []byte(args))
		if err != nil {
			return View{}, err
		}
		return v.(View), nil
	}
	_, err := q("")
	wantCode(t, err, types.CodeNotFound)
	var last *randomnessv1.BlockRandomness
	for h := int64(1); h <= 4; h++ {
		last = e.block(h, alice)
	}
	pub := alice.PublicKey()
	for _, args := range []string{"", "null", "4", `"4"`, " 4\n"} {
		v, err := q(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		want := View{
			Height: 4, Output: "0x" + hex.EncodeToString(last.GetOutput()), Proof: "0x" + hex.EncodeToString(last.GetProof()),
			Proposer: "0x" + hex.EncodeToString(alice.Address()), ProposerKey: "0x" + hex.EncodeToString(pub[:]),
			Input: "0x" + hex.EncodeToString(last.GetInput()),
		}
		if v != want {
			t.Fatalf("%q: %+v, want %+v", args, v, want)
		}
	}
	// The view carries what anyone needs to re-verify the proof.
	v, _ := q("3")
	pi, _ := hex.DecodeString(strings.TrimPrefix(v.Proof, "0x"))
	alpha, _ := hex.DecodeString(strings.TrimPrefix(v.Input, "0x"))
	if ok, beta := ecvrf.Verify(pub[:], pi, alpha); !ok || "0x"+hex.EncodeToString(beta) != v.Output {
		t.Fatal("query view does not re-verify")
	}
	for _, args := range []string{"2", "5", "1"} {
		_, err := q(args)
		wantCode(t, err, types.CodeNotFound)
	}
	for _, args := range []string{"0", "-1", "x", "1.5", `{"height":1}`, `"`} {
		_, err := q(args)
		wantCode(t, err, types.CodeInvalidRequest)
	}
	if _, err := e.m.Query(e.ctx, "nope", nil); types.CodeOf(err) != types.CodeInvalidRequest {
		t.Fatalf("unknown path: %v", err)
	}
	p, err := e.m.Query(e.ctx, "params", nil)
	if err != nil || p.(Params).HistoryBlocks != 2 {
		t.Fatalf("params %v %v", p, err)
	}
	// JSON field names are part of the API.
	b, _ := json.Marshal(v)
	for _, f := range []string{"height", "output", "proof", "proposer", "proposer_key", "input", "fallback"} {
		if !bytes.Contains(b, []byte(`"`+f+`":`)) {
			t.Fatalf("view JSON %s lacks %q", b, f)
		}
	}
}

func TestBlockKeyOrder(t *testing.T) {
	// Records iterate in height order (big-endian heights).
	if bytes.Compare(BlockKey(255), BlockKey(256)) >= 0 {
		t.Fatal("block keys are not ordered by height")
	}
	if binary.BigEndian.Uint64(BlockKey(7)[len(prefixBlock):]) != 7 {
		t.Fatal("block key layout")
	}
}
