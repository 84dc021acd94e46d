package staking

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/chaintest"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/sudo"
	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

const (
	unit    = 1_000_000_000_000 // one token
	sudoIdx = 200
)

func amt(u uint64) types.Amount { return types.NewAmount(u) }

func tok(n uint64) types.Amount { return tokens(n) }

// acct is a test account; any 32 bytes are an account id.
func acct(i int) types.AccountID { return types.AccountID{byte(i), 0xA5} }

// consKey is a deterministic ed25519 consensus key.
func consKey(i int) []byte {
	seed := make([]byte, 32)
	seed[0], seed[1] = byte(i), 0x5C
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}

// env runs the module on an in-memory store, block by block.
type env struct {
	t      testing.TB
	bank   *bank.Module
	m      *Module
	store  *store.Memory
	router *types.Router
	height int64
	now    time.Time
	// updates are the validator updates of the last block (or genesis).
	updates []types.ValidatorUpdate
	events  []types.Event
	// comet mirrors CometBFT's validator set: updates are applied to it
	// with CometBFT's rules (a removal must name a member; the set must
	// not become empty).
	comet map[[32]byte]int64
	// fast skips the per-step state comparisons and invariant scans
	// (benchmark set-up with thousands of stakers).
	fast bool
}

func (e *env) applyComet(upd []types.ValidatorUpdate) {
	e.t.Helper()
	seen := map[[32]byte]bool{}
	for _, u := range upd {
		if seen[u.PubKey] {
			e.t.Fatalf("height %d: key %x updated twice in one block", e.height, u.PubKey[:4])
		}
		seen[u.PubKey] = true
		if u.Power < 0 {
			e.t.Fatalf("negative power")
		}
		if u.Power == 0 {
			if _, ok := e.comet[u.PubKey]; !ok {
				e.t.Fatalf("height %d: removal of %x, which CometBFT does not have", e.height, u.PubKey[:4])
			}
			delete(e.comet, u.PubKey)
			continue
		}
		e.comet[u.PubKey] = u.Power
	}
	if len(upd) > 0 && len(e.comet) == 0 {
		e.t.Fatalf("height %d: the validator set became empty", e.height)
	}
	var total int64
	for _, p := range e.comet {
		total += p
	}
	if total > MaxTotalVotingPower {
		e.t.Fatalf("total power %d exceeds CometBFT's maximum", total)
	}
	// The module's record of the set equals CometBFT's.
	act := activeSet(e.store)
	if len(act) != len(e.comet) {
		e.t.Fatalf("height %d: module thinks the set has %d keys, CometBFT %d", e.height, len(act), len(e.comet))
	}
	for _, a := range act {
		if e.comet[a.pub] != a.power {
			e.t.Fatalf("height %d: power of %x: module %d, CometBFT %d", e.height, a.pub[:4], a.power, e.comet[a.pub])
		}
	}
}

// testParams are small and fast: 10-block eras, unit power, no downtime.
func testParams() Params {
	p := DevParams()
	p.EraLength = 10
	p.ValidatorCount = 4
	p.MinValidatorBond = tok(100)
	p.MinNominatorBond = tok(10)
	p.BondingDuration = 2
	p.HistoryDepth = 4
	p.Slashing.DowntimeWindow = 0
	p.PayoutsPerBlock = 64
	return p
}

type genVal struct {
	i          int
	bond       uint64 // tokens
	commission Perbill
}

// newEnv funds accounts 1..40 and the sudo account with 1,000,000 tokens
// each and initialises staking with the given genesis validators.
func newEnv(t testing.TB, p Params, vals ...genVal) *env {
	t.Helper()
	e := &env{t: t, bank: bank.New(), store: store.NewMemory(), router: types.NewRouter(), height: 1, now: time.Unix(1_700_000_000, 0).UTC()}
	e.m = New(e.bank)
	e.m.RegisterMessages(e.router)
	ctx := e.ctx()
	e.bank.SetParams(ctx.Store, bank.Params{ExistentialDeposit: amt(1)})
	for i := 1; i <= 40; i++ {
		if err := e.bank.Mint(ctx, acct(i), tok(1_000_000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.bank.Mint(ctx, acct(sudoIdx), tok(1_000_000)); err != nil {
		t.Fatal(err)
	}
	sg, _ := json.Marshal(sudo.Genesis{Key: acct(sudoIdx).Address(42)})
	if err := sudo.New().InitGenesis(ctx, sg); err != nil {
		t.Fatal(err)
	}
	g := Genesis{Params: p, Validators: []GenesisValidator{}}
	for _, v := range vals {
		g.Validators = append(g.Validators, GenesisValidator{
			Stash: acct(v.i).Address(42), Bond: tok(v.bond), Commission: v.commission,
			ConsensusPubKey: fmt.Sprintf("%x", consKey(v.i)),
		})
	}
	raw, _ := json.Marshal(g)
	if err := e.m.ValidateGenesis(raw, 42); err != nil {
		t.Fatal(err)
	}
	var upd []types.ValidatorUpdate
	if err := e.m.InitGenesis(ctx.WithValidatorUpdates(&upd), raw); err != nil {
		t.Fatal(err)
	}
	e.updates = upd
	e.comet = map[[32]byte]int64{}
	e.applyComet(upd)
	e.checkInvariants()
	return e
}

func (e *env) ctx() *types.Context {
	return &types.Context{Store: e.store, ChainID: "test", Height: e.height, Time: e.now, SS58Prefix: 42}
}

// exec runs one message directly on the store (no cache: a failing
// handler must not have written anything).
func (e *env) exec(sender types.AccountID, msg proto.Message) error {
	e.t.Helper()
	a, err := types.PackMsg(msg)
	if err != nil {
		e.t.Fatal(err)
	}
	dm, err := e.router.Decode(a)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx := e.ctx()
	ctx.Height = e.height + 1
	var before *store.Memory
	if !e.fast {
		before = e.store.Clone()
	}
	err = dm.Execute(ctx, sender)
	if err != nil && !e.fast && !before.Equal(e.store) {
		e.t.Fatalf("%T failed (%v) but changed state", msg, err)
	}
	e.events = append(e.events, ctx.Events()...)
	e.checkInvariants()
	return err
}

func (e *env) mustExec(sender types.AccountID, msg proto.Message) {
	e.t.Helper()
	if err := e.exec(sender, msg); err != nil {
		e.t.Fatalf("%T: %v", msg, err)
	}
}

func wantCode(t testing.TB, err error, code types.Code) {
	t.Helper()
	if types.CodeOf(err) != code {
		t.Fatalf("got %v (code %d), want code %d (%s)", err, types.CodeOf(err), code, CodeName(code))
	}
}

// block runs one block's EndBlock with the given consensus info; nil
// means every active validator signed and the first proposed.
func (e *env) block(bi *types.BlockInfo) {
	e.t.Helper()
	e.height++
	e.now = e.now.Add(6 * time.Second)
	if bi == nil {
		bi = e.allSigned()
	}
	var upd []types.ValidatorUpdate
	ctx := e.ctx().WithValidatorUpdates(&upd)
	ctx.Block = bi
	if err := e.m.EndBlock(ctx); err != nil {
		e.t.Fatalf("end block %d: %v", e.height, err)
	}
	e.updates = upd
	e.events = append(e.events, ctx.Events()...)
	e.applyComet(upd)
	e.checkInvariants()
}

func (e *env) allSigned() *types.BlockInfo {
	bi := &types.BlockInfo{}
	for i, a := range activeSet(e.store) {
		addr := ConsensusAddress(a.pub[:])
		if i == 0 {
			bi.Proposer = addr
		}
		bi.Votes = append(bi.Votes, types.VoteInfo{Address: addr, Power: a.power, Signed: true})
	}
	return bi
}

// toEraEnd runs blocks until the next era boundary's EndBlock has run.
func (e *env) toEraEnd() {
	e.t.Helper()
	p := e.m.Params(e.store)
	for {
		e.block(nil)
		if e.height%p.EraLength == 0 {
			return
		}
	}
}

func (e *env) era() uint64 { return CurrentEra(e.store) }

func (e *env) ledger(i int) Ledger {
	l, _ := e.m.ledger(e.store, acct(i))
	return l
}

func (e *env) balance(a types.AccountID) bank.Balance { return e.bank.Get(e.store, a) }

func (e *env) activeStashes() []types.AccountID {
	var out []types.AccountID
	for _, a := range activeSet(e.store) {
		out = append(out, a.stash)
	}
	slices.SortFunc(out, func(a, b types.AccountID) int { return bytes.Compare(a[:], b[:]) })
	return out
}

func (e *env) eventsOf(typ string) []types.Event { return chaintest.EventsOf(e.events, typ) }

var attr = chaintest.Attr

// checkInvariants: the bank's sum equals issuance; every ledger's total is
// active + unlocking and held in reserve; the counters match the records.
func (e *env) checkInvariants() {
	e.t.Helper()
	if e.fast {
		return
	}
	s := e.store
	var sum types.Amount
	e.bank.ForEach(s, func(_ types.AccountID, b bank.Balance) bool {
		sum = sum.AddSat(b.Free)
		sum = sum.AddSat(b.Reserved)
		return true
	})
	if iss := e.bank.Issuance(s); iss != sum {
		e.t.Fatalf("height %d: issuance %s != sum of balances %s", e.height, iss, sum)
	}
	s.Iterate(prefixLedger, func(k, _ []byte) bool {
		id := accountOf(k[len(prefixLedger):])
		l, _ := e.m.ledger(s, id)
		t := l.Active
		for _, c := range l.Unlocking {
			t = t.AddSat(c.Value)
		}
		if t != l.Total {
			e.t.Fatalf("height %d: ledger of %v: active+unlocking %s != total %s", e.height, id, t, l.Total)
		}
		if r := e.bank.Get(s, id).Reserved; r != l.Total {
			e.t.Fatalf("height %d: ledger of %v total %s but reserved %s", e.height, id, l.Total, r)
		}
		return true
	})
	count := func(p []byte) uint32 {
		n := uint32(0)
		s.Iterate(p, func(_, _ []byte) bool { n++; return true })
		return n
	}
	if c := count(prefixValidator); c != getU32(s, keyCountValidators) {
		e.t.Fatalf("validator count %d, records %d", getU32(s, keyCountValidators), c)
	}
	if c := count(prefixNominator); c != getU32(s, keyCountNominators) {
		e.t.Fatalf("nominator count %d, records %d", getU32(s, keyCountNominators), c)
	}
	_ = auth.TreasuryAccount
}

func bondMsg(tokens uint64) *stakingv1.MsgBond {
	return &stakingv1.MsgBond{Value: tok(tokens).String(), Payee: &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_STAKED}}
}

func bondStash(tokens uint64) *stakingv1.MsgBond {
	return &stakingv1.MsgBond{Value: tok(tokens).String(), Payee: &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_STASH}}
}

func nominateMsg(targets ...int) *stakingv1.MsgNominate {
	m := &stakingv1.MsgNominate{}
	for _, t := range targets {
		a := acct(t)
		m.Targets = append(m.Targets, a[:])
	}
	return m
}

func validateMsg(i int, commission Perbill) *stakingv1.MsgValidate {
	return &stakingv1.MsgValidate{Commission: uint32(commission), ConsensusPubkey: consKey(i)}
}

func updatesByStash(e *env, upd []types.ValidatorUpdate) map[types.AccountID]int64 {
	out := map[types.AccountID]int64{}
	for _, u := range upd {
		owner, ok := keyOwner(e.store, u.PubKey[:])
		if !ok {
			e.t.Fatalf("update for unknown key %x", u.PubKey)
		}
		out[owner] = u.Power
	}
	return out
}
