package staking

import (
	"math"
	"math/big"
	"testing"

	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

func TestRewardSplitExact(t *testing.T) {
	r, left := splitReward(amt(1_000_000), 30, 100, 100_000_000, amt(1000), amt(4000))
	if r != (Reward{Validator: amt(300_000), Commission: amt(30_000), Own: amt(97_500)}) || left != amt(270_000) {
		t.Fatalf("split %+v left %s", r, left)
	}
	if n := left.MulDivSat(amt(3000), amt(4000)); n != amt(202_500) {
		t.Fatalf("nominator %s", n)
	}
	// Rounding down at every step: 7/13 of 1,000,003 with 33.3333333%
	// commission, own 1234 of 9999.
	r, left = splitReward(amt(1_000_003), 7, 13, 333_333_333, amt(1234), amt(9999))
	if r != (Reward{Validator: amt(538_463), Commission: amt(179_487), Own: amt(223_789)}) || left != amt(358_976) {
		t.Fatalf("split %+v left %s", r, left)
	}
	if n := left.MulDivSat(amt(8765), amt(9999)); n != amt(314_673) {
		t.Fatalf("nominator %s", n)
	}
	// 100% commission: everything to the validator.
	r, _ = splitReward(amt(1000), 1, 1, PerbillOne, amt(1), amt(10))
	if r.Own != amt(1000) {
		t.Fatalf("full commission %+v", r)
	}
}

func TestEraPayoutExact(t *testing.T) {
	in := DefaultParams().Inflation // 2.5% .. 10%, ideal 75%, falloff 5%
	iss := types.MustParseAmount("1000000000000000000")
	year := int64(MillisPerYear)
	cases := []struct {
		staked       string
		ms           int64
		stakers, rem string
	}{
		{"0", year, "25000000000000000", "75000000000000000"},                    // x = 0: min inflation
		{"750000000000000000", year, "100000000000000000", "0"},                  // x = ideal: max inflation
		{"375000000000000000", year, "62500000000000000", "37500000000000000"},   // half-way: 2.5% + 7.5%/2
		{"375000000000000000", 86_400_000, "171115674195756", "102669404517454"}, // one day of it
		{"0", 0, "0", "0"},
	}
	for _, c := range cases {
		s, r := EraPayout(types.MustParseAmount(c.staked), iss, c.ms, in)
		if s.String() != c.stakers || r.String() != c.rem {
			t.Errorf("staked %s over %d ms: stakers %s rest %s, want %s %s", c.staked, c.ms, s, r, c.stakers, c.rem)
		}
	}
	// Above the ideal rate the curve falls off: everything staked gives
	// adj = 2^((0.75−1)/0.05) = 1/32, so 2.5% + 7.5%/32 = 2.734375%; the
	// Taylor series lands 14 parts per billion of adj below.
	if s, _ := EraPayout(iss, iss, year, in); s.String() != "27343749000000000" {
		t.Errorf("fully staked payout %s", s)
	}
}

// TestComputeInflationCurve compares the integer Taylor series with the
// real curve (floats only here, in the test).
func TestComputeInflationCurve(t *testing.T) {
	for x := Perbill(750_000_000); x <= PerbillOne; x += 10_000_000 {
		got := float64(computeInflation(x, 750_000_000, 50_000_000)) / 1e9
		want := math.Pow(2, (0.75-float64(x)/1e9)/0.05)
		if math.Abs(got-want) > 1e-6 {
			t.Errorf("x=%v: %.9f, want %.9f", x, got, want)
		}
	}
	if got := computeInflation(300_000_000, 600_000_000, 50_000_000); got != 500_000_000 {
		t.Errorf("below ideal: %d", got)
	}
	if got := computeInflation(900_000_000, 600_000_000, 1); got != 0 {
		t.Errorf("falloff below 1%%: %d", got)
	}
}

// TestRewardsPaidAfterEra runs an era with known points and checks every
// staker's payment against an independent big-integer computation of the
// inflation curve and the split (commission first, then pro rata).
func TestRewardsPaidAfterEra(t *testing.T) {
	p := testParams()
	e := newEnv(t, p, genVal{1, 1000, 100_000_000}, genVal{2, 1000, 0})
	e.mustExec(acct(10), bondStash(3000))
	e.mustExec(acct(10), nominateMsg(1))
	e.mustExec(acct(11), &stakingv1.MsgBond{Value: tok(1000).String(), Payee: &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_ACCOUNT, Account: func() []byte { a := acct(12); return a[:] }()}})
	e.mustExec(acct(11), nominateMsg(1, 2))
	e.toEraEnd() // era 1 with the nominators exposed
	if e.era() != 1 {
		t.Fatal("era")
	}
	v1, v2 := ConsensusAddress(consKey(1)), ConsensusAddress(consKey(2))
	votes := func() *types.BlockInfo {
		return &types.BlockInfo{Proposer: v1, Votes: []types.VoteInfo{{Address: v1, Signed: true}, {Address: v2, Signed: true}}}
	}
	for range p.EraLength - 1 {
		e.block(votes())
	}
	stakers := []types.AccountID{acct(1), acct(2), acct(10), acct(11), acct(12)}
	before := map[types.AccountID]types.Amount{}
	for _, a := range stakers {
		before[a] = e.balance(a).Total()
	}
	iss := e.bank.Issuance(e.store)
	e.block(votes()) // era 1 ends; all its payouts fit in this block's budget
	if e.era() != 2 {
		t.Fatal("era 2 did not start")
	}

	// Independent computation.
	bi := func(a types.Amount) *big.Int { return a.Big() }
	var staked types.Amount
	for _, v := range eraValidators(e.store, 1) {
		staked = staked.AddSat(parseStored(v.ov.GetTotal(), ""))
	}
	x := new(big.Int).Quo(new(big.Int).Mul(bi(staked), big.NewInt(1e9)), bi(iss)).Int64()
	adj := x * 1e9 / 750_000_000 // x is far below the ideal rate here
	rate := 25_000_000 + 75_000_000*adj/1e9
	pay := new(big.Int).Mul(bi(iss), big.NewInt(rate))
	pay.Mul(pay, big.NewInt(p.EraLength*6000))
	pay.Quo(pay, new(big.Int).Mul(big.NewInt(1e9), big.NewInt(MillisPerYear)))
	info, _ := eraInfo(e.store, 1)
	if info.GetPayout() != pay.String() {
		t.Fatalf("era payout %s, want %s", info.GetPayout(), pay)
	}
	if info.GetTotalPoints() != 220 { // 10 blocks × 20 + 10 signatures, + 10 signatures
		t.Fatalf("points %d", info.GetTotalPoints())
	}
	want := map[types.AccountID]*big.Int{}
	add := func(a types.AccountID, v *big.Int) {
		if want[a] == nil {
			want[a] = new(big.Int)
		}
		want[a].Add(want[a], v)
	}
	for _, v := range eraValidators(e.store, 1) {
		st := v.stash
		pts := int64(getU32(e.store, eraKey(1, "points", &st)))
		vp := new(big.Int).Quo(new(big.Int).Mul(pay, big.NewInt(pts)), big.NewInt(220))
		c := new(big.Int).Quo(new(big.Int).Mul(vp, big.NewInt(int64(v.ov.GetCommission()))), big.NewInt(1e9))
		left := new(big.Int).Sub(vp, c)
		total := bi(parseStored(v.ov.GetTotal(), ""))
		share := func(x types.Amount) *big.Int { return new(big.Int).Quo(new(big.Int).Mul(left, bi(x)), total) }
		add(st, new(big.Int).Add(c, share(parseStored(v.ov.GetOwn(), ""))))
		for _, o := range others(e.store, 1, st) {
			who := accountOf(o.GetWho())
			if who == acct(11) {
				who = acct(12) // its payee
			}
			add(who, share(parseStored(o.GetValue(), "")))
		}
	}
	minted := new(big.Int)
	for _, a := range stakers {
		got := bi(e.balance(a).Total().SubSat(before[a]))
		w := want[a]
		if w == nil {
			w = new(big.Int)
		}
		if got.Cmp(w) != 0 {
			t.Errorf("%v received %s, want %s", a, got, w)
		}
		minted.Add(minted, w)
	}
	if want[acct(1)].Sign() == 0 || want[acct(10)].Sign() == 0 || want[acct(12)].Sign() == 0 {
		t.Fatal("test setup pays nobody")
	}
	// Re-staked (genesis validators' payee) vs free.
	if b := e.balance(acct(1)); b.Free != tok(999_000) || b.Reserved.Cmp(tok(1000)) <= 0 {
		t.Fatalf("validator reward not re-staked: %+v", b)
	}
	if d := bi(e.bank.Issuance(e.store).SubSat(iss)); d.Cmp(minted) != 0 {
		t.Fatalf("issuance grew by %s, stakers got %s", d, minted)
	}
}

func TestPayoutBatching(t *testing.T) {
	p := testParams()
	p.PayoutsPerBlock = 2
	e := newEnv(t, p, genVal{1, 1000, 0}, genVal{2, 1000, 0})
	for i := 10; i < 15; i++ {
		e.mustExec(acct(i), bondStash(100))
		e.mustExec(acct(i), nominateMsg(1))
	}
	e.toEraEnd()
	for len(queued(e)) > 0 { // era 0's payouts
		e.block(nil)
	}
	e.events = nil
	e.toEraEnd()
	// Era 1: validator 1 with 5 nominators (6 payments) and validator 2 (1).
	if q := queued(e); len(q) != 2 {
		t.Fatalf("queue after era end %v", q)
	}
	if n := len(e.eventsOf("reward")); n != 2 {
		t.Fatalf("%d rewards in the boundary block, want 2", n)
	}
	blocks := 0
	for len(queued(e)) > 0 {
		e.block(nil)
		blocks++
	}
	if blocks != 3 || len(e.eventsOf("reward")) != 7 {
		t.Fatalf("drained in %d more blocks with %d rewards", blocks, len(e.eventsOf("reward")))
	}
	info, _ := eraInfo(e.store, 1)
	var paid types.Amount
	for _, ev := range e.eventsOf("reward") {
		paid = paid.AddSat(types.MustParseAmount(attr(ev, "amount")))
	}
	if payout := parseStored(info.GetPayout(), ""); paid.Cmp(payout) > 0 || payout.SubSat(paid).Cmp(amt(10)) > 0 {
		t.Fatalf("paid %s of %s", paid, payout)
	}
}

func queued(e *env) []string {
	var out []string
	e.store.Iterate(prefixPayQueue, func(k, _ []byte) bool { out = append(out, string(k)); return true })
	return out
}

func TestPointsOnlyForElected(t *testing.T) {
	e := newEnv(t, testParams(), genVal{1, 1000, 0})
	outsider := consKey(9)
	bindKey(e.store, acct(9), outsider)
	e.block(&types.BlockInfo{Proposer: ConsensusAddress(outsider), Votes: []types.VoteInfo{
		{Address: ConsensusAddress(consKey(1)), Signed: true}, {Address: ConsensusAddress(outsider), Signed: true}, {Address: []byte("junk"), Signed: true},
	}})
	a1, a9 := acct(1), acct(9)
	if getU32(e.store, eraKey(0, "points", &a1)) != 1 || e.store.Has(eraKey(0, "points", &a9)) {
		t.Fatal("points")
	}
}

// A staked total above the issuance (only reachable by saturation) counts
// as 100% staked; its Perbill fraction must not wrap around 2^32.
func TestEraPayoutStakedAboveIssuance(t *testing.T) {
	iss := types.NewAmount(1_000_000_000_000_000_000)
	staked, _ := types.NewAmount(1<<32 + 5).Mul64(1_000_000_000) // ⌊staked·10⁹/iss⌋ = 2³²+5
	in := DefaultParams().Inflation
	wantS, wantR := EraPayout(iss, iss, 3_600_000, in)
	gotS, gotR := EraPayout(staked, iss, 3_600_000, in)
	if gotS != wantS || gotR != wantR {
		t.Fatalf("EraPayout(staked > issuance) = %s, %s; want %s, %s", gotS, gotR, wantS, wantR)
	}
}
