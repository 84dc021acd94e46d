package staking

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

// Query paths (module "staking").
const (
	QueryValidators = "validators"
	QueryCandidates = "candidates"
	QueryEra        = "era"
	QueryLedger     = "ledger"
	QueryNominators = "nominators"
	QueryParams     = "params"
)

// IndividualView is one nominator's stake in an exposure.
type IndividualView struct {
	Who   string       `json:"who"`
	Value types.Amount `json:"value"`
}

// ExposureView is a validator's backing in an era.
type ExposureView struct {
	Total  types.Amount     `json:"total"`
	Own    types.Amount     `json:"own"`
	Others []IndividualView `json:"others"`
}

// ValidatorView is a member of the consensus set.
type ValidatorView struct {
	Stash            string        `json:"stash"`
	ConsensusPubKey  string        `json:"consensus_pubkey"`
	ConsensusAddress string        `json:"consensus_address"`
	Power            int64         `json:"power"`
	Commission       Perbill       `json:"commission"`
	CommissionText   string        `json:"commission_percent"`
	Points           uint32        `json:"points"`
	Exposure         *ExposureView `json:"exposure"`
}

// ValidatorsView is the "validators" query result: the consensus set as
// staking last returned it to CometBFT (in force two blocks after that),
// with the current era's exposures, by descending power.
type ValidatorsView struct {
	Era        uint64          `json:"era"`
	TotalPower int64           `json:"total_power"`
	Candidates uint32          `json:"candidates"`
	Nominators uint32          `json:"nominators"`
	Validators []ValidatorView `json:"validators"`
}

// CandidateView is a declared validator intention.
type CandidateView struct {
	Stash           string       `json:"stash"`
	Active          types.Amount `json:"active"`
	Commission      Perbill      `json:"commission"`
	ConsensusPubKey string       `json:"consensus_pubkey"`
}

// StakerPoints are a validator's era points.
type StakerPoints struct {
	Stash  string `json:"stash"`
	Points uint32 `json:"points"`
}

// PastEra summarises the previous era.
type PastEra struct {
	Era         uint64       `json:"era"`
	Payout      types.Amount `json:"payout"`
	TotalStaked types.Amount `json:"total_staked"`
	TotalPoints uint32       `json:"total_points"`
}

// EraView is the "era" query result.
type EraView struct {
	Era                uint64         `json:"era"`
	StartHeight        int64          `json:"start_height"`
	StartTime          string         `json:"start_time"`
	EraLength          int64          `json:"era_length"`
	NextElectionHeight int64          `json:"next_election_height"`
	TotalPoints        uint32         `json:"total_points"`
	Points             []StakerPoints `json:"points"`
	PendingPayouts     int            `json:"pending_payouts"`
	Previous           *PastEra       `json:"previous,omitempty"`
}

// ChunkView is an unlocking chunk.
type ChunkView struct {
	Value types.Amount `json:"value"`
	Era   uint64       `json:"era"`
}

// LedgerView is the "ledger" query result.
type LedgerView struct {
	Stash        string       `json:"stash"`
	Total        types.Amount `json:"total"`
	Active       types.Amount `json:"active"`
	Unlocking    []ChunkView  `json:"unlocking"`
	Withdrawable types.Amount `json:"withdrawable"`
	Payee        string       `json:"payee"`
	// Role is "validator", "nominator" or "idle".
	Role            string   `json:"role"`
	Commission      *Perbill `json:"commission,omitempty"`
	ConsensusPubKey string   `json:"consensus_pubkey,omitempty"`
	Targets         []string `json:"targets,omitempty"`
}

// NominatorView is one nominator.
type NominatorView struct {
	Stash       string       `json:"stash"`
	Active      types.Amount `json:"active"`
	Targets     []string     `json:"targets"`
	SubmittedIn uint64       `json:"submitted_in"`
}

// StashQuery is the argument of "ledger".
type StashQuery struct {
	Stash string `json:"stash"`
}

// NominatorsQuery optionally filters "nominators" by target.
type NominatorsQuery struct {
	Validator string `json:"validator,omitempty"`
}

// Query implements types.Querier.
func (m *Module) Query(ctx *types.Context, path string, args []byte) (any, error) {
	s := ctx.Store
	switch path {
	case QueryParams:
		return m.Params(s), nil
	case QueryValidators:
		return m.queryValidators(ctx), nil
	case QueryCandidates:
		// The iteration yields the prefs; ledgers are read after it.
		var ids []types.AccountID
		out := []CandidateView{}
		s.Iterate(prefixValidator, func(k, v []byte) bool {
			var pr stakingv1.ValidatorPrefs
			types.DecodeProto(v, &pr)
			id := accountOf(k[len(prefixValidator):])
			ids = append(ids, id)
			out = append(out, CandidateView{Stash: id.Address(ctx.SS58Prefix),
				Commission: Perbill(pr.GetCommission()), ConsensusPubKey: hex.EncodeToString(pr.GetConsensusPubkey())})
			return true
		})
		for i, id := range ids {
			l, _ := m.ledger(s, id)
			out[i].Active = l.Active
		}
		return out, nil
	case QueryEra:
		return m.queryEra(ctx), nil
	case QueryLedger:
		var q StashQuery
		if err := decodeArgs(args, &q); err != nil {
			return nil, err
		}
		id, err := types.ParseAddress(q.Stash, ctx.SS58Prefix)
		if err != nil {
			return nil, types.Errf(types.CodeInvalidRequest, "stash: %v", err)
		}
		v, ok := m.ledgerView(ctx, id)
		if !ok {
			return nil, types.Errf(types.CodeNotFound, "%s is not bonded", q.Stash)
		}
		return v, nil
	case QueryNominators:
		var q NominatorsQuery
		if len(args) > 0 {
			if err := decodeArgs(args, &q); err != nil {
				return nil, err
			}
		}
		var filter *types.AccountID
		if q.Validator != "" {
			id, err := types.ParseAddress(q.Validator, ctx.SS58Prefix)
			if err != nil {
				return nil, types.Errf(types.CodeInvalidRequest, "validator: %v", err)
			}
			filter = &id
		}
		return m.queryNominators(ctx, filter), nil
	}
	return nil, types.Errf(types.CodeNotFound, "unknown staking query %q (validators, candidates, era, ledger, nominators, params)", path)
}

func decodeArgs(args []byte, v any) error {
	if err := types.DecodeStrict(args, v); err != nil {
		return types.Errf(types.CodeInvalidRequest, "query arguments: %v", err)
	}
	return nil
}

func exposureView(s types.KVStore, era uint64, stash types.AccountID, ov *stakingv1.ExposureOverview, prefix uint16) *ExposureView {
	e := &ExposureView{Total: parseStored(ov.GetTotal(), "total"), Own: parseStored(ov.GetOwn(), "own"), Others: []IndividualView{}}
	if ov.GetNominatorCount() > 0 {
		for _, o := range others(s, era, stash) {
			e.Others = append(e.Others, IndividualView{Who: accountOf(o.GetWho()).Address(prefix), Value: parseStored(o.GetValue(), "value")})
		}
	}
	return e
}

func (m *Module) queryValidators(ctx *types.Context) ValidatorsView {
	s := ctx.Store
	era := CurrentEra(s)
	v := ValidatorsView{Era: era, Validators: []ValidatorView{},
		Candidates: getU32(s, keyCountValidators), Nominators: getU32(s, keyCountNominators)}
	for _, a := range activeSet(s) {
		stash := a.stash
		vv := ValidatorView{
			Stash: stash.Address(ctx.SS58Prefix), ConsensusPubKey: hex.EncodeToString(a.pub[:]),
			ConsensusAddress: strings.ToUpper(hex.EncodeToString(ConsensusAddress(a.pub[:]))), Power: a.power,
			Points: getU32(s, eraKey(era, "points", &stash)),
		}
		if ov, ok := overview(s, era, stash); ok {
			vv.Commission = Perbill(ov.GetCommission())
			vv.Exposure = exposureView(s, era, stash, ov, ctx.SS58Prefix)
		}
		vv.CommissionText = vv.Commission.String()
		v.TotalPower += a.power
		v.Validators = append(v.Validators, vv)
	}
	slices.SortStableFunc(v.Validators, func(a, b ValidatorView) int {
		switch {
		case a.Power > b.Power:
			return -1
		case a.Power < b.Power:
			return 1
		}
		return strings.Compare(a.Stash, b.Stash)
	})
	return v
}

func (m *Module) queryEra(ctx *types.Context) EraView {
	s := ctx.Store
	p := m.Params(s)
	era := CurrentEra(s)
	v := EraView{Era: era, EraLength: p.EraLength, Points: []StakerPoints{}}
	if info, ok := eraInfo(s, era); ok {
		v.StartHeight = info.GetStartHeight()
		v.StartTime = time.UnixMilli(info.GetStartTimeMs()).UTC().Format(time.RFC3339Nano)
	}
	if p.EraLength > 0 {
		v.NextElectionHeight = (ctx.Height/p.EraLength + 1) * p.EraLength
	}
	for _, ev := range eraValidators(s, era) {
		st := ev.stash
		pts := getU32(s, eraKey(era, "points", &st))
		v.TotalPoints += pts
		v.Points = append(v.Points, StakerPoints{Stash: st.Address(ctx.SS58Prefix), Points: pts})
	}
	s.Iterate(prefixPayQueue, func(_, _ []byte) bool { v.PendingPayouts++; return true })
	if era > 0 {
		if info, ok := eraInfo(s, era-1); ok && info.GetEnded() {
			v.Previous = &PastEra{Era: era - 1, Payout: parseStored(info.GetPayout(), "payout"),
				TotalStaked: parseStored(info.GetTotalStaked(), "staked"), TotalPoints: info.GetTotalPoints()}
		}
	}
	return v
}

func (m *Module) ledgerView(ctx *types.Context, id types.AccountID) (LedgerView, bool) {
	s := ctx.Store
	l, ok := m.ledger(s, id)
	if !ok {
		return LedgerView{}, false
	}
	cur := CurrentEra(s)
	v := LedgerView{Stash: id.Address(ctx.SS58Prefix), Total: l.Total, Active: l.Active, Unlocking: []ChunkView{},
		Payee: payeeString(ctx, l.Payee), Role: "idle"}
	for _, c := range l.Unlocking {
		v.Unlocking = append(v.Unlocking, ChunkView{Value: c.Value, Era: c.Era})
		if c.Era <= cur {
			v.Withdrawable = v.Withdrawable.AddSat(c.Value)
		}
	}
	if pr, ok := m.prefs(s, id); ok {
		c := Perbill(pr.GetCommission())
		v.Role, v.Commission, v.ConsensusPubKey = "validator", &c, hex.EncodeToString(pr.GetConsensusPubkey())
	}
	if n, ok := m.nominations(s, id); ok {
		v.Role = "nominator"
		for _, t := range n.GetTargets() {
			v.Targets = append(v.Targets, accountOf(t).Address(ctx.SS58Prefix))
		}
	}
	return v, true
}

func (m *Module) queryNominators(ctx *types.Context, filter *types.AccountID) []NominatorView {
	s := ctx.Store
	type entry struct {
		id types.AccountID
		n  *stakingv1.Nominations
	}
	// The iteration yields the nominations; ledgers are read after it.
	var list []entry
	s.Iterate(prefixNominator, func(k, v []byte) bool {
		n := new(stakingv1.Nominations)
		types.DecodeProto(v, n)
		if filter == nil || slices.ContainsFunc(n.GetTargets(), func(t []byte) bool { return bytes.Equal(t, filter[:]) }) {
			list = append(list, entry{accountOf(k[len(prefixNominator):]), n})
		}
		return true
	})
	out := make([]NominatorView, 0, len(list))
	for _, e := range list {
		l, _ := m.ledger(s, e.id)
		nv := NominatorView{Stash: e.id.Address(ctx.SS58Prefix), Active: l.Active, SubmittedIn: e.n.GetSubmittedIn()}
		for _, t := range e.n.GetTargets() {
			nv.Targets = append(nv.Targets, accountOf(t).Address(ctx.SS58Prefix))
		}
		out = append(out, nv)
	}
	return out
}
