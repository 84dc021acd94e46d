package compute

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"slices"
	"strings"

	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
)

// ChallengeView is an open challenge in a WorkerView.
type ChallengeView struct {
	Height   int64  `json:"height"`
	Nonce    string `json:"nonce"`
	Deadline int64  `json:"deadline"`
}

// WorkerView is a bound worker as the "worker" and "workers" queries
// return it. Amounts are decimal strings, identities 0x hex, accounts
// SS58.
type WorkerView struct {
	Identity        string         `json:"identity"`
	Operator        string         `json:"operator"`
	PoolID          uint64         `json:"pool_id"`
	State           string         `json:"state"`
	Stake           string         `json:"stake"`
	Score           uint64         `json:"score"`
	ScoreReportedAt int64          `json:"score_reported_at"`
	Value           uint64         `json:"value"`
	Share           uint64         `json:"share"`
	LastHeartbeat   int64          `json:"last_heartbeat"`
	Heartbeats      uint64         `json:"heartbeats"`
	Misses          uint64         `json:"misses"`
	RewardsTotal    string         `json:"rewards_total"`
	PendingRewards  string         `json:"pending_rewards"`
	SlashedTotal    string         `json:"slashed_total"`
	Challenge       *ChallengeView `json:"challenge"`
	BoundAt         int64          `json:"bound_at"`
	ComputingSince  int64          `json:"computing_since"`
	CooldownEndsAt  int64          `json:"cooldown_ends_at"`
	ForcedStop      bool           `json:"forced_stop"`
	Eligible        bool           `json:"eligible"`
}

// WithdrawView is a queued withdrawal in a PoolView.
type WithdrawView struct {
	Account     string `json:"account"`
	Shares      string `json:"shares"`
	RequestedAt int64  `json:"requested_at"`
}

// PoolView is a pool as the "pool" and "pools" queries return it.
// SharePrice is value/total_shares with 12 decimals (rounded down).
type PoolView struct {
	ID              uint64         `json:"id"`
	Owner           string         `json:"owner"`
	CommissionPPM   uint32         `json:"commission_ppm"`
	Account         string         `json:"account"`
	TotalShares     string         `json:"total_shares"`
	Value           string         `json:"value"`
	Free            string         `json:"free"`
	Staked          string         `json:"staked"`
	SharePrice      string         `json:"share_price"`
	Workers         []string       `json:"workers"`
	WithdrawQueue   []WithdrawView `json:"withdraw_queue"`
	CommissionTotal string         `json:"commission_total"`
	CreatedAt       int64          `json:"created_at"`
}

// ContributionView is one pool's shares in the "contributions" query.
type ContributionView struct {
	PoolID       uint64 `json:"pool_id"`
	Shares       string `json:"shares"`
	QueuedShares string `json:"queued_shares"`
	// Value is what Shares are worth at the current share price.
	Value string `json:"value"`
}

// TotalsView is the "totals" query.
type TotalsView struct {
	TotalShare  string `json:"total_share"`
	Accumulator string `json:"accumulator"`
	Carry       string `json:"carry"`
	Active      uint64 `json:"active"`
	Computing   uint64 `json:"computing"`
	TotalStake  string `json:"total_stake"`
	Pot         string `json:"pot"`
	PotAccount  string `json:"pot_account"`
}

// WorkerViewOf renders a worker record for queries.
func WorkerViewOf(ctx *types.Context, w *computev1.ComputeWorker, acc types.Amount) WorkerView {
	v := WorkerView{
		Identity: types.HexID(w.GetIdentity()), Operator: ctx.Address(types.AccountID(w.GetOperator())), PoolID: w.GetPoolId(),
		State: stateName(w.GetState()), Stake: amountOf(w.GetStake()).String(), Score: w.GetScore(),
		ScoreReportedAt: w.GetScoreReportedAt(), Value: w.GetValue(), Share: w.GetShare(),
		LastHeartbeat: w.GetLastHeartbeat(), Heartbeats: w.GetHeartbeats(), Misses: w.GetMisses(),
		RewardsTotal: amountOf(w.GetRewardsTotal()).String(), PendingRewards: pendingReward(w, acc).String(),
		SlashedTotal: amountOf(w.GetSlashedTotal()).String(), BoundAt: w.GetBoundAt(), ComputingSince: w.GetComputingSince(),
		CooldownEndsAt: w.GetCooldownEndsAt(), ForcedStop: w.GetForcedStop(),
		Eligible: IsEligible(ctx.Store, ctx.Height, w.GetIdentity()),
	}
	if c := w.GetChallenge(); c != nil {
		v.Challenge = &ChallengeView{Height: c.GetHeight(), Nonce: types.HexID(c.GetNonce()), Deadline: c.GetDeadline()}
	}
	return v
}

// PoolViewOf renders a pool for queries.
func (m *Module) PoolViewOf(ctx *types.Context, p *computev1.Pool) PoolView {
	b := m.bank.Get(ctx.Store, PoolAccount(p.GetId()))
	total := amountOf(p.GetTotalShares())
	v := PoolView{
		ID: p.GetId(), Owner: ctx.Address(types.AccountID(p.GetOwner())), CommissionPPM: p.GetCommissionPpm(),
		Account: ctx.Address(types.AccountID(p.GetAccount())), TotalShares: total.String(), Value: b.Total().String(),
		Free: b.Free.String(), Staked: b.Reserved.String(), SharePrice: priceString(b.Total(), total),
		Workers: []string{}, WithdrawQueue: []WithdrawView{}, CommissionTotal: amountOf(p.GetCommissionTotal()).String(),
		CreatedAt: p.GetCreatedAt(),
	}
	for _, w := range p.GetWorkers() {
		v.Workers = append(v.Workers, types.HexID(w))
	}
	for _, r := range p.GetWithdrawQueue() {
		v.WithdrawQueue = append(v.WithdrawQueue, WithdrawView{Account: ctx.Address(types.AccountID(r.GetAccount())),
			Shares: amountOf(r.GetShares()).String(), RequestedAt: r.GetRequestedAt()})
	}
	return v
}

// QueryArgs are the arguments of the module's queries.
type QueryArgs struct {
	Identity string `json:"identity"`
	ID       uint64 `json:"id"`
	Account  string `json:"account"`
}

// Query implements types.Querier:
//
//	workers                  [WorkerView] by identity (every bound worker)
//	worker {"identity"}      WorkerView
//	pools                    [PoolView] by id
//	pool {"id"}              PoolView
//	contributions {"account"} [ContributionView] by pool (SS58 or 0x hex)
//	params                   Params
//	totals                   TotalsView
func (m *Module) Query(ctx *types.Context, path string, args []byte) (any, error) {
	var a QueryArgs
	if len(args) > 0 {
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, types.Errf(types.CodeInvalidRequest, "arguments: %v", err)
		}
	}
	switch path {
	case "workers":
		var ws []*computev1.ComputeWorker
		ctx.Store.Iterate(prefixWorker, func(_, v []byte) bool {
			w := &computev1.ComputeWorker{}
			types.DecodeProto(v, w)
			ws = append(ws, w)
			return true
		})
		acc := loadGlobals(ctx.Store).Acc
		out := make([]WorkerView, 0, len(ws))
		for _, w := range ws {
			out = append(out, WorkerViewOf(ctx, w, acc))
		}
		return out, nil
	case "worker":
		id, err := registry.ParseIdentity(a.Identity)
		if err != nil {
			return nil, err
		}
		w := Worker(ctx.Store, id)
		if w == nil {
			return nil, types.Errf(types.CodeNotFound, "worker %s is not bound", types.HexID(id))
		}
		return WorkerViewOf(ctx, w, loadGlobals(ctx.Store).Acc), nil
	case "pools":
		var ps []*computev1.Pool
		ctx.Store.Iterate(prefixPool, func(_, v []byte) bool {
			p := &computev1.Pool{}
			types.DecodeProto(v, p)
			ps = append(ps, p)
			return true
		})
		out := make([]PoolView, 0, len(ps))
		for _, p := range ps {
			out = append(out, m.PoolViewOf(ctx, p))
		}
		return out, nil
	case "pool":
		p := Pool(ctx.Store, a.ID)
		if p == nil {
			return nil, types.Errf(types.CodeNotFound, "no pool %d", a.ID)
		}
		return m.PoolViewOf(ctx, p), nil
	case "contributions":
		who, err := types.ParseAddress(strings.TrimSpace(a.Account), ctx.SS58Prefix)
		if err != nil {
			return nil, err
		}
		type held struct {
			id     uint64
			shares types.Amount
		}
		var hs []held
		p := key(prefixShares, who[:])
		ctx.Store.Iterate(p, func(k, v []byte) bool {
			if len(k) == len(p)+8 {
				s, _ := types.AmountFromBytes(v)
				hs = append(hs, held{id: binary.BigEndian.Uint64(k[len(p):]), shares: s})
			}
			return true
		})
		// Accounts whose every share waits in a queue hold no shares key;
		// the pools' queues name them.
		queued := map[uint64]types.Amount{}
		var queuedIDs []uint64
		ctx.Store.Iterate(prefixQueued, func(k, _ []byte) bool {
			if len(k) == len(prefixQueued)+8 {
				queuedIDs = append(queuedIDs, binary.BigEndian.Uint64(k[len(prefixQueued):]))
			}
			return true
		})
		for _, id := range queuedIDs {
			for _, r := range Pool(ctx.Store, id).GetWithdrawQueue() {
				if types.AccountID(r.GetAccount()) == who {
					queued[id] = queued[id].AddSat(amountOf(r.GetShares()))
				}
			}
		}
		out := []ContributionView{}
		seen := map[uint64]bool{}
		add := func(id uint64, shares types.Amount) {
			seen[id] = true
			pool := Pool(ctx.Store, id)
			_, value := m.poolFunds(ctx.Store, id)
			out = append(out, ContributionView{PoolID: id, Shares: shares.String(), QueuedShares: queued[id].String(),
				Value: shares.MulDivSat(value, amountOf(pool.GetTotalShares())).String()})
		}
		for _, h := range hs {
			add(h.id, h.shares)
		}
		for _, id := range queuedIDs {
			if _, ok := queued[id]; ok && !seen[id] {
				add(id, types.Amount{})
			}
		}
		slices.SortFunc(out, func(x, y ContributionView) int { return cmp.Compare(x.PoolID, y.PoolID) })
		return out, nil
	case "params":
		return m.Params(ctx.Store), nil
	case "totals":
		g := loadGlobals(ctx.Store)
		return TotalsView{TotalShare: g.TotalShare.String(), Accumulator: g.Acc.String(), Carry: g.Carry.String(),
			Active: g.Active, Computing: g.Computing, TotalStake: g.TotalStake.String(),
			Pot: m.bank.Get(ctx.Store, PotAccount).Free.String(), PotAccount: ctx.Address(PotAccount)}, nil
	}
	return nil, types.Errf(types.CodeInvalidRequest, "unknown compute query %q (workers, worker, pools, pool, contributions, params, totals)", path)
}
