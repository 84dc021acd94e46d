// Package staking is Veil's nominated proof of stake (Polkadot's
// pallet-staking on CometBFT): stashes bond tokens (held as bank reserved
// balance), declare the intention to validate with a commission and a
// CometBFT consensus key, or nominate up to 16 validators. At every era
// boundary the module runs an NPoS election (npos.SeqPhragmen or PhragMMS)
// and returns the winners to CometBFT as the validator set; it pays each
// ended era's inflation to validators and nominators by era points and
// exposure, slashes equivocation evidence and chills validators that stop
// signing. docs/staking.md describes the model and every rule.
//
// Everything here is deterministic chain code: block time only, sorted
// iteration, integer arithmetic, bounded work per block.
package staking

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"filippo.io/edwards25519"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

// Name is the module name and state prefix.
const Name = "staking"

// Module implements types.Module, types.EndBlocker and types.Querier.
type Module struct {
	// ParamStore provides Params and SetParams.
	types.ParamStore[Params, paramsKey]
	bank *bank.Module
}

// New returns the staking module; bonds are reserved in b.
func New(b *bank.Module) *Module { return &Module{bank: b} }

// Name implements types.Module.
func (*Module) Name() string { return Name }

// paramsKey places the parameters under keyParams (types.ParamStore).
type paramsKey struct{}

func (paramsKey) Key() []byte { return keyParams }

// GenesisValidator is a stash that validates from genesis.
type GenesisValidator struct {
	// Stash is the SS58 address (or 0x id) of the bonded account; it must
	// hold Bond as free balance in the bank section.
	Stash string       `json:"stash"`
	Bond  types.Amount `json:"bond"`
	// Commission in parts per billion.
	Commission Perbill `json:"commission"`
	// ConsensusPubKey is the CometBFT ed25519 key, hex (64 digits) or
	// base64 as in genesis.json.
	ConsensusPubKey string `json:"consensus_pubkey"`
}

// GenesisNominator is a stash that nominates from genesis.
type GenesisNominator struct {
	Stash   string       `json:"stash"`
	Bond    types.Amount `json:"bond"`
	Targets []string     `json:"targets"`
}

// Genesis is the module's genesis section. With validators, the genesis
// election's winners replace genesis.json's validator set (InitChain
// returns them); without, CometBFT keeps genesis.json's set, which staking
// then knows nothing of (see docs/staking.md).
type Genesis struct {
	Params     Params             `json:"params"`
	Validators []GenesisValidator `json:"validators"`
	Nominators []GenesisNominator `json:"nominators,omitempty"`
}

// DefaultGenesis is the dev chain's: DevParams and no stakers (the dev
// network adds its validators, see DevGenesis).
func (*Module) DefaultGenesis() json.RawMessage {
	b, _ := json.Marshal(Genesis{Params: DevParams(), Validators: []GenesisValidator{}})
	return b
}

// DevValidator is one validator of a dev network.
type DevValidator struct {
	Stash           types.AccountID
	Bond            types.Amount
	Commission      Perbill
	ConsensusPubKey []byte
}

// DevGenesis is the staking section of a dev network whose validators are
// vals, with params p.
func DevGenesis(p Params, vals []DevValidator, prefix uint16) json.RawMessage {
	g := Genesis{Params: p, Validators: []GenesisValidator{}}
	for _, v := range vals {
		g.Validators = append(g.Validators, GenesisValidator{
			Stash: v.Stash.Address(prefix), Bond: v.Bond, Commission: v.Commission,
			ConsensusPubKey: hex.EncodeToString(v.ConsensusPubKey),
		})
	}
	b, _ := json.Marshal(g)
	return b
}

// ParseConsensusKey decodes a CometBFT ed25519 public key given as hex
// (64 digits, optional 0x) or base64 (as genesis.json and CometBFT's RPC
// print it) and checks it with ValidateConsensusKey.
func ParseConsensusKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	var b []byte
	var err error
	if h := strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"); len(h) == 64 {
		b, err = hex.DecodeString(h)
	} else {
		b, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("consensus key is neither 64 hex digits nor base64: %w", err)
	}
	if err := ValidateConsensusKey(b); err != nil {
		return nil, err
	}
	return b, nil
}

// ValidateConsensusKey accepts 32 bytes that decode to an ed25519 point
// outside the small-order subgroup. CometBFT would accept any 32 bytes,
// but a key no one can sign with would only waste a seat.
func ValidateConsensusKey(b []byte) error {
	if len(b) != 32 {
		return fmt.Errorf("consensus key has %d bytes, want 32", len(b))
	}
	p, err := new(edwards25519.Point).SetBytes(b)
	if err != nil {
		return errors.New("consensus key is not an ed25519 point")
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return errors.New("consensus key is a small-order point")
	}
	return nil
}

type parsedGenesis struct {
	g      Genesis
	vals   []types.AccountID
	keys   [][]byte
	noms   []types.AccountID
	nomTgt [][]types.AccountID
}

func parseGenesis(raw json.RawMessage, prefix uint16) (*parsedGenesis, error) {
	var g Genesis
	if err := types.DecodeStrict(raw, &g); err != nil {
		return nil, fmt.Errorf("staking genesis: %w", err)
	}
	if err := g.Params.Validate(); err != nil {
		return nil, fmt.Errorf("staking genesis params: %w", err)
	}
	pg := &parsedGenesis{g: g}
	seen := map[types.AccountID]bool{}
	seenKey := map[string]bool{}
	if len(g.Validators) > int(g.Params.MaxValidators) {
		return nil, fmt.Errorf("staking genesis: %d validators exceed max_validators %d", len(g.Validators), g.Params.MaxValidators)
	}
	if len(g.Nominators) > int(g.Params.MaxNominators) {
		return nil, fmt.Errorf("staking genesis: %d nominators exceed max_nominators %d", len(g.Nominators), g.Params.MaxNominators)
	}
	for i, v := range g.Validators {
		id, err := types.ParseAddress(v.Stash, prefix)
		if err != nil {
			return nil, fmt.Errorf("staking genesis validator %d: %w", i, err)
		}
		if seen[id] {
			return nil, fmt.Errorf("staking genesis: stash %s listed twice", v.Stash)
		}
		seen[id] = true
		if belowMinimum(v.Bond, g.Params.MinValidatorBond) {
			return nil, fmt.Errorf("staking genesis validator %s: bond %s is below min_validator_bond %s", v.Stash, v.Bond, g.Params.MinValidatorBond)
		}
		if v.Commission > PerbillOne {
			return nil, fmt.Errorf("staking genesis validator %s: commission above 10^9 parts", v.Stash)
		}
		k, err := ParseConsensusKey(v.ConsensusPubKey)
		if err != nil {
			return nil, fmt.Errorf("staking genesis validator %s: %w", v.Stash, err)
		}
		if seenKey[string(k)] {
			return nil, fmt.Errorf("staking genesis validator %s: consensus key used twice", v.Stash)
		}
		seenKey[string(k)] = true
		pg.vals = append(pg.vals, id)
		pg.keys = append(pg.keys, k)
	}
	isVal := map[types.AccountID]bool{}
	for _, v := range pg.vals {
		isVal[v] = true
	}
	for i, n := range g.Nominators {
		id, err := types.ParseAddress(n.Stash, prefix)
		if err != nil {
			return nil, fmt.Errorf("staking genesis nominator %d: %w", i, err)
		}
		if seen[id] {
			return nil, fmt.Errorf("staking genesis: stash %s listed twice", n.Stash)
		}
		seen[id] = true
		if belowMinimum(n.Bond, g.Params.MinNominatorBond) {
			return nil, fmt.Errorf("staking genesis nominator %s: bond %s is below min_nominator_bond %s", n.Stash, n.Bond, g.Params.MinNominatorBond)
		}
		if len(n.Targets) == 0 || len(n.Targets) > int(g.Params.MaxNominations) {
			return nil, fmt.Errorf("staking genesis nominator %s: %d targets, want 1..%d", n.Stash, len(n.Targets), g.Params.MaxNominations)
		}
		var tg []types.AccountID
		dup := map[types.AccountID]bool{}
		for _, t := range n.Targets {
			tid, err := types.ParseAddress(t, prefix)
			if err != nil {
				return nil, fmt.Errorf("staking genesis nominator %s target: %w", n.Stash, err)
			}
			if !isVal[tid] || dup[tid] {
				return nil, fmt.Errorf("staking genesis nominator %s: target %s is not a genesis validator or is repeated", n.Stash, t)
			}
			dup[tid] = true
			tg = append(tg, tid)
		}
		pg.noms = append(pg.noms, id)
		pg.nomTgt = append(pg.nomTgt, tg)
	}
	return pg, nil
}

// ValidateGenesis implements types.Module.
func (*Module) ValidateGenesis(raw json.RawMessage, prefix uint16) error {
	_, err := parseGenesis(raw, prefix)
	return err
}

// InitGenesis implements types.Module: bonds the genesis stakers (their
// bank balances must exist: bank initialises first), runs the genesis
// election and returns its winners as the initial validator set.
func (m *Module) InitGenesis(ctx *types.Context, raw json.RawMessage) error {
	pg, err := parseGenesis(raw, ctx.SS58Prefix)
	if err != nil {
		return err
	}
	s := ctx.Store
	m.SetParams(s, pg.g.Params)
	types.SetProto(s, eraKey(0, "info", nil), &stakingv1.EraInfo{StartHeight: ctx.Height, StartTimeMs: ctx.Time.UnixMilli()})
	types.SetUint64(s, keyCurrentEra, 0)
	types.SetUint64(s, keyOldestEra, 0)
	staked := Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_STAKED}
	for i, v := range pg.g.Validators {
		id := pg.vals[i]
		if err := m.bank.Reserve(ctx, id, v.Bond); err != nil {
			return fmt.Errorf("staking genesis: bond of %s: %w", v.Stash, err)
		}
		m.setLedger(s, id, Ledger{Total: v.Bond, Active: v.Bond, Payee: staked})
		m.setPrefs(s, id, &stakingv1.ValidatorPrefs{Commission: uint32(v.Commission), ConsensusPubkey: pg.keys[i]})
		bindKey(s, id, pg.keys[i])
	}
	for i, n := range pg.g.Nominators {
		id := pg.noms[i]
		if err := m.bank.Reserve(ctx, id, n.Bond); err != nil {
			return fmt.Errorf("staking genesis: bond of %s: %w", n.Stash, err)
		}
		m.setLedger(s, id, Ledger{Total: n.Bond, Active: n.Bond, Payee: staked})
		nm := &stakingv1.Nominations{}
		for _, t := range pg.nomTgt[i] {
			nm.Targets = append(nm.Targets, append([]byte(nil), t[:]...))
		}
		m.setNominations(s, id, nm)
	}
	if len(pg.vals) == 0 {
		return nil
	}
	out, reason := m.elect(s, pg.g.Params)
	if reason != "" {
		return fmt.Errorf("staking genesis election failed: %s", reason)
	}
	m.writeExposures(s, 0, out)
	upd := map[[32]byte]int64{}
	m.applySet(ctx, out, upd)
	ctx.SetValidatorUpdates(sortedUpdates(upd))
	return nil
}
