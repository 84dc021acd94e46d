package sudo

import (
	"testing"

	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	sudov1 "github.com/veil-network/veil/gen/veil/sudo/v1"
)

func TestSetSudoKey(t *testing.T) {
	m := New()
	ctx := &types.Context{Store: store.NewMemory(), SS58Prefix: 42}
	if err := m.InitGenesis(ctx, m.DefaultGenesis()); err != nil {
		t.Fatal(err)
	}
	alice := Key(ctx.Store)
	if alice.Address(42) != "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" {
		t.Fatalf("default sudo %s", alice.Address(42))
	}
	r := types.NewRouter()
	m.RegisterMessages(r)
	a, _ := types.PackMsg(&sudov1.MsgSetSudoKey{NewSudo: make([]byte, 32)})
	msg, err := r.Decode(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.Execute(ctx, alice); types.CodeOf(err) != types.CodeInvalidAddress {
		t.Fatalf("zero account accepted: %v", err)
	}
	bob := types.AccountID{2}
	a, _ = types.PackMsg(&sudov1.MsgSetSudoKey{NewSudo: bob[:]})
	msg, _ = r.Decode(a)
	if err := msg.Execute(ctx, bob); types.CodeOf(err) != types.CodeUnauthorized {
		t.Fatalf("non-sudo changed the key: %v", err)
	}
	if err := msg.Execute(ctx, alice); err != nil {
		t.Fatal(err)
	}
	if Key(ctx.Store) != bob || Require(ctx, alice, "x") == nil || Require(ctx, bob, "x") != nil {
		t.Fatal("key not handed over")
	}
}

// TestGenesisRefusesUnknownFields: a misspelt key field is an error.
func TestGenesisRefusesUnknownFields(t *testing.T) {
	g := `{"key":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY","kee":"x"}`
	if err := New().ValidateGenesis([]byte(g), 42); err == nil {
		t.Fatal("unknown field accepted")
	}
}
