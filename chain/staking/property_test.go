package staking

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

// randomOps drives the module with a random mix of every message, blocks
// with random participation and equivocation evidence, and governance
// changes. The env checks after every step: issuance = sum of balances,
// every ledger = active + unlocking = its stash's reserved balance, the
// intention counters, and that the validator updates are valid for
// CometBFT (removals of members only, never an empty set, bounded power)
// and leave the module's idea of the set equal to CometBFT's.
func randomOps(t *testing.T, r *rand.Rand, steps int) *env {
	p := testParams()
	p.Slashing = Slashing{DowntimeWindow: 6, DowntimeMaxMissed: 3}
	e := newEnv(t, p, genVal{1, 1000, 0}, genVal{2, 1500, 50_000_000}, genVal{3, 800, 0}, genVal{4, 600, PerbillOne})
	who := func() types.AccountID { return acct(1 + r.IntN(16)) }
	amount := func() string {
		switch r.IntN(4) {
		case 0:
			return amt(uint64(r.IntN(1000))).String()
		case 1:
			return "0"
		default:
			return tok(uint64(r.IntN(3000))).String()
		}
	}
	for i := 0; i < steps; i++ {
		s := who()
		var msg proto.Message
		// Weighted: nominations and blocks are the interesting part.
		op := []int{0, 0, 1, 2, 3, 4, 5, 5, 5, 5, 6, 7, 9, 9, 9, 9, 9, 9, 9, 9}[r.IntN(20)]
		if r.IntN(60) == 0 {
			op = 8
		}
		switch op {
		case 0:
			msg = &stakingv1.MsgBond{Value: amount(), Payee: &stakingv1.Payee{Kind: stakingv1.PayeeKind(r.IntN(4))}}
		case 1:
			msg = &stakingv1.MsgBondExtra{Value: amount()}
		case 2:
			msg = &stakingv1.MsgUnbond{Value: amount()}
		case 3:
			msg = &stakingv1.MsgWithdrawUnbonded{}
		case 4:
			msg = validateMsg(1+r.IntN(20), Perbill(r.Uint32N(uint32(PerbillOne)+2)))
		case 5:
			var ts []int
			n, span := 1+r.IntN(3), 5 // mostly validators
			if r.IntN(5) == 0 {
				n, span = r.IntN(19), 16
			}
			for range n {
				ts = append(ts, 1+r.IntN(span))
			}
			msg = nominateMsg(ts...)
		case 6:
			msg = &stakingv1.MsgChill{}
		case 7:
			a := who()
			msg = &stakingv1.MsgSetPayee{Payee: &stakingv1.Payee{Kind: stakingv1.PayeeKind(r.IntN(4)), Account: a[:]}}
		case 8:
			q := e.m.Params(e.store)
			q.ValidatorCount = uint32(1 + r.IntN(5))
			q.MinValidatorCount = uint32(1 + r.IntN(int(q.ValidatorCount)))
			q.EraLength = int64(3 + r.IntN(8))
			q.Election = []string{ElectionSeqPhragmen, ElectionPhragMMS}[r.IntN(2)]
			q.PayoutsPerBlock = uint32(1 + r.IntN(4))
			b, _ := json.Marshal(q)
			msg = &stakingv1.MsgSetStakingParams{ParamsJson: string(b)}
			s = acct(sudoIdx)
		default:
			bi := e.allSigned()
			for j := range bi.Votes {
				bi.Votes[j].Signed = r.IntN(15) > 0
			}
			if len(bi.Votes) > 0 {
				bi.Proposer = bi.Votes[r.IntN(len(bi.Votes))].Address
				if r.IntN(40) == 0 {
					bi.Misbehavior = append(bi.Misbehavior, types.Misbehavior{Kind: types.MisbehaviorDuplicateVote,
						Address: bi.Votes[r.IntN(len(bi.Votes))].Address, Height: e.height - int64(r.IntN(15))})
				}
			}
			e.block(bi)
			continue
		}
		_ = e.exec(s, msg)
	}
	return e
}

func TestRandomOperationsKeepInvariants(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		e := randomOps(t, rand.New(rand.NewPCG(seed, 77)), 2500)
		if e.era() < 3 {
			t.Errorf("seed %d: only %d eras", seed, e.era())
		}
		if len(e.eventsOf("slashed")) == 0 || len(e.eventsOf("reward")) == 0 {
			t.Errorf("seed %d: no slash or reward exercised", seed)
		}
	}
}

// FuzzStakingMessages feeds arbitrary bytes as every staking message and as
// consensus input: nothing may panic, a refused message must leave state
// untouched, and the invariants must hold.
func FuzzStakingMessages(f *testing.F) {
	f.Add([]byte{0, 1, 5, 0x0a, 0x03, '1', '0', '0'})
	f.Add([]byte{4, 2, 40, 0x10, 0x01, 0x12, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32})
	f.Add([]byte{9, 3, 2, 1, 0, 9, 9, 9, 9})
	urls := []proto.Message{&stakingv1.MsgBond{}, &stakingv1.MsgBondExtra{}, &stakingv1.MsgUnbond{}, &stakingv1.MsgWithdrawUnbonded{},
		&stakingv1.MsgValidate{}, &stakingv1.MsgNominate{}, &stakingv1.MsgChill{}, &stakingv1.MsgSetPayee{}, &stakingv1.MsgSetStakingParams{}}
	f.Fuzz(func(t *testing.T, data []byte) {
		e := newEnv(t, testParams(), genVal{1, 1000, 0}, genVal{2, 1000, 0})
		for len(data) >= 3 {
			op, sender, n := int(data[0]), acct(1+int(data[1])%12), int(data[2])
			data = data[3:]
			body := data[:min(n, len(data))]
			data = data[len(body):]
			if op%10 == 9 {
				bi := e.allSigned()
				for j, b := range body {
					if j < len(bi.Votes) {
						bi.Votes[j].Signed = b&1 == 0
					}
					if b == 0xEE && len(bi.Votes) > 0 {
						bi.Misbehavior = append(bi.Misbehavior, types.Misbehavior{Kind: types.MisbehaviorDuplicateVote, Address: bi.Votes[0].Address, Height: e.height - int64(j)})
					}
				}
				e.block(bi)
				continue
			}
			if op%10 == 8 {
				sender = acct(sudoIdx)
			}
			dm, err := e.router.Decode(&anypb.Any{TypeUrl: types.TypeURL(urls[op%10%9]), Value: body})
			if err != nil {
				continue
			}
			ctx := e.ctx()
			before := e.store.Clone()
			if err := dm.Execute(ctx, sender); err != nil {
				if !before.Equal(e.store) {
					t.Fatalf("refused %s changed state", dm.TypeURL)
				}
				if types.CodeOf(err) == types.CodeInternal {
					t.Fatalf("uncoded error: %v", err)
				}
			}
			e.checkInvariants()
		}
	})
}
