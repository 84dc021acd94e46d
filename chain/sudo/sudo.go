// Package sudo holds the governance key of dev and test chains: one account
// whose signature authorises privileged calls (measurement allowlists,
// parameters, balances). Production chains can set it to a multisig-held
// key or hand it to a future governance module with MsgSetSudoKey.
package sudo

import (
	"encoding/json"
	"fmt"

	"github.com/veil-network/veil/chain/types"
	sudov1 "github.com/veil-network/veil/gen/veil/sudo/v1"
)

// Name is the module name and state prefix.
const Name = "sudo"

var keySudo = []byte("sudo/key")

// Genesis is the module's genesis section.
type Genesis struct {
	// Key is the SS58 address (or 0x hex id) of the governance account.
	Key string `json:"key"`
}

// Module implements types.Module.
type Module struct{}

// New returns the sudo module.
func New() *Module { return &Module{} }

// Name implements types.Module.
func (*Module) Name() string { return Name }

// DefaultGenesis names //Alice, as Substrate dev chains do.
func (*Module) DefaultGenesis() json.RawMessage {
	return json.RawMessage(`{"key":"5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"}`)
}

func parse(raw json.RawMessage, prefix uint16) (types.AccountID, error) {
	var g Genesis
	if err := types.DecodeStrict(raw, &g); err != nil {
		return types.AccountID{}, fmt.Errorf("sudo genesis: %w", err)
	}
	id, err := types.ParseAddress(g.Key, prefix)
	if err != nil {
		return types.AccountID{}, fmt.Errorf("sudo genesis key: %w", err)
	}
	return id, nil
}

// ValidateGenesis implements types.Module.
func (*Module) ValidateGenesis(raw json.RawMessage, prefix uint16) error {
	_, err := parse(raw, prefix)
	return err
}

// InitGenesis implements types.Module.
func (*Module) InitGenesis(ctx *types.Context, raw json.RawMessage) error {
	id, err := parse(raw, ctx.SS58Prefix)
	if err != nil {
		return err
	}
	ctx.Store.Set(keySudo, id[:])
	return nil
}

// Key returns the current governance account.
func Key(s types.KVStore) types.AccountID {
	var id types.AccountID
	copy(id[:], s.Get(keySudo))
	return id
}

// Require fails unless sender is the governance account.
func Require(ctx *types.Context, sender types.AccountID, what string) error {
	if k := Key(ctx.Store); k.IsZero() || k != sender {
		return types.Errf(types.CodeUnauthorized, "%s requires the sudo account", what)
	}
	return nil
}

// RegisterMessages implements types.Module.
func (*Module) RegisterMessages(r *types.Router) {
	types.Handle(r, 1, func(ctx *types.Context, sender types.AccountID, m *sudov1.MsgSetSudoKey) error {
		if err := Require(ctx, sender, "set_sudo_key"); err != nil {
			return err
		}
		next, err := types.AccountFromBytes(m.GetNewSudo())
		if err != nil {
			return err
		}
		if next.IsZero() {
			return types.Errf(types.CodeInvalidAddress, "new sudo account must not be the zero account")
		}
		ctx.Store.Set(keySudo, next[:])
		ctx.Emit("sudo_key_changed", types.Attr{Key: "old", Value: ctx.Address(sender)}, types.Attr{Key: "new", Value: ctx.Address(next)})
		return nil
	})
}
