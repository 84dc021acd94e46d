package app

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/veil-network/veil/chain/contracts"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

// minimalWasm is the smallest module with the Veil ABI, padded with a
// custom section of n incompressible bytes.
func minimalWasm(n int) []byte {
	sec := func(out []byte, id byte, body []byte) []byte {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		return append(out, body...)
	}
	name := func(b []byte, s string) []byte { return append(binary.AppendUvarint(b, uint64(len(s))), s...) }
	out := []byte("\x00asm\x01\x00\x00\x00")
	out = sec(out, 1, []byte{3, 0x60, 0, 0, 0x60, 0, 1, 0x7f, 0x60, 2, 0x7f, 0x7f, 1, 0x7f})
	out = sec(out, 3, []byte{3, 0, 1, 2})
	out = sec(out, 5, []byte{1, 0, 1})
	ex := []byte{4}
	ex = append(name(ex, "_initialize"), 0, 0)
	ex = append(name(ex, "veil_abi_version"), 0, 1)
	ex = append(name(ex, "veil_call"), 0, 2)
	ex = append(name(ex, "memory"), 2, 0)
	out = sec(out, 7, ex)
	out = sec(out, 10, []byte{3, 2, 0, 0x0b, 4, 0, 0x41, 1, 0x0b, 4, 0, 0x41, 0, 0x0b})
	pad := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range pad {
		pad[i] = byte(r.Uint32())
	}
	return sec(out, 0, append(name(nil, "pad"), pad...))
}

// TestContractsWired: the contracts module is part of the app, has its
// genesis section by default, and a code upload far above the old 64 KiB
// transaction limit goes through CheckTx and a block.
func TestContractsWired(t *testing.T) {
	h := newHarness(t)
	if _, ok := DefaultGenesis(h.app.Modules())[contracts.Name]; !ok {
		t.Fatal("no contracts genesis section")
	}
	code := minimalWasm(300 << 10)
	alice := signer(t, "//Alice")
	b := h.defaults(&contractsv1.MsgUploadCode{Code: code})
	b.fee = "1000000000000"
	raw := h.sign(alice, b)
	if len(raw) < 300<<10 {
		t.Fatalf("tx has %d bytes", len(raw))
	}
	if r := h.check(raw); r.Code != 0 {
		t.Fatalf("CheckTx: %d %s", r.Code, r.Log)
	}
	if res := h.block(raw); res[0].Code != 0 {
		t.Fatalf("block: %s", res[0].Log)
	}
	hash := sha256.Sum256(code)
	out, _, err := h.app.QueryModule(contracts.Name, "code", []byte(`{"hash":"`+hex.EncodeToString(hash[:])+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	var v contracts.CodeView
	if err := json.Unmarshal(out, &v); err != nil || v.Size != uint64(len(code)) {
		t.Fatalf("code view %s: %v", out, err)
	}
	if got := h.app.Tree().Committed().Get(contracts.CodeKey(hash)); len(got) != len(code) {
		t.Fatalf("stored %d bytes", len(got))
	}
}
