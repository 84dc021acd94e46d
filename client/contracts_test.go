package client

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veil-network/veil/chain/contracts"
	"github.com/veil-network/veil/chain/types"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
)

func TestParseContractID(t *testing.T) {
	hexID := "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	for _, s := range []string{hexID, "0x" + hexID, " 0X" + hexID + " "} {
		id, err := ParseContractID(s)
		if err != nil || id.Hex() != hexID {
			t.Fatalf("%q: %v %s", s, err, id)
		}
	}
	for _, bad := range []string{"", "0x12", hexID + "00", "zz" + hexID[2:]} {
		if _, err := ParseContractID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestContractIDFor(t *testing.T) {
	var deployer types.AccountID
	deployer[0] = 1
	hash := sha256.Sum256([]byte("code"))
	want := sha256.Sum256(append(append(append([]byte("veil/contract-id/v1\x00"), deployer[:]...), hash[:]...), "salt"...))
	if got := ContractIDFor(deployer, hash, []byte("salt")); got != ContractID(want) {
		t.Fatalf("id %s", got)
	}
	if ContractIDFor(deployer, hash, nil) == ContractIDFor(deployer, hash, []byte{0}) {
		t.Fatal("salt ignored")
	}
	if k := CodeKey(hash); !bytes.Equal(k, append([]byte("contracts/code/"), hash[:]...)) {
		t.Fatalf("code key %q", k)
	}
}

// TestCommandKey reads the command key from the chain's "contract"
// answer (ContractView's JSON, the key in base64) and refuses a record
// without published keys or with a key that is not X-Wing.
func TestCommandKey(t *testing.T) {
	sk, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	want := sk.PublicKey().Bytes()
	decode := func(v contracts.ContractView) *ContractInfo {
		t.Helper()
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var ci ContractInfo
		if err := json.Unmarshal(b, &ci); err != nil {
			t.Fatal(err)
		}
		return &ci
	}
	ci := decode(contracts.ContractView{ID: "ab", HPKEPublicKey: want, KeysPublished: true})
	pk, err := CommandKey(ci)
	if err != nil || !bytes.Equal(pk.Bytes(), want) {
		t.Fatalf("command key: %v", err)
	}
	if _, err := CommandKey(decode(contracts.ContractView{ID: "ab"})); err == nil || !strings.Contains(err.Error(), "no published keys") {
		t.Fatalf("unpublished keys: %v", err)
	}
	if _, err := CommandKey(decode(contracts.ContractView{ID: "ab", HPKEPublicKey: want[:32], KeysPublished: true})); err == nil || !strings.Contains(err.Error(), "invalid HPKE public key") {
		t.Fatalf("short key: %v", err)
	}
}

func TestEventSequence(t *testing.T) {
	var id ContractID
	id[0] = 0xab
	res := &nodev1.TxResult{Hash: []byte{1}, Events: []*nodev1.Event{
		{Type: "transfer", Attributes: []*nodev1.EventAttribute{{Key: "sequence", Value: "9"}}},
		{Type: EventContractCommand, Attributes: []*nodev1.EventAttribute{{Key: "contract", Value: "00"}, {Key: "sequence", Value: "8"}}},
		{Type: EventContractCommand, Attributes: []*nodev1.EventAttribute{{Key: "contract", Value: "0x" + id.Hex()}, {Key: "sequence", Value: "7"}}},
	}}
	if seq, err := eventSequence(res, EventContractCommand, id); err != nil || seq != 7 {
		t.Fatalf("sequence %d, %v", seq, err)
	}
	if _, err := eventSequence(res, EventContractDeposit, id); err == nil {
		t.Fatal("missing event not reported")
	}
}

func TestNextCallNonceIncreases(t *testing.T) {
	cs := &Contracts{}
	last := cs.NextCallNonce()
	for range 10000 {
		n := cs.NextCallNonce()
		if n <= last {
			t.Fatalf("nonce %d after %d", n, last)
		}
		last = n
	}
	if now := uint64(time.Now().UnixNano()); last > now+10_000_000_000 {
		t.Fatalf("nonce %d runs far ahead of the clock %d", last, now)
	}
}

func TestReceiptErr(t *testing.T) {
	if (&Receipt{Status: StatusOK}).Err() != nil {
		t.Fatal("ok is an error")
	}
	if !IsNotAuthorized(&ContractError{Code: CodeReverted, Message: "not authorized"}) || !IsNotAuthorized(&ContractError{Code: CodeNotAuthorized}) ||
		IsNotAuthorized(&ContractError{Code: CodeReverted, Message: "no note"}) || IsNotAuthorized(errors.New("not authorized")) {
		t.Fatal("IsNotAuthorized")
	}
	err := (&Receipt{Status: StatusReverted, Error: "insufficient balance"}).Err()
	if !IsContractCode(err, StatusReverted) || err.Error() != "contract: reverted: insufficient balance" {
		t.Fatalf("err %v", err)
	}
}

func TestLoadContractCode(t *testing.T) {
	dir := t.TempDir()
	wasm := append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Repeat([]byte{0}, 100)...)
	raw := filepath.Join(dir, "c.wasm")
	if err := os.WriteFile(raw, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	gz, err := gzipCode(wasm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gzip.NewReader(bytes.NewReader(gz)); err != nil {
		t.Fatal(err)
	}
	zipped := filepath.Join(dir, "c.wasm.gz")
	if err := os.WriteFile(zipped, gz, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{raw, zipped} {
		got, err := LoadContractCode(context.Background(), p)
		if err != nil || !bytes.Equal(got, wasm) {
			t.Fatalf("%s: %v", p, err)
		}
	}
	bad := filepath.Join(dir, "x.wasm")
	os.WriteFile(bad, []byte("hello"), 0o644)
	if _, err := LoadContractCode(context.Background(), bad); err == nil {
		t.Fatal("non-wasm accepted")
	}
	if _, err := LoadContractCode(context.Background(), filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file accepted")
	}
}

// TestBuildContract builds the hello-world example with the Go toolchain.
func TestBuildContract(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wasm, err := BuildContract(ctx, "../contracts/examples/hello-world")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(wasm, []byte("\x00asm")) || len(wasm) < 100_000 {
		t.Fatalf("not a Go wasm module (%d bytes)", len(wasm))
	}
	if _, err := BuildContract(ctx, t.TempDir()); err == nil {
		t.Fatal("empty directory built")
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := BuildContract(ctx, "../contracts/examples/hello-world"); err == nil || !bytes.Contains([]byte(err.Error()), []byte("Go toolchain")) {
		t.Fatalf("missing toolchain: %v", err)
	}
}

// TestLoadContractCodeSizeLimit: a gzip module inflates to at most the
// chain's limit, inclusive, as the chain's own decompression allows.
func TestLoadContractCodeSizeLimit(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		size int
		ok   bool
	}{{contracts.DefaultMaxCodeBytes, true}, {contracts.DefaultMaxCodeBytes + 1, false}} {
		wasm := make([]byte, c.size)
		copy(wasm, "\x00asm\x01\x00\x00\x00")
		gz, err := gzipCode(wasm)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "c.wasm.gz")
		if err := os.WriteFile(p, gz, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := LoadContractCode(context.Background(), p)
		if c.ok && (err != nil || len(got) != c.size) {
			t.Fatalf("%d bytes: %d, %v", c.size, len(got), err)
		}
		if !c.ok && err == nil {
			t.Fatalf("%d bytes accepted", c.size)
		}
	}
}
