package app

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/veil-network/veil/chain/types"
)

// ChainParams are chain-wide constants fixed at genesis.
type ChainParams struct {
	// SS58Prefix is the address network prefix (42 = generic Substrate, dev).
	SS58Prefix    uint16 `json:"ss58_prefix"`
	TokenSymbol   string `json:"token_symbol"`
	TokenDecimals uint8  `json:"token_decimals"`
}

// DefaultChainParams are the dev chain's.
func DefaultChainParams() ChainParams {
	return ChainParams{SS58Prefix: 42, TokenSymbol: "VEIL", TokenDecimals: 12}
}

// GenesisState is the app_state of CometBFT's genesis.json: the chain
// parameters plus one section per module, keyed by module name.
type GenesisState map[string]json.RawMessage

const chainSection = "chain"

// DefaultGenesis builds a dev genesis from every module's defaults.
func DefaultGenesis(mods []types.Module) GenesisState {
	g := GenesisState{}
	cp, _ := json.Marshal(DefaultChainParams())
	g[chainSection] = cp
	for _, m := range mods {
		g[m.Name()] = m.DefaultGenesis()
	}
	return g
}

// ParseGenesis decodes and validates app_state against the modules.
func ParseGenesis(raw []byte, mods []types.Module) (ChainParams, GenesisState, error) {
	var g GenesisState
	if err := json.Unmarshal(raw, &g); err != nil {
		return ChainParams{}, nil, fmt.Errorf("app_state is not a JSON object: %w", err)
	}
	cp := DefaultChainParams()
	if sec, ok := g[chainSection]; ok {
		if err := json.Unmarshal(sec, &cp); err != nil {
			return ChainParams{}, nil, fmt.Errorf("app_state.chain: %w", err)
		}
	}
	if cp.SS58Prefix > 16383 {
		return ChainParams{}, nil, fmt.Errorf("app_state.chain.ss58_prefix %d is out of range 0..16383", cp.SS58Prefix)
	}
	known := map[string]bool{chainSection: true}
	for _, m := range mods {
		known[m.Name()] = true
		sec, ok := g[m.Name()]
		if !ok {
			sec = m.DefaultGenesis()
			g[m.Name()] = sec
		}
		if err := m.ValidateGenesis(sec, cp.SS58Prefix); err != nil {
			return ChainParams{}, nil, fmt.Errorf("app_state.%s: %w", m.Name(), err)
		}
	}
	var unknown []string
	for k := range g {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	if len(unknown) > 0 {
		return ChainParams{}, nil, fmt.Errorf("app_state has unknown sections %v", unknown)
	}
	return cp, g, nil
}
