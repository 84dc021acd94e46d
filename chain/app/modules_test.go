package app

import (
	"bytes"
	"testing"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/contracts"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/randomness"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
)

// TestZeroValueModuleParams: a module's parameter handling lives in its
// type (types.ParamsModule, types.ParamStore), so a module value built
// without New has the same default genesis as the wired one (devnet
// reads (&compute.Module{}).DefaultGenesis()), and a parameters-only
// module initialises the same state from it.
func TestZeroValueModuleParams(t *testing.T) {
	wired := map[string]types.Module{}
	for _, m := range NewModuleSet().Modules {
		wired[m.Name()] = m
	}
	for _, c := range []struct {
		zero types.Module
		// paramsOnly: the whole genesis is the parameters, so InitGenesis
		// needs nothing New would have set.
		paramsOnly bool
	}{
		{&auth.Module{}, true},
		{&mq.Module{}, true},
		{&compute.Module{}, true},
		{&contracts.Module{}, true},
		{&randomness.Module{}, true},
		{&bank.Module{}, false},
		{&registry.Module{}, false},
		{&staking.Module{}, false},
	} {
		name := c.zero.Name()
		w := wired[name]
		if w == nil {
			t.Fatalf("module %s is not in the module set", name)
		}
		raw := w.DefaultGenesis()
		if got := c.zero.DefaultGenesis(); !bytes.Equal(got, raw) {
			t.Fatalf("%s: zero value's DefaultGenesis %s, wired %s", name, got, raw)
		}
		if !c.paramsOnly {
			continue
		}
		zs, ws := store.NewMemory(), store.NewMemory()
		if err := c.zero.InitGenesis(&types.Context{Store: zs, SS58Prefix: 42}, raw); err != nil {
			t.Fatalf("%s: zero value's InitGenesis: %v", name, err)
		}
		if err := w.InitGenesis(&types.Context{Store: ws, SS58Prefix: 42}, raw); err != nil {
			t.Fatalf("%s: InitGenesis: %v", name, err)
		}
		if zs.Len() != 1 || !zs.Equal(ws) || zs.Get([]byte(name+"/params")) == nil {
			t.Fatalf("%s: zero value wrote %d keys, not the wired module's one %q", name, zs.Len(), name+"/params")
		}
	}
}
