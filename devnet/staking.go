package devnet

import (
	"encoding/json"
	"fmt"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/node"
)

// DevValidatorBond is what each dev validator's stash bonds at genesis:
// 100,000 VEIL (a tenth of a dev account's endowment), which is voting
// power 100,000 at the default power unit.
var DevValidatorBond = types.MustParseAmount("100000000000000000")

// DevValidatorCommission of the dev validators: 5%.
const DevValidatorCommission staking.Perbill = 50_000_000

// ValidatorStashURI is the secret URI of dev validator i's stash: the
// Substrate dev accounts //Alice … //Ferdie for the first six (funded by
// the bank's dev genesis), then //Validator7, //Validator8, … (funded by
// the dev network's genesis).
func ValidatorStashURI(i int) string {
	if i < len(bank.DevAccounts) {
		return "//" + bank.DevAccounts[i].Name
	}
	return fmt.Sprintf("//Validator%d", i+1)
}

// ValidatorStash is dev validator i's stash account.
func ValidatorStash(i int) (types.AccountID, error) {
	s, err := keys.FromURI(ValidatorStashURI(i), keys.SchemeSr25519)
	if err != nil {
		return types.AccountID{}, err
	}
	return types.AccountID(s.Public().Key), nil
}

// addStakingGenesis makes the network's n validators the staking module's
// genesis validators (stash ValidatorStashURI(i), consensus key from the
// validator's home, DevValidatorBond each), unless the app_state's staking
// section lists validators already. Staking's InitChain then returns them
// as the validator set, and the dev chain's eras (20 blocks, DevParams)
// re-elect it. It returns the voting power staking gives each (genesis.json lists them
// with it).
func addStakingGenesis(appState json.RawMessage, home string, n int) (json.RawMessage, int64, error) {
	var st app.GenesisState
	if err := json.Unmarshal(appState, &st); err != nil {
		return nil, 0, fmt.Errorf("dev genesis app_state: %w", err)
	}
	var sg staking.Genesis
	raw, ok := st[staking.Name]
	if !ok {
		raw = (&staking.Module{}).DefaultGenesis()
	}
	if err := json.Unmarshal(raw, &sg); err != nil {
		return nil, 0, fmt.Errorf("dev genesis staking section: %w", err)
	}
	unit, _ := sg.Params.PowerUnit.Uint64()
	power := staking.Powers([]types.Amount{DevValidatorBond}, unit)[0]
	if len(sg.Validators) > 0 {
		return appState, power, nil
	}
	var bg bank.Genesis
	if err := json.Unmarshal(st[bank.Name], &bg); err != nil {
		return nil, 0, fmt.Errorf("dev genesis bank section: %w", err)
	}
	var vals []staking.DevValidator
	for i := range n {
		stash, err := ValidatorStash(i)
		if err != nil {
			return nil, 0, err
		}
		fundDev(&bg, stash.Address(42))
		pub, err := node.ValidatorPubKey(validatorHome(home, i))
		if err != nil {
			return nil, 0, err
		}
		vals = append(vals, staking.DevValidator{Stash: stash, Bond: DevValidatorBond, Commission: DevValidatorCommission, ConsensusPubKey: pub.Bytes()})
	}
	st[staking.Name] = staking.DevGenesis(sg.Params, vals, 42)
	var err error
	if st[bank.Name], err = json.Marshal(bg); err != nil {
		return nil, 0, err
	}
	out, err := json.Marshal(st)
	return out, power, err
}

// editGenesis applies Options.EditGenesis.
func editGenesis(appState json.RawMessage, edit func(app.GenesisState) error) (json.RawMessage, error) {
	if edit == nil {
		return appState, nil
	}
	var st app.GenesisState
	if err := json.Unmarshal(appState, &st); err != nil {
		return nil, fmt.Errorf("dev genesis app_state: %w", err)
	}
	if err := edit(st); err != nil {
		return nil, fmt.Errorf("edit dev genesis: %w", err)
	}
	return json.Marshal(st)
}
