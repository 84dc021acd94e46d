package devnet

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/node"
)

// TestStakingGenesisBeyondSixValidators: validators 7+ get derived stashes
// (//Validator7 …) funded in the dev genesis, and the result is a valid
// genesis whose staking section lists every validator's node key.
func TestStakingGenesisBeyondSixValidators(t *testing.T) {
	home := t.TempDir()
	const n = 8
	for i := range n {
		c := node.DevCometConfig(validatorHome(home, i), fmt.Sprintf("v%d", i), 30000+i, 31000+i)
		if _, err := node.Init(validatorHome(home, i), node.InitOptions{Comet: c, Moniker: fmt.Sprintf("v%d", i), SkipGenesis: true}); err != nil {
			t.Fatal(err)
		}
	}
	if ValidatorStashURI(0) != "//Alice" || ValidatorStashURI(5) != "//Ferdie" || ValidatorStashURI(6) != "//Validator7" {
		t.Fatal("stash URIs")
	}
	base, _ := json.Marshal(app.DefaultGenesis(app.NewModuleSet().Modules))
	out, power, err := addStakingGenesis(base, home, n)
	if err != nil {
		t.Fatal(err)
	}
	if power != 100_000 {
		t.Fatalf("power %d", power)
	}
	if _, _, err := app.ParseGenesis(out, app.NewModuleSet().Modules); err != nil {
		t.Fatal(err)
	}
	var st app.GenesisState
	json.Unmarshal(out, &st)
	var sg staking.Genesis
	var bg bank.Genesis
	json.Unmarshal(st[staking.Name], &sg)
	json.Unmarshal(st[bank.Name], &bg)
	if len(sg.Validators) != n || sg.Params.EraLength != 20 {
		t.Fatalf("staking section %+v", sg)
	}
	if len(bg.Balances) != len(bank.DevAccounts)+2 {
		t.Fatalf("%d balances, want the dev accounts + //Validator7, //Validator8", len(bg.Balances))
	}
	for i, v := range sg.Validators {
		pub, _ := node.ValidatorPubKey(validatorHome(home, i))
		k, err := staking.ParseConsensusKey(v.ConsensusPubKey)
		if err != nil || string(k) != string(pub.Bytes()) {
			t.Fatalf("validator %d key", i)
		}
	}
	// An app_state that lists staking validators already is left alone.
	again, _, err := addStakingGenesis(out, home, n)
	if err != nil || string(again) != string(out) {
		t.Fatal("existing staking validators replaced")
	}
}
