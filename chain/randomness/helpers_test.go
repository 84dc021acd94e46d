package randomness

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"testing"

	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	randomnessv1 "github.com/veil-network/veil/gen/veil/randomness/v1"
)

const testChainID = "veil-randomness-test"

var testGenesisHash = sha256.Sum256([]byte("randomness test genesis"))

// cometKey is a CometBFT-format ed25519 private key (seed ‖ public key)
// derived from name, as privval's FilePV stores one.
func cometKey(name string) []byte {
	seed := sha256.Sum256([]byte("validator " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func mustKey(t testing.TB, name string) *Key {
	t.Helper()
	k, err := NewKey(cometKey(name))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// env is the module on an in-memory store with a key registry.
type env struct {
	t   testing.TB
	m   *Module
	s   *store.Memory
	ctx *types.Context
}

func newEnv(t testing.TB, p Params, validators ...*Key) *env {
	t.Helper()
	m := New()
	s := store.NewMemory()
	ctx := &types.Context{Store: s, ChainID: testChainID, GenesisHash: testGenesisHash, Height: 1, SS58Prefix: 42}
	raw, _ := json.Marshal(Genesis{Params: p})
	if err := m.ValidateGenesis(raw, 42); err != nil {
		t.Fatal(err)
	}
	if err := m.InitGenesis(ctx, raw); err != nil {
		t.Fatal(err)
	}
	var ups []types.ValidatorUpdate
	for _, k := range validators {
		ups = append(ups, types.ValidatorUpdate{PubKey: k.PublicKey(), Power: 10})
	}
	RecordKeys(s, ups)
	return &env{t: t, m: m, s: s, ctx: ctx}
}

// prove builds height's proof transaction for k over the current state.
func (e *env) prove(height int64, k *Key) []byte {
	e.t.Helper()
	raw, err := Prove(e.s, testChainID, testGenesisHash, height, k)
	if err != nil {
		e.t.Fatal(err)
	}
	return raw
}

func (e *env) verify(height int64, proposer, raw []byte) (*randomnessv1.BlockRandomness, error) {
	return Verify(e.s, testChainID, testGenesisHash, height, proposer, raw)
}

// apply records r as height's randomness and returns the events.
func (e *env) apply(r *randomnessv1.BlockRandomness) []types.Event {
	e.t.Helper()
	ctx := e.ctx.WithStore(e.s)
	ctx.Height = r.GetHeight()
	e.m.Apply(ctx, r)
	return ctx.Events()
}

// block proves, verifies and applies height with proposer k.
func (e *env) block(height int64, k *Key) *randomnessv1.BlockRandomness {
	e.t.Helper()
	r, err := e.verify(height, k.Address(), e.prove(height, k))
	if err != nil {
		e.t.Fatalf("block %d: %v", height, err)
	}
	e.apply(r)
	return r
}

// wantCode fails unless err carries code.
func wantCode(t testing.TB, err error, code types.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s (%d)", CodeName(code), code)
	}
	var te *types.Error
	if !errors.As(err, &te) || te.Code != code {
		t.Fatalf("error %v, want %s (%d)", err, CodeName(code), code)
	}
}

func attrs(ev types.Event) map[string]string {
	m := map[string]string{}
	for _, a := range ev.Attrs {
		m[a.Key] = a.Value
	}
	return m
}
