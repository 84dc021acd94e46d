package app

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

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
		if err := types.DecodeStrict(sec, &cp); err != nil {
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

// GenesisHash identifies a chain's genesis: SHA-256 over a domain tag, the
// chain id, the initial height, the genesis time and SHA-256 of the
// app_state bytes. It is computed from exactly what InitChain receives, so
// the chain, workers (whose attestation report data binds it) and tools
// holding genesis.json all derive the same value without agreeing on a
// JSON canonicalisation.
func GenesisHash(chainID string, initialHeight int64, genesisTime time.Time, appState []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte("veil/genesis/v1\x00"))
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(chainID))))
	h.Write([]byte(chainID))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(initialHeight)))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(genesisTime.UnixNano())))
	st := sha256.Sum256(appState)
	h.Write(st[:])
	return [32]byte(h.Sum(nil))
}
