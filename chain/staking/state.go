package staking

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/types"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
)

// State layout (every key under "staking/", so it is provable like any
// other module's):
//
//	params                              JSON Params
//	current_era, oldest_era             u64 BE
//	count/validators, count/nominators  u32 BE (bounds the election input)
//	ledger/<stash>                      Ledger
//	validator/<stash>                   ValidatorPrefs (intention to validate)
//	nominator/<stash>                   Nominations
//	key_owner/<ed25519 pubkey>          stash (a key is bound to one stash for good)
//	addr_owner/<20-byte address>        stash (consensus address → stash, kept for late evidence)
//	active/<ed25519 pubkey>             ActiveValidator (CometBFT's set as last sent)
//	era/<u64 era>/info                  EraInfo
//	era/<u64 era>/overview/<stash>      ExposureOverview
//	era/<u64 era>/others/<stash>        ExposureOthers
//	era/<u64 era>/points/<stash>        u32 BE era points
//	payout_queue/<u64 era><stash>       u32 BE index of the next staker to pay
//	offence/<u64 era><stash>            u32 BE slash fraction already applied (Perbill)
//	liveness/<stash>                    i64 BE window start || u32 BE missed
var (
	keyParams          = []byte("staking/params")
	keyCurrentEra      = []byte("staking/current_era")
	keyOldestEra       = []byte("staking/oldest_era")
	keyCountValidators = []byte("staking/count/validators")
	keyCountNominators = []byte("staking/count/nominators")
	prefixLedger       = []byte("staking/ledger/")
	prefixValidator    = []byte("staking/validator/")
	prefixNominator    = []byte("staking/nominator/")
	prefixKeyOwner     = []byte("staking/key_owner/")
	prefixAddrOwner    = []byte("staking/addr_owner/")
	prefixActive       = []byte("staking/active/")
	prefixEra          = []byte("staking/era/")
	prefixPayQueue     = []byte("staking/payout_queue/")
	prefixOffence      = []byte("staking/offence/")
	prefixLiveness     = []byte("staking/liveness/")
)

func key(prefix []byte, parts ...[]byte) []byte {
	n := len(prefix)
	for _, p := range parts {
		n += len(p)
	}
	k := append(make([]byte, 0, n), prefix...)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func eraPrefix(era uint64) []byte { return key(prefixEra, u64(era), []byte("/")) }

func eraKey(era uint64, kind string, stash *types.AccountID) []byte {
	if stash == nil {
		return key(eraPrefix(era), []byte(kind))
	}
	return key(eraPrefix(era), []byte(kind+"/"), stash[:])
}

// LedgerKey is the provable state key of a stash's ledger.
func LedgerKey(stash types.AccountID) []byte { return key(prefixLedger, stash[:]) }

// ConsensusAddress is CometBFT's address of an ed25519 consensus key: the
// first 20 bytes of its SHA-256.
func ConsensusAddress(pub []byte) []byte {
	h := sha256.Sum256(pub)
	return h[:20]
}

func failf(format string, args ...any) {
	panic(&types.StoreFailure{Err: fmt.Errorf(format, args...)})
}

func getU32(s types.KVStore, k []byte) uint32 {
	b := s.Get(k)
	if b == nil {
		return 0
	}
	if len(b) != 4 {
		failf("%q holds %d bytes, want 4", k, len(b))
	}
	return binary.BigEndian.Uint32(b)
}

func setU32(s types.KVStore, k []byte, v uint32) { s.Set(k, binary.BigEndian.AppendUint32(nil, v)) }

func parseStored(s string, what string) types.Amount {
	if s == "" {
		return types.Amount{}
	}
	a, err := types.ParseAmount(s)
	if err != nil {
		failf("stored %s %q: %v", what, s, err)
	}
	return a
}

func accountOf(b []byte) types.AccountID {
	var a types.AccountID
	copy(a[:], b)
	return a
}

// Chunk is an unlocking part of a bond.
type Chunk struct {
	Value types.Amount `json:"value"`
	Era   uint64       `json:"era"`
}

// Payee is a reward destination.
type Payee struct {
	Kind    stakingv1.PayeeKind
	Account types.AccountID
}

// Ledger is a stash's bond. Total (active + unlocking) is exactly the part
// of the stash's bank reserved balance that staking holds.
type Ledger struct {
	Total, Active types.Amount
	Unlocking     []Chunk
	Payee         Payee
}

// bondMore adds v to both the active and the total bond; ok is false
// (and l unchanged) when either would overflow.
func (l *Ledger) bondMore(v types.Amount) bool {
	na, ok1 := l.Active.Add(v)
	nt, ok2 := l.Total.Add(v)
	if !ok1 || !ok2 {
		return false
	}
	l.Active, l.Total = na, nt
	return true
}

// belowMinimum reports whether an active bond is too small for a role
// whose minimum is minimum (a zero bond never qualifies, even when the
// minimum is 0).
func belowMinimum(active, minimum types.Amount) bool {
	return active.IsZero() || active.Cmp(minimum) < 0
}

func (m *Module) ledger(s types.KVStore, stash types.AccountID) (Ledger, bool) {
	var pb stakingv1.Ledger
	if !types.GetProto(s, LedgerKey(stash), &pb) {
		return Ledger{}, false
	}
	l := Ledger{
		Total:  parseStored(pb.GetTotal(), "ledger total"),
		Active: parseStored(pb.GetActive(), "ledger active"),
		Payee:  Payee{Kind: pb.GetPayee().GetKind(), Account: accountOf(pb.GetPayee().GetAccount())},
	}
	for _, c := range pb.GetUnlocking() {
		l.Unlocking = append(l.Unlocking, Chunk{Value: parseStored(c.GetValue(), "unlocking chunk"), Era: c.GetEra()})
	}
	return l, true
}

func (m *Module) setLedger(s types.KVStore, stash types.AccountID, l Ledger) {
	pb := &stakingv1.Ledger{Total: l.Total.String(), Active: l.Active.String(), Payee: payeeProto(l.Payee)}
	for _, c := range l.Unlocking {
		pb.Unlocking = append(pb.Unlocking, &stakingv1.UnlockChunk{Value: c.Value.String(), Era: c.Era})
	}
	types.SetProto(s, LedgerKey(stash), pb)
}

func payeeProto(p Payee) *stakingv1.Payee {
	pb := &stakingv1.Payee{Kind: p.Kind}
	if p.Kind == stakingv1.PayeeKind_PAYEE_KIND_ACCOUNT {
		pb.Account = append([]byte(nil), p.Account[:]...)
	}
	return pb
}

func (m *Module) prefs(s types.KVStore, stash types.AccountID) (*stakingv1.ValidatorPrefs, bool) {
	var pb stakingv1.ValidatorPrefs
	if !types.GetProto(s, key(prefixValidator, stash[:]), &pb) {
		return nil, false
	}
	return &pb, true
}

func (m *Module) nominations(s types.KVStore, stash types.AccountID) (*stakingv1.Nominations, bool) {
	var pb stakingv1.Nominations
	if !types.GetProto(s, key(prefixNominator, stash[:]), &pb) {
		return nil, false
	}
	return &pb, true
}

func addCount(s types.KVStore, k []byte, delta int) {
	c := int64(getU32(s, k)) + int64(delta)
	if c < 0 {
		c = 0
	}
	setU32(s, k, uint32(c))
}

// setIntent stores a stash's intention under prefix, counting it in
// countKey when it is new.
func setIntent(s types.KVStore, prefix, countKey []byte, stash types.AccountID, m proto.Message) {
	k := key(prefix, stash[:])
	if !s.Has(k) {
		addCount(s, countKey, 1)
	}
	types.SetProto(s, k, m)
}

// removeIntent deletes a stash's intention under prefix (uncounting it);
// it reports whether there was one.
func removeIntent(s types.KVStore, prefix, countKey []byte, stash types.AccountID) bool {
	k := key(prefix, stash[:])
	if !s.Has(k) {
		return false
	}
	s.Delete(k)
	addCount(s, countKey, -1)
	return true
}

// setPrefs records a validator intention (and drops a nomination: a stash
// has one role at a time).
func (m *Module) setPrefs(s types.KVStore, stash types.AccountID, p *stakingv1.ValidatorPrefs) {
	m.removeNominations(s, stash)
	setIntent(s, prefixValidator, keyCountValidators, stash, p)
}

func (m *Module) removePrefs(s types.KVStore, stash types.AccountID) bool {
	return removeIntent(s, prefixValidator, keyCountValidators, stash)
}

func (m *Module) setNominations(s types.KVStore, stash types.AccountID, n *stakingv1.Nominations) {
	m.removePrefs(s, stash)
	setIntent(s, prefixNominator, keyCountNominators, stash, n)
}

func (m *Module) removeNominations(s types.KVStore, stash types.AccountID) bool {
	return removeIntent(s, prefixNominator, keyCountNominators, stash)
}

// chill removes both intentions; it reports whether there was one.
func (m *Module) chill(s types.KVStore, stash types.AccountID) bool {
	a := m.removePrefs(s, stash)
	b := m.removeNominations(s, stash)
	return a || b
}

// bindKey binds a consensus key (and its address) to a stash for good.
func bindKey(s types.KVStore, stash types.AccountID, pub []byte) {
	s.Set(key(prefixKeyOwner, pub), stash[:])
	s.Set(key(prefixAddrOwner, ConsensusAddress(pub)), stash[:])
}

func keyOwner(s types.KVStore, pub []byte) (types.AccountID, bool) {
	b := s.Get(key(prefixKeyOwner, pub))
	if b == nil {
		return types.AccountID{}, false
	}
	return accountOf(b), true
}

// AddrOwner returns the stash whose consensus key has the given CometBFT
// address.
func AddrOwner(s types.KVStore, addr []byte) (types.AccountID, bool) {
	b := s.Get(key(prefixAddrOwner, addr))
	if b == nil {
		return types.AccountID{}, false
	}
	return accountOf(b), true
}

// CurrentEra is the era the chain is in.
func CurrentEra(s types.KVStore) uint64 { return types.GetUint64(s, keyCurrentEra) }

func eraInfo(s types.KVStore, era uint64) (*stakingv1.EraInfo, bool) {
	var pb stakingv1.EraInfo
	if !types.GetProto(s, eraKey(era, "info", nil), &pb) {
		return nil, false
	}
	return &pb, true
}

func overview(s types.KVStore, era uint64, stash types.AccountID) (*stakingv1.ExposureOverview, bool) {
	var pb stakingv1.ExposureOverview
	if !types.GetProto(s, eraKey(era, "overview", &stash), &pb) {
		return nil, false
	}
	return &pb, true
}

func others(s types.KVStore, era uint64, stash types.AccountID) []*stakingv1.IndividualExposure {
	var pb stakingv1.ExposureOthers
	types.GetProto(s, eraKey(era, "others", &stash), &pb)
	return pb.GetOthers()
}

// eraStash is an elected validator of an era with its overview.
type eraStash struct {
	stash types.AccountID
	ov    *stakingv1.ExposureOverview
}

// eraValidators lists an era's elected validators in stash order.
func eraValidators(s types.KVStore, era uint64) []eraStash {
	p := key(eraPrefix(era), []byte("overview/"))
	var out []eraStash
	s.Iterate(p, func(k, v []byte) bool {
		var ov stakingv1.ExposureOverview
		types.DecodeProto(v, &ov)
		out = append(out, eraStash{stash: accountOf(k[len(p):]), ov: &ov})
		return true
	})
	return out
}

// activeEntry is one key of the consensus set as last sent to CometBFT.
type activeEntry struct {
	pub   [32]byte
	stash types.AccountID
	power int64
}

// activeSet lists the consensus set in public key order.
func activeSet(s types.KVStore) []activeEntry {
	var out []activeEntry
	s.Iterate(prefixActive, func(k, v []byte) bool {
		var a stakingv1.ActiveValidator
		types.DecodeProto(v, &a)
		var e activeEntry
		copy(e.pub[:], k[len(prefixActive):])
		e.stash, e.power = accountOf(a.GetStash()), a.GetPower()
		out = append(out, e)
		return true
	})
	return out
}

// collectKeys returns every key under prefix (to delete them after the
// iteration: a store must not be written while it is iterated).
func collectKeys(s types.KVStore, prefix []byte) [][]byte {
	var ks [][]byte
	s.Iterate(prefix, func(k, _ []byte) bool {
		ks = append(ks, append([]byte(nil), k...))
		return true
	})
	return ks
}
