package staking

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/veil-network/veil/chain/sudo"
	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

// RegisterMessages implements types.Module. Every handler validates all of
// its input before its first write, so a refused message leaves no trace
// (the message cache is discarded anyway, but CheckTx refuses it first).
func (m *Module) RegisterMessages(r *types.Router) {
	types.Handle(r, 1, m.bond)
	types.Handle(r, 1, m.bondExtra)
	types.Handle(r, 1, m.unbond)
	types.Handle(r, 1, m.withdrawUnbonded)
	types.Handle(r, 1, m.validate)
	types.Handle(r, 1, m.nominate)
	types.Handle(r, 1, m.chillMsg)
	types.Handle(r, 1, m.setPayee)
	types.Handle(r, 1, m.setParams)
}

func parseValue(s string) (types.Amount, error) {
	a, err := types.ParseAmount(s)
	if err != nil {
		return a, types.Errf(types.CodeInvalidAmount, "value: %v", err)
	}
	if a.IsZero() {
		return a, types.Errf(types.CodeInvalidAmount, "value must be greater than zero")
	}
	return a, nil
}

func parsePayee(p *stakingv1.Payee) (Payee, error) {
	switch p.GetKind() {
	case stakingv1.PayeeKind_PAYEE_KIND_STAKED, stakingv1.PayeeKind_PAYEE_KIND_STASH:
		if len(p.GetAccount()) != 0 {
			return Payee{}, errf(CodeInvalidPayee, "an account is only allowed with the account payee kind")
		}
		return Payee{Kind: p.GetKind()}, nil
	case stakingv1.PayeeKind_PAYEE_KIND_ACCOUNT:
		a, err := types.AccountFromBytes(p.GetAccount())
		if err != nil || a.IsZero() {
			return Payee{}, errf(CodeInvalidPayee, "the account payee needs a non-zero 32-byte account id")
		}
		return Payee{Kind: p.GetKind(), Account: a}, nil
	}
	return Payee{}, errf(CodeInvalidPayee, "payee kind must be staked, stash or account")
}

func payeeString(ctx *types.Context, p Payee) string {
	switch p.Kind {
	case stakingv1.PayeeKind_PAYEE_KIND_STAKED:
		return "staked"
	case stakingv1.PayeeKind_PAYEE_KIND_STASH:
		return "stash"
	}
	return ctx.Address(p.Account)
}

func (m *Module) mustLedger(s types.KVStore, stash types.AccountID) (Ledger, error) {
	l, ok := m.ledger(s, stash)
	if !ok {
		return l, errf(CodeNotBonded, "the sender has no bond; bond first")
	}
	return l, nil
}

// bond: the sender becomes a stash (its own controller) with value bonded.
func (m *Module) bond(ctx *types.Context, sender types.AccountID, msg *stakingv1.MsgBond) error {
	s := ctx.Store
	p := m.Params(s)
	value, err := parseValue(msg.GetValue())
	if err != nil {
		return err
	}
	payee, err := parsePayee(msg.GetPayee())
	if err != nil {
		return err
	}
	if _, ok := m.ledger(s, sender); ok {
		return errf(CodeAlreadyBonded, "the sender is already bonded; use bond_extra")
	}
	if value.Cmp(p.MinNominatorBond) < 0 {
		return errf(CodeBelowMinimum, "bond %s is below the minimum bond %s", value, p.MinNominatorBond)
	}
	if err := m.bank.Reserve(ctx, sender, value); err != nil {
		return err
	}
	m.setLedger(s, sender, Ledger{Total: value, Active: value, Payee: payee})
	if ctx.Emitting() {
		ctx.Emit("bonded", types.Attr{Key: "stash", Value: ctx.Address(sender)}, types.Attr{Key: "amount", Value: value.String()},
			types.Attr{Key: "payee", Value: payeeString(ctx, payee)})
	}
	return nil
}

func (m *Module) bondExtra(ctx *types.Context, sender types.AccountID, msg *stakingv1.MsgBondExtra) error {
	s := ctx.Store
	value, err := parseValue(msg.GetValue())
	if err != nil {
		return err
	}
	l, err := m.mustLedger(s, sender)
	if err != nil {
		return err
	}
	if !l.bondMore(value) {
		return types.Errf(types.CodeOverflow, "bond overflows")
	}
	if err := m.bank.Reserve(ctx, sender, value); err != nil {
		return err
	}
	m.setLedger(s, sender, l)
	if ctx.Emitting() {
		ctx.Emit("bonded", types.Attr{Key: "stash", Value: ctx.Address(sender)}, types.Attr{Key: "amount", Value: value.String()})
	}
	return nil
}

// roleMinimum is the least active bond the stash's current role needs.
func (m *Module) roleMinimum(s types.KVStore, p Params, stash types.AccountID) (types.Amount, string) {
	if s.Has(key(prefixValidator, stash[:])) {
		return p.MinValidatorBond, "validator"
	}
	if s.Has(key(prefixNominator, stash[:])) {
		return p.MinNominatorBond, "nominator"
	}
	return p.MinNominatorBond, "bond"
}

// unbond moves value from active to a chunk withdrawable after
// bonding_duration eras. What stays active must be zero (which chills) or
// at least the role's minimum.
func (m *Module) unbond(ctx *types.Context, sender types.AccountID, msg *stakingv1.MsgUnbond) error {
	s := ctx.Store
	p := m.Params(s)
	value, err := parseValue(msg.GetValue())
	if err != nil {
		return err
	}
	l, err := m.mustLedger(s, sender)
	if err != nil {
		return err
	}
	rest, ok := l.Active.Sub(value)
	if !ok {
		return errf(CodeInsufficientBond, "unbonding %s exceeds the active bond %s", value, l.Active)
	}
	if minimum, role := m.roleMinimum(s, p, sender); !rest.IsZero() && rest.Cmp(minimum) < 0 {
		return errf(CodeBelowMinimum, "%s would stay active, below the %s minimum %s: unbond everything or less", rest, role, minimum)
	}
	era := CurrentEra(s) + uint64(p.BondingDuration)
	merged := false
	for i := range l.Unlocking {
		if l.Unlocking[i].Era == era {
			l.Unlocking[i].Value = l.Unlocking[i].Value.AddSat(value)
			merged = true
		}
	}
	if !merged {
		if len(l.Unlocking) >= MaxUnlockingChunks {
			return errf(CodeTooManyChunks, "%d chunks are unlocking already; withdraw first", len(l.Unlocking))
		}
		l.Unlocking = append(l.Unlocking, Chunk{Value: value, Era: era})
	}
	l.Active = rest
	m.setLedger(s, sender, l)
	chilled := false
	if rest.IsZero() {
		chilled = m.chill(s, sender)
	}
	if ctx.Emitting() {
		ctx.Emit("unbonded", types.Attr{Key: "stash", Value: ctx.Address(sender)}, types.Attr{Key: "amount", Value: value.String()},
			types.Attr{Key: "withdrawable_era", Value: strconv.FormatUint(era, 10)}, types.Attr{Key: "chilled", Value: strconv.FormatBool(chilled)})
	}
	return nil
}

// withdrawUnbonded releases the chunks whose era has come; a ledger left
// empty is removed with the stash's intentions.
func (m *Module) withdrawUnbonded(ctx *types.Context, sender types.AccountID, _ *stakingv1.MsgWithdrawUnbonded) error {
	s := ctx.Store
	l, err := m.mustLedger(s, sender)
	if err != nil {
		return err
	}
	cur := CurrentEra(s)
	var free types.Amount
	kept := l.Unlocking[:0]
	for _, c := range l.Unlocking {
		if c.Era <= cur {
			free = free.AddSat(c.Value)
		} else {
			kept = append(kept, c)
		}
	}
	if free.IsZero() && !l.Total.IsZero() {
		return errf(CodeNothingToWithdraw, "no unlocking chunk has reached its era (current era %d)", cur)
	}
	if err := m.bank.Unreserve(ctx, sender, free); err != nil {
		return err
	}
	l.Unlocking = kept
	l.Total = l.Total.SubSat(free)
	if l.Total.IsZero() {
		s.Delete(LedgerKey(sender))
		m.chill(s, sender)
		s.Delete(key(prefixLiveness, sender[:]))
	} else {
		m.setLedger(s, sender, l)
	}
	if ctx.Emitting() {
		ctx.Emit("withdrawn", types.Attr{Key: "stash", Value: ctx.Address(sender)}, types.Attr{Key: "amount", Value: free.String()})
	}
	return nil
}

func (m *Module) validate(ctx *types.Context, sender types.AccountID, msg *stakingv1.MsgValidate) error {
	s := ctx.Store
	p := m.Params(s)
	l, err := m.mustLedger(s, sender)
	if err != nil {
		return err
	}
	if msg.GetCommission() > uint32(PerbillOne) {
		return errf(CodeInvalidCommission, "commission %d parts exceeds 10^9 (100%%)", msg.GetCommission())
	}
	pub := msg.GetConsensusPubkey()
	if err := ValidateConsensusKey(pub); err != nil {
		return errf(CodeInvalidConsensusKey, "%v", err)
	}
	if owner, ok := keyOwner(s, pub); ok && owner != sender {
		return errf(CodeDuplicateConsensusKey, "the consensus key is bound to %s", ctx.Address(owner))
	}
	if belowMinimum(l.Active, p.MinValidatorBond) {
		return errf(CodeBelowMinimum, "active bond %s is below the validator minimum %s", l.Active, p.MinValidatorBond)
	}
	if !s.Has(key(prefixValidator, sender[:])) && getU32(s, keyCountValidators) >= p.MaxValidators {
		return errf(CodeTooManyValidators, "max_validators (%d) candidates have declared already", p.MaxValidators)
	}
	m.setPrefs(s, sender, &stakingv1.ValidatorPrefs{Commission: msg.GetCommission(), ConsensusPubkey: bytes.Clone(pub)})
	bindKey(s, sender, pub)
	if ctx.Emitting() {
		ctx.Emit("validator_intent", types.Attr{Key: "stash", Value: ctx.Address(sender)},
			types.Attr{Key: "commission", Value: strconv.FormatUint(uint64(msg.GetCommission()), 10)},
			types.Attr{Key: "consensus_address", Value: strings.ToUpper(hex.EncodeToString(ConsensusAddress(pub)))})
	}
	return nil
}

func (m *Module) nominate(ctx *types.Context, sender types.AccountID, msg *stakingv1.MsgNominate) error {
	s := ctx.Store
	p := m.Params(s)
	l, err := m.mustLedger(s, sender)
	if err != nil {
		return err
	}
	ts := msg.GetTargets()
	if len(ts) == 0 {
		return errf(CodeInvalidTargets, "nominate at least one validator")
	}
	if len(ts) > int(p.MaxNominations) {
		return errf(CodeTooManyTargets, "%d targets exceed max_nominations %d", len(ts), p.MaxNominations)
	}
	seen := make(map[types.AccountID]bool, len(ts))
	for i, t := range ts {
		id, err := types.AccountFromBytes(t)
		if err != nil {
			return errf(CodeInvalidTargets, "target %d: %v", i, err)
		}
		if seen[id] {
			return errf(CodeInvalidTargets, "target %s is listed twice", ctx.Address(id))
		}
		seen[id] = true
		if id == sender {
			return errf(CodeNotValidator, "a stash cannot nominate itself")
		}
		if !s.Has(key(prefixValidator, id[:])) {
			return errf(CodeNotValidator, "target %s has not declared the intention to validate", ctx.Address(id))
		}
	}
	if belowMinimum(l.Active, p.MinNominatorBond) {
		return errf(CodeBelowMinimum, "active bond %s is below the nominator minimum %s", l.Active, p.MinNominatorBond)
	}
	if !s.Has(key(prefixNominator, sender[:])) && getU32(s, keyCountNominators) >= p.MaxNominators {
		return errf(CodeTooManyNominators, "max_nominators (%d) stashes nominate already", p.MaxNominators)
	}
	n := &stakingv1.Nominations{SubmittedIn: CurrentEra(s)}
	for _, t := range ts {
		n.Targets = append(n.Targets, bytes.Clone(t))
	}
	m.setNominations(s, sender, n)
	if ctx.Emitting() {
		ctx.Emit("nominated", types.Attr{Key: "stash", Value: ctx.Address(sender)}, types.Attr{Key: "targets", Value: strconv.Itoa(len(ts))})
	}
	return nil
}

func (m *Module) chillMsg(ctx *types.Context, sender types.AccountID, _ *stakingv1.MsgChill) error {
	if _, err := m.mustLedger(ctx.Store, sender); err != nil {
		return err
	}
	if m.chill(ctx.Store, sender) && ctx.Emitting() {
		ctx.Emit("chilled", types.Attr{Key: "stash", Value: ctx.Address(sender)}, types.Attr{Key: "reason", Value: "request"})
	}
	return nil
}

func (m *Module) setPayee(ctx *types.Context, sender types.AccountID, msg *stakingv1.MsgSetPayee) error {
	payee, err := parsePayee(msg.GetPayee())
	if err != nil {
		return err
	}
	l, err := m.mustLedger(ctx.Store, sender)
	if err != nil {
		return err
	}
	l.Payee = payee
	m.setLedger(ctx.Store, sender, l)
	if ctx.Emitting() {
		ctx.Emit("payee_set", types.Attr{Key: "stash", Value: ctx.Address(sender)}, types.Attr{Key: "payee", Value: payeeString(ctx, payee)})
	}
	return nil
}

func (m *Module) setParams(ctx *types.Context, sender types.AccountID, msg *stakingv1.MsgSetStakingParams) error {
	if err := sudo.Require(ctx, sender, "set_staking_params"); err != nil {
		return err
	}
	p, err := ParseParams([]byte(msg.GetParamsJson()))
	if err != nil {
		return errf(CodeInvalidParams, "%v", err)
	}
	m.SetParams(ctx.Store, p)
	ctx.Emit("staking_params_set", types.Attr{Key: "validator_count", Value: strconv.FormatUint(uint64(p.ValidatorCount), 10)},
		types.Attr{Key: "era_length", Value: strconv.FormatInt(p.EraLength, 10)})
	return nil
}
