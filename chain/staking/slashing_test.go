package staking

import (
	"testing"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

func TestSlashFraction(t *testing.T) {
	for _, c := range []struct {
		k, n int
		want Perbill
	}{{1, 4, 562_500_000}, {1, 100, 900_000}, {1, 3, PerbillOne}, {2, 4, PerbillOne}, {3, 100, 8_100_000}, {1, 0, PerbillOne}} {
		if got := SlashFraction(c.k, c.n); got != c.want {
			t.Errorf("k=%d n=%d: %d, want %d", c.k, c.n, got, c.want)
		}
	}
}

func equivocation(i int, height int64) types.Misbehavior {
	return types.Misbehavior{Kind: types.MisbehaviorDuplicateVote, Address: ConsensusAddress(consKey(i)), Height: height}
}

func (e *env) blockWith(mb ...types.Misbehavior) {
	bi := e.allSigned()
	bi.Misbehavior = mb
	e.block(bi)
}

// TestEquivocationSlash: validator 1 (own 1,000, nominated with 2,000)
// equivocates in era 1 among 4 validators: 56.25% of every exposure goes
// to the treasury, taken from the active bond and then from the unlocking
// chunk; it is chilled and removed at once. A second offender in the same
// era raises the fraction to 100% for both.
func TestEquivocationSlash(t *testing.T) {
	e := newEnv(t, testParams(), genVal{1, 1000, 0}, genVal{2, 1000, 0}, genVal{3, 1000, 0}, genVal{4, 1000, 0})
	stash := &stakingv1.MsgSetPayee{Payee: &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_STASH}}
	e.mustExec(acct(1), stash)
	e.mustExec(acct(2), stash)
	e.mustExec(acct(10), bondStash(2000))
	e.mustExec(acct(10), nominateMsg(1))
	e.toEraEnd()
	e.block(nil)
	e.block(nil)
	e.mustExec(acct(1), &stakingv1.MsgUnbond{Value: tok(800).String()})
	treasury0 := e.balance(auth.TreasuryAccount).Free

	e.blockWith(equivocation(1, e.height))
	half := types.MustParseAmount("562500000000000") // 56.25% of 1,000 tokens
	l1 := e.ledger(1)
	if l1.Active.IsZero() == false || l1.Total != tok(1000).SubSat(half) || len(l1.Unlocking) != 1 || l1.Unlocking[0].Value != l1.Total {
		t.Fatalf("validator ledger after slash %+v", l1)
	}
	if l := e.ledger(10); l.Active != tok(2000).SubSat(types.MustParseAmount("1125000000000000")) {
		t.Fatalf("nominator ledger %+v", l)
	}
	if got := e.balance(auth.TreasuryAccount).Free.SubSat(treasury0); got != types.MustParseAmount("1687500000000000") {
		t.Fatalf("treasury received %s", got)
	}
	if got := updatesByStash(e, e.updates); len(got) != 1 || got[acct(1)] != 0 {
		t.Fatalf("updates %v", got)
	}
	if _, ok := e.m.prefs(e.store, acct(1)); ok {
		t.Fatal("offender not chilled")
	}
	if ev := e.eventsOf("slashed"); len(ev) != 1 || attr(ev[0], "fraction") != "562500000" || attr(ev[0], "nominators") != "1125000000000000" {
		t.Fatalf("slashed events %v", ev)
	}

	// The same evidence again: nothing more.
	e.blockWith(equivocation(1, e.height-1))
	if e.ledger(1).Total != tok(1000).SubSat(half) || len(e.updates) != 0 {
		t.Fatal("repeated report slashed again")
	}
	// A second offender: (3·2/4)² ≥ 1, both lose everything exposed.
	e.blockWith(equivocation(2, e.height))
	if l := e.ledger(1); !l.Total.IsZero() {
		t.Fatalf("first offender not topped up: %+v", l)
	}
	if l := e.ledger(10); !l.Total.IsZero() {
		t.Fatalf("nominator not topped up: %+v", l)
	}
	if l := e.ledger(2); !l.Total.IsZero() {
		t.Fatalf("second offender %+v", l)
	}
	if got := e.activeStashes(); len(got) != 2 || got[0] != acct(3) {
		t.Fatalf("set %v", got)
	}
	// Evidence from nobody we know, or of an unknown kind, is ignored.
	e.blockWith(types.Misbehavior{Kind: types.MisbehaviorDuplicateVote, Address: make([]byte, 20), Height: e.height},
		types.Misbehavior{Kind: types.MisbehaviorUnknown, Address: ConsensusAddress(consKey(3)), Height: e.height})
	if ev := e.eventsOf("offence_ignored"); len(ev) != 2 || attr(ev[0], "reason") != "unknown_validator" || attr(ev[1], "reason") != "unknown_kind" {
		t.Fatalf("ignored %v", ev)
	}
	// The emptied ledger can be closed; the next era elects the rest.
	e.mustExec(acct(1), &stakingv1.MsgWithdrawUnbonded{})
	e.toEraEnd()
	if got := e.activeStashes(); len(got) != 2 {
		t.Fatalf("after era %v", got)
	}
}

// TestLateEvidenceUsesOffenceEra: evidence for a height of era 1 reported
// in era 2 slashes by era 1's exposure (the validator has since left).
func TestLateEvidenceUsesOffenceEra(t *testing.T) {
	p := testParams()
	p.ValidatorCount = 2
	e := newEnv(t, p, genVal{1, 1000, 0}, genVal{2, 1000, 0}, genVal{3, 500, 0})
	e.toEraEnd()
	h := e.height + 3 // in era 1, signed by era 1's set
	e.block(nil)
	e.block(nil)
	e.block(nil)
	e.mustExec(acct(1), &stakingv1.MsgChill{})
	e.toEraEnd()
	if e.era() != 2 {
		t.Fatal("era")
	}
	e.blockWith(equivocation(1, h))
	ev := e.eventsOf("slashed")
	if len(ev) != 1 || attr(ev[0], "era") != "1" || attr(ev[0], "fraction") != "1000000000" { // (3/2)² ≥ 1
		t.Fatalf("slash %v", ev)
	}
	// Height 1 was signed by era 0's (genesis) set; a height before it is
	// outside the history.
	e.blockWith(equivocation(2, 0))
	if ev := e.eventsOf("offence_ignored"); len(ev) != 1 || attr(ev[0], "reason") != "outside_history" {
		t.Fatalf("ignored %v", ev)
	}
}

func TestSlashingNeverEmptiesTheSet(t *testing.T) {
	e := newEnv(t, testParams(), genVal{1, 1000, 0})
	e.block(nil)
	e.blockWith(equivocation(1, e.height))
	if len(e.updates) != 0 || len(e.activeStashes()) != 1 {
		t.Fatalf("last validator removed: %v", e.updates)
	}
	if ev := e.eventsOf("validator_removal_deferred"); len(ev) != 1 {
		t.Fatalf("events %v", e.events)
	}
	e.toEraEnd() // no candidates: the set stays
	if ev := e.eventsOf("election_failed"); len(ev) != 1 || len(e.activeStashes()) != 1 {
		t.Fatalf("after era: %v", ev)
	}
}
