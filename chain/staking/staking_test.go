package staking

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

func TestGenesisElectsAndReturnsUpdates(t *testing.T) {
	e := newEnv(t, testParams(), genVal{1, 1000, 50_000_000}, genVal{2, 2000, 0}, genVal{3, 3000, 0})
	got := updatesByStash(e, e.updates)
	want := map[types.AccountID]int64{acct(1): 1000, acct(2): 2000, acct(3): 3000}
	if len(got) != len(want) {
		t.Fatalf("genesis updates %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("genesis power of %v: %d, want %d", k, got[k], v)
		}
	}
	for i, u := range e.updates[1:] {
		if string(e.updates[i].PubKey[:]) >= string(u.PubKey[:]) {
			t.Fatal("updates are not sorted by public key")
		}
	}
	if b := e.balance(acct(2)); b.Reserved != tok(2000) || b.Free != tok(998_000) {
		t.Fatalf("genesis bond not reserved: %+v", b)
	}
	ov, ok := overview(e.store, 0, acct(1))
	if !ok || ov.GetOwn() != tok(1000).String() || ov.GetTotal() != tok(1000).String() || ov.GetCommission() != 50_000_000 {
		t.Fatalf("era 0 exposure %v", ov)
	}
	// Without validators the module returns no updates (CometBFT keeps
	// genesis.json's set).
	e2 := newEnv(t, testParams())
	if len(e2.updates) != 0 {
		t.Fatalf("updates without genesis validators: %v", e2.updates)
	}
}

func TestGenesisValidation(t *testing.T) {
	m := New(nil)
	if err := m.ValidateGenesis(m.DefaultGenesis(), 42); err != nil {
		t.Fatal(err)
	}
	good := GenesisValidator{Stash: acct(1).Address(42), Bond: tok(1000), ConsensusPubKey: "0x" + hexKey(1)}
	cases := map[string]Genesis{
		"duplicate key":   {Params: DevParams(), Validators: []GenesisValidator{good, {Stash: acct(2).Address(42), Bond: tok(1000), ConsensusPubKey: hexKey(1)}}},
		"duplicate stash": {Params: DevParams(), Validators: []GenesisValidator{good, {Stash: acct(1).Address(42), Bond: tok(1000), ConsensusPubKey: hexKey(2)}}},
		"bad key":         {Params: DevParams(), Validators: []GenesisValidator{{Stash: good.Stash, Bond: tok(1000), ConsensusPubKey: "abcd"}}},
		"low bond":        {Params: DevParams(), Validators: []GenesisValidator{{Stash: good.Stash, Bond: tok(1), ConsensusPubKey: hexKey(1)}}},
		"commission":      {Params: DevParams(), Validators: []GenesisValidator{{Stash: good.Stash, Bond: tok(1000), Commission: PerbillOne + 1, ConsensusPubKey: hexKey(1)}}},
		"bad params":      {Params: Params{}, Validators: []GenesisValidator{}},
		"nominator of non-validator": {Params: DevParams(), Validators: []GenesisValidator{good},
			Nominators: []GenesisNominator{{Stash: acct(3).Address(42), Bond: tok(100), Targets: []string{acct(4).Address(42)}}}},
	}
	for name, g := range cases {
		raw, _ := json.Marshal(g)
		if err := m.ValidateGenesis(raw, 42); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := m.ValidateGenesis(json.RawMessage(`{"params":{},"validators":[],"extra":1}`), 42); err == nil {
		t.Error("unknown field accepted")
	}
}

func hexKey(i int) string { return new(big.Int).SetBytes(consKey(i)).Text(16) }

func TestBondUnbondWithdrawLifecycle(t *testing.T) {
	e := newEnv(t, testParams(), genVal{1, 1000, 0})
	s := acct(10)
	free0 := e.balance(s).Free
	e.mustExec(s, bondStash(50))
	wantCode(t, e.exec(s, bondStash(50)), CodeAlreadyBonded)
	e.mustExec(s, &stakingv1.MsgBondExtra{Value: tok(25).String()})
	if l := e.ledger(10); l.Active != tok(75) || l.Total != tok(75) {
		t.Fatalf("ledger %+v", l)
	}
	wantCode(t, e.exec(s, &stakingv1.MsgUnbond{Value: tok(76).String()}), CodeInsufficientBond)
	wantCode(t, e.exec(s, &stakingv1.MsgUnbond{Value: tok(70).String()}), CodeBelowMinimum)
	e.mustExec(s, &stakingv1.MsgUnbond{Value: tok(15).String()})
	e.mustExec(s, &stakingv1.MsgUnbond{Value: tok(10).String()}) // same era: merged into one chunk
	if l := e.ledger(10); l.Active != tok(50) || len(l.Unlocking) != 1 || l.Unlocking[0] != (Chunk{tok(25), 2}) {
		t.Fatalf("after unbond %+v", l)
	}
	wantCode(t, e.exec(s, &stakingv1.MsgWithdrawUnbonded{}), CodeNothingToWithdraw)
	e.toEraEnd()
	if e.era() != 1 {
		t.Fatalf("era %d", e.era())
	}
	wantCode(t, e.exec(s, &stakingv1.MsgWithdrawUnbonded{}), CodeNothingToWithdraw)
	e.toEraEnd()
	e.mustExec(s, &stakingv1.MsgWithdrawUnbonded{})
	if b := e.balance(s); b.Reserved != tok(50) {
		t.Fatalf("after withdraw %+v", b)
	}
	// Unbonding everything, then withdrawing, removes the ledger.
	e.mustExec(s, &stakingv1.MsgUnbond{Value: tok(50).String()})
	e.toEraEnd()
	e.toEraEnd()
	e.mustExec(s, &stakingv1.MsgWithdrawUnbonded{})
	if _, ok := e.m.ledger(e.store, s); ok {
		t.Fatal("empty ledger kept")
	}
	if b := e.balance(s); !b.Reserved.IsZero() || b.Free != free0 {
		t.Fatalf("after full withdraw %+v, want free %s", b, free0)
	}
	wantCode(t, e.exec(s, &stakingv1.MsgUnbond{Value: "1"}), CodeNotBonded)
}

func TestBadInputNoStateChange(t *testing.T) {
	p := testParams()
	e := newEnv(t, p, genVal{1, 1000, 0}, genVal{2, 1000, 0})
	s := acct(10)
	e.mustExec(s, bondMsg(50))
	seventeen := nominateMsg()
	for i := range 17 {
		a := acct(100 + i)
		seventeen.Targets = append(seventeen.Targets, a[:])
	}
	identity := make([]byte, 32)
	identity[0] = 1
	notPoint := make([]byte, 32)
	notPoint[0] = 2 // y = 2: (y²−1)/(dy²+1) is not a square mod p
	type tc struct {
		name   string
		sender types.AccountID
		run    func() error
		code   types.Code
	}
	for _, c := range []tc{
		{"bond below minimum", acct(11), func() error { return e.exec(acct(11), bondMsg(9)) }, CodeBelowMinimum},
		{"bond zero", acct(11), func() error {
			return e.exec(acct(11), &stakingv1.MsgBond{Value: "0", Payee: &stakingv1.Payee{Kind: 1}})
		}, types.CodeInvalidAmount},
		{"bond malformed", acct(11), func() error {
			return e.exec(acct(11), &stakingv1.MsgBond{Value: "-1", Payee: &stakingv1.Payee{Kind: 1}})
		}, types.CodeInvalidAmount},
		{"bond more than free", acct(11), func() error { return e.exec(acct(11), bondMsg(2_000_000)) }, types.CodeInsufficientFunds},
		{"bond no payee", acct(11), func() error { return e.exec(acct(11), &stakingv1.MsgBond{Value: tok(50).String()}) }, CodeInvalidPayee},
		{"bond payee account missing", acct(11), func() error {
			return e.exec(acct(11), &stakingv1.MsgBond{Value: tok(50).String(), Payee: &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_ACCOUNT}})
		}, CodeInvalidPayee},
		{"nominate nothing", s, func() error { return e.exec(s, nominateMsg()) }, CodeInvalidTargets},
		{"nominate 17", s, func() error { return e.exec(s, seventeen) }, CodeTooManyTargets},
		{"nominate non-validator", s, func() error { return e.exec(s, nominateMsg(1, 30)) }, CodeNotValidator},
		{"nominate twice the same", s, func() error { return e.exec(s, nominateMsg(1, 1)) }, CodeInvalidTargets},
		{"nominate self", s, func() error { return e.exec(s, nominateMsg(10)) }, CodeNotValidator},
		{"nominate malformed", s, func() error { return e.exec(s, &stakingv1.MsgNominate{Targets: [][]byte{{1, 2}}}) }, CodeInvalidTargets},
		{"nominate unbonded", acct(11), func() error { return e.exec(acct(11), nominateMsg(1)) }, CodeNotBonded},
		{"validate below minimum", s, func() error { return e.exec(s, validateMsg(10, 0)) }, CodeBelowMinimum},
		{"validate short key", s, func() error { return e.exec(s, &stakingv1.MsgValidate{ConsensusPubkey: make([]byte, 31)}) }, CodeInvalidConsensusKey},
		{"validate small-order key", s, func() error { return e.exec(s, &stakingv1.MsgValidate{ConsensusPubkey: identity}) }, CodeInvalidConsensusKey},
		{"validate non-point key", s, func() error { return e.exec(s, &stakingv1.MsgValidate{ConsensusPubkey: notPoint}) }, CodeInvalidConsensusKey},
		{"validate duplicate key", s, func() error { return e.exec(s, validateMsg(1, 0)) }, CodeDuplicateConsensusKey},
		{"validate commission", s, func() error { return e.exec(s, validateMsg(10, PerbillOne+1)) }, CodeInvalidCommission},
		{"unbond more than bonded", s, func() error { return e.exec(s, &stakingv1.MsgUnbond{Value: tok(51).String()}) }, CodeInsufficientBond},
		{"unbond below minimum", s, func() error { return e.exec(s, &stakingv1.MsgUnbond{Value: tok(45).String()}) }, CodeBelowMinimum},
		{"withdraw nothing", s, func() error { return e.exec(s, &stakingv1.MsgWithdrawUnbonded{}) }, CodeNothingToWithdraw},
		{"bond extra unbonded", acct(11), func() error { return e.exec(acct(11), &stakingv1.MsgBondExtra{Value: "5"}) }, CodeNotBonded},
		{"chill unbonded", acct(11), func() error { return e.exec(acct(11), &stakingv1.MsgChill{}) }, CodeNotBonded},
		{"payee unspecified", s, func() error { return e.exec(s, &stakingv1.MsgSetPayee{}) }, CodeInvalidPayee},
		{"payee stash with account", s, func() error {
			return e.exec(s, &stakingv1.MsgSetPayee{Payee: &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_STASH, Account: make([]byte, 32)}})
		}, CodeInvalidPayee},
		{"params not sudo", s, func() error {
			b, _ := json.Marshal(p)
			return e.exec(s, &stakingv1.MsgSetStakingParams{ParamsJson: string(b)})
		}, types.CodeUnauthorized},
		{"params malformed", acct(sudoIdx), func() error { return e.exec(acct(sudoIdx), &stakingv1.MsgSetStakingParams{ParamsJson: "{"}) }, CodeInvalidParams},
		{"params inconsistent", acct(sudoIdx), func() error {
			q := p
			q.MinValidatorCount = q.ValidatorCount + 1
			b, _ := json.Marshal(q)
			return e.exec(acct(sudoIdx), &stakingv1.MsgSetStakingParams{ParamsJson: string(b)})
		}, CodeInvalidParams},
		{"params unknown field", acct(sudoIdx), func() error {
			return e.exec(acct(sudoIdx), &stakingv1.MsgSetStakingParams{ParamsJson: `{"validator_count":3,"typo":1}`})
		}, CodeInvalidParams},
	} {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.run(), c.code) })
	}
}

func TestNominateAndValidateRoles(t *testing.T) {
	p := testParams()
	p.MaxValidators = 4
	e := newEnv(t, p, genVal{1, 1000, 0}, genVal{2, 1000, 0}, genVal{3, 1000, 0})
	s := acct(10)
	e.mustExec(s, bondMsg(500))
	e.mustExec(s, nominateMsg(1, 2))
	v, _ := e.m.ledgerView(e.ctx(), s)
	if v.Role != "nominator" || len(v.Targets) != 2 {
		t.Fatalf("view %+v", v)
	}
	// Validating replaces the nomination.
	e.mustExec(s, validateMsg(10, 30_000_000))
	if v, _ = e.m.ledgerView(e.ctx(), s); v.Role != "validator" || v.Targets != nil || *v.Commission != 30_000_000 {
		t.Fatalf("view %+v", v)
	}
	// Re-declaring with the same key is fine; the candidate cap counts new
	// candidates only.
	e.mustExec(s, validateMsg(10, 0))
	e.mustExec(acct(11), bondMsg(500))
	wantCode(t, e.exec(acct(11), validateMsg(11, 0)), CodeTooManyValidators)
	// The nominator cap.
	q := e.m.Params(e.store)
	q.MaxNominators = 1
	b, _ := json.Marshal(q)
	e.mustExec(acct(sudoIdx), &stakingv1.MsgSetStakingParams{ParamsJson: string(b)})
	e.mustExec(acct(11), nominateMsg(1))
	e.mustExec(acct(11), nominateMsg(2, 3)) // replacing is not a new nominator
	e.mustExec(acct(12), bondMsg(500))
	wantCode(t, e.exec(acct(12), nominateMsg(1)), CodeTooManyNominators)
	// Chill.
	e.mustExec(s, &stakingv1.MsgChill{})
	if v, _ = e.m.ledgerView(e.ctx(), s); v.Role != "idle" {
		t.Fatalf("after chill %+v", v)
	}
	// A key once bound stays with its stash.
	e.mustExec(acct(12), &stakingv1.MsgBondExtra{Value: tok(500).String()})
	wantCode(t, e.exec(acct(12), validateMsg(10, 0)), CodeDuplicateConsensusKey)
}

func TestElectionChangesSetAtEraBoundary(t *testing.T) {
	p := testParams()
	p.ValidatorCount = 3
	e := newEnv(t, p, genVal{1, 1000, 0}, genVal{2, 1000, 0}, genVal{3, 1000, 0}, genVal{4, 500, 0})
	if got := e.activeStashes(); len(got) != 3 || got[2] != acct(3) {
		t.Fatalf("genesis set %v", got)
	}
	e.mustExec(acct(10), bondMsg(2000))
	e.mustExec(acct(10), nominateMsg(4))
	for range p.EraLength - 2 {
		e.block(nil)
		if len(e.updates) != 0 {
			t.Fatalf("updates mid-era at %d: %v", e.height, e.updates)
		}
	}
	e.block(nil)
	if e.height%p.EraLength != 0 || e.era() != 1 {
		t.Fatalf("height %d era %d", e.height, e.era())
	}
	got := updatesByStash(e, e.updates)
	if len(got) != 2 || got[acct(3)] != 0 || got[acct(4)] != 2500 {
		t.Fatalf("era change updates %v", got)
	}
	if ev := e.eventsOf("new_era"); len(ev) != 1 || attr(ev[0], "era") != "1" || attr(ev[0], "start_height") != "11" {
		t.Fatalf("new_era events %v", ev)
	}
	ov, _ := overview(e.store, 1, acct(4))
	oth := others(e.store, 1, acct(4))
	if ov.GetOwn() != tok(500).String() || ov.GetTotal() != tok(2500).String() || len(oth) != 1 || oth[0].GetValue() != tok(2000).String() {
		t.Fatalf("exposure %v %v", ov, oth)
	}
	// At the next boundary only changed powers are sent (re-staked
	// rewards may have raised some).
	before := map[[32]byte]int64{}
	for _, a := range activeSet(e.store) {
		before[a.pub] = a.power
	}
	e.toEraEnd()
	for _, u := range e.updates {
		if before[u.PubKey] == u.Power {
			t.Fatalf("unchanged power repeated: %v", u)
		}
	}
	// Query view.
	res, err := e.m.Query(e.ctx(), QueryValidators, nil)
	if err != nil {
		t.Fatal(err)
	}
	vv := res.(ValidatorsView)
	if vv.Era != 2 || len(vv.Validators) != 3 || vv.Validators[0].Stash != acct(4).Address(42) || vv.Validators[0].Power < 2500 ||
		vv.Validators[0].Exposure.Others[0].Who != acct(10).Address(42) || vv.TotalPower < 4500 {
		t.Fatalf("validators view %+v", vv)
	}
}

func TestElectionFailureKeepsSet(t *testing.T) {
	p := testParams()
	p.MinValidatorCount = 2
	e := newEnv(t, p, genVal{1, 1000, 0}, genVal{2, 1000, 0})
	e.mustExec(acct(2), &stakingv1.MsgChill{})
	e.toEraEnd()
	if e.era() != 0 || len(e.updates) != 0 || len(e.activeStashes()) != 2 {
		t.Fatalf("era %d updates %v set %v", e.era(), e.updates, e.activeStashes())
	}
	ev := e.eventsOf("election_failed")
	if len(ev) != 1 || attr(ev[0], "reason") != FailTooFewCandidat || attr(ev[0], "candidates") != "1" {
		t.Fatalf("events %v", ev)
	}
	e.mustExec(acct(1), &stakingv1.MsgChill{})
	e.toEraEnd()
	if ev = e.eventsOf("election_failed"); len(ev) != 2 || attr(ev[1], "reason") != FailNoCandidates {
		t.Fatalf("events %v", ev)
	}
	// Candidates come back: the next boundary elects again.
	e.mustExec(acct(1), validateMsg(1, 0))
	e.mustExec(acct(2), validateMsg(2, 0))
	e.toEraEnd()
	if e.era() != 1 {
		t.Fatalf("era %d after recovery", e.era())
	}
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t, testParams(), genVal{1, 1000, 0}, genVal{2, 1000, 0})
	e.mustExec(acct(1), validateMsg(50, 0))
	e.toEraEnd()
	if len(e.updates) != 2 {
		t.Fatalf("rotation updates %v", e.updates)
	}
	for _, u := range e.updates {
		switch string(u.PubKey[:]) {
		case string(consKey(1)):
			if u.Power != 0 {
				t.Fatal("old key kept")
			}
		case string(consKey(50)):
			if u.Power != 1000 {
				t.Fatal("new key power")
			}
		default:
			t.Fatalf("unexpected update %v", u)
		}
	}
	// The old key still names the stash (for late evidence).
	if st, ok := AddrOwner(e.store, ConsensusAddress(consKey(1))); !ok || st != acct(1) {
		t.Fatal("old key forgotten")
	}
}

func TestDowntimeChills(t *testing.T) {
	p := testParams()
	p.Slashing = Slashing{DowntimeWindow: 8, DowntimeMaxMissed: 3}
	e := newEnv(t, p, genVal{1, 1000, 0}, genVal{2, 1000, 0}, genVal{3, 1000, 0})
	miss := func(who int) *types.BlockInfo {
		bi := e.allSigned()
		for i := range bi.Votes {
			if string(bi.Votes[i].Address) == string(ConsensusAddress(consKey(who))) {
				bi.Votes[i].Signed = false
			}
		}
		return bi
	}
	e.block(miss(2))
	e.block(miss(2))
	if _, ok := e.m.prefs(e.store, acct(2)); !ok {
		t.Fatal("chilled too early")
	}
	e.block(miss(2))
	if _, ok := e.m.prefs(e.store, acct(2)); ok {
		t.Fatal("not chilled after 3 misses")
	}
	if ev := e.eventsOf("chilled"); len(ev) != 1 || attr(ev[0], "reason") != "downtime" {
		t.Fatalf("events %v", ev)
	}
	e.toEraEnd()
	if got := updatesByStash(e, e.updates); len(got) != 1 || got[acct(2)] != 0 {
		t.Fatalf("updates %v", got)
	}
	// Misses spread wider than the window do not chill.
	e.block(miss(3))
	for range 8 {
		e.block(nil)
	}
	e.block(miss(3))
	e.block(miss(3))
	if _, ok := e.m.prefs(e.store, acct(3)); !ok {
		t.Fatal("chilled for misses outside one window")
	}
}

func TestParamsChangeBySudoOnly(t *testing.T) {
	e := newEnv(t, testParams(), genVal{1, 1000, 0})
	q := e.m.Params(e.store)
	q.EraLength = 5
	q.Election = ElectionPhragMMS
	b, _ := json.Marshal(q)
	wantCode(t, e.exec(acct(1), &stakingv1.MsgSetStakingParams{ParamsJson: string(b)}), types.CodeUnauthorized)
	e.mustExec(acct(sudoIdx), &stakingv1.MsgSetStakingParams{ParamsJson: string(b)})
	if got := e.m.Params(e.store); got.EraLength != 5 || got.Election != ElectionPhragMMS {
		t.Fatalf("params %+v", got)
	}
	// The new era length applies at once; PhragMMS elects.
	for e.height%5 != 0 {
		e.block(nil)
	}
	if e.era() != 1 {
		t.Fatalf("era %d at height %d", e.era(), e.height)
	}
	res, _ := e.m.Query(e.ctx(), QueryParams, nil)
	if res.(Params).EraLength != 5 {
		t.Fatal("params query")
	}
}

func TestQueries(t *testing.T) {
	e := newEnv(t, testParams(), genVal{1, 1000, 0})
	e.mustExec(acct(10), bondMsg(50))
	e.mustExec(acct(10), nominateMsg(1))
	e.mustExec(acct(10), &stakingv1.MsgUnbond{Value: tok(20).String()})
	e.block(nil)
	res, err := e.m.Query(e.ctx(), QueryLedger, []byte(`{"stash":"`+acct(10).Address(42)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	lv := res.(LedgerView)
	if lv.Active != tok(30) || lv.Total != tok(50) || len(lv.Unlocking) != 1 || lv.Role != "nominator" || lv.Payee != "staked" {
		t.Fatalf("ledger %+v", lv)
	}
	if _, err := e.m.Query(e.ctx(), QueryLedger, []byte(`{"stash":"`+acct(11).Address(42)+`"}`)); types.CodeOf(err) != types.CodeNotFound {
		t.Fatalf("unbonded ledger: %v", err)
	}
	if _, err := e.m.Query(e.ctx(), QueryLedger, []byte(`{"stash":"nope"}`)); types.CodeOf(err) != types.CodeInvalidRequest {
		t.Fatalf("bad stash: %v", err)
	}
	if _, err := e.m.Query(e.ctx(), QueryLedger, []byte(`{"who":1}`)); types.CodeOf(err) != types.CodeInvalidRequest {
		t.Fatalf("bad args: %v", err)
	}
	if _, err := e.m.Query(e.ctx(), "nope", nil); types.CodeOf(err) != types.CodeNotFound {
		t.Fatalf("unknown path: %v", err)
	}
	res, _ = e.m.Query(e.ctx(), QueryNominators, []byte(`{"validator":"`+acct(1).Address(42)+`"}`))
	if nv := res.([]NominatorView); len(nv) != 1 || nv[0].Active != tok(30) {
		t.Fatalf("nominators %+v", nv)
	}
	res, _ = e.m.Query(e.ctx(), QueryEra, nil)
	ev := res.(EraView)
	if ev.Era != 0 || ev.NextElectionHeight != 10 || ev.TotalPoints != 21 || len(ev.Points) != 1 {
		t.Fatalf("era %+v", ev)
	}
	res, _ = e.m.Query(e.ctx(), QueryCandidates, nil)
	if cv := res.([]CandidateView); len(cv) != 1 || cv[0].Active != tok(1000) {
		t.Fatalf("candidates %+v", cv)
	}
}

func TestPowers(t *testing.T) {
	if got := Powers([]types.Amount{tok(1000), amt(5), {}}, unit); got[0] != 1000 || got[1] != 1 || got[2] != 1 {
		t.Fatalf("powers %v", got)
	}
	huge := types.MustParseAmount("340282366920938463463374607431768211455")
	got := Powers([]types.Amount{huge, huge, tok(1)}, 1)
	var sum int64
	for _, p := range got {
		if p < 1 {
			t.Fatalf("power %d", p)
		}
		sum += p
	}
	if sum > MaxTotalVotingPower || got[0] != got[1] || got[0] < MaxTotalVotingPower/4 {
		t.Fatalf("clamped powers %v (sum %d)", got, sum)
	}
}

func TestVoteFactor(t *testing.T) {
	if f := voteFactor(tok(1_000_000)); f != amt(1) {
		t.Fatalf("factor below u64::MAX issuance: %s", f)
	}
	iss := types.MustParseAmount("184467440737095516150") // 10 × u64::MAX
	f := voteFactor(iss)
	if f != amt(10) {
		t.Fatalf("factor %s", f)
	}
	if v := toVote(iss, f); v != ^uint64(0) {
		t.Fatalf("vote of the whole issuance %d", v)
	}
	if v := toVote(amt(99), f); v != 9 {
		t.Fatalf("vote %d", v)
	}
}
