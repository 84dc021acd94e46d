// Package bank is the balances module: free and reserved balances, transfers,
// the existential deposit and the total issuance invariant
// (sum of all balances == issuance, checked by tests after every operation).
package bank

import (
	"encoding/json"
	"fmt"

	"github.com/veil-network/veil/chain/sudo"
	"github.com/veil-network/veil/chain/types"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
)

// Name is the module name and state prefix.
const Name = "bank"

var (
	prefixBalance = []byte("bank/balance/")
	keyIssuance   = []byte("bank/issuance")
	keyParams     = []byte("bank/params")
)

// Params are the module's parameters, stored in state.
type Params struct {
	// ExistentialDeposit is the minimum total balance of an account that
	// receives a transfer; it keeps dust accounts from bloating state.
	ExistentialDeposit types.Amount `json:"existential_deposit"`
}

// GenesisBalance is one funded account in genesis.
type GenesisBalance struct {
	Address  string       `json:"address"`
	Free     types.Amount `json:"free"`
	Reserved types.Amount `json:"reserved,omitempty"`
}

// Genesis is the module's genesis section.
type Genesis struct {
	Params   Params           `json:"params"`
	Balances []GenesisBalance `json:"balances"`
}

// Balance of one account.
type Balance struct {
	Free, Reserved types.Amount
}

// Total is free + reserved (saturating: issuance bounds it anyway).
func (b Balance) Total() types.Amount { return b.Free.AddSat(b.Reserved) }

// Module implements types.Module and the balance operations other modules use.
type Module struct {
	// ParamStore provides Params and SetParams.
	types.ParamStore[Params, paramsKey]
}

// New returns the bank module.
func New() *Module { return &Module{} }

// Name implements types.Module.
func (*Module) Name() string { return Name }

// DevEndowment is what each dev account receives: one million tokens of 12 decimals.
var DevEndowment = types.MustParseAmount("1000000000000000000")

// DevAccounts are Substrate's well-known dev accounts (//Alice … //Ferdie, sr25519).
var DevAccounts = []struct{ Name, Address string }{
	{"Alice", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"},
	{"Bob", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"},
	{"Charlie", "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"},
	{"Dave", "5DAAnrj7VHTznn2AWBemMuyBwZWs6FNFjdyVXUeYum3PTXFy"},
	{"Eve", "5HGjWAeFDfFCWPsjFQdVV2Msvz2XtMktvgocEZcCj68kUMaw"},
	{"Ferdie", "5CiPPseXPECbkjWCa6MnjNokrgYjMqmKndv2rSnekmSK2DjL"},
}

// DefaultGenesis funds the dev accounts.
func (*Module) DefaultGenesis() json.RawMessage {
	g := Genesis{Params: Params{ExistentialDeposit: types.NewAmount(10_000_000_000)}}
	for _, a := range DevAccounts {
		g.Balances = append(g.Balances, GenesisBalance{Address: a.Address, Free: DevEndowment})
	}
	b, _ := json.Marshal(g)
	return b
}

func parseGenesis(raw json.RawMessage, prefix uint16) (Genesis, []types.AccountID, error) {
	var g Genesis
	if err := types.DecodeStrict(raw, &g); err != nil {
		return g, nil, fmt.Errorf("bank genesis: %w", err)
	}
	ids := make([]types.AccountID, len(g.Balances))
	seen := make(map[types.AccountID]bool, len(g.Balances))
	var total types.Amount
	for i, b := range g.Balances {
		id, err := types.ParseAddress(b.Address, prefix)
		if err != nil {
			return g, nil, fmt.Errorf("bank genesis balance %d: %w", i, err)
		}
		if seen[id] {
			return g, nil, fmt.Errorf("bank genesis: account %s listed twice", b.Address)
		}
		seen[id] = true
		ids[i] = id
		var ok bool
		if total, ok = total.Add(b.Free); ok {
			total, ok = total.Add(b.Reserved)
		}
		if !ok {
			return g, nil, fmt.Errorf("bank genesis: total issuance overflows u128")
		}
	}
	return g, ids, nil
}

// ValidateGenesis implements types.Module.
func (*Module) ValidateGenesis(raw json.RawMessage, prefix uint16) error {
	_, _, err := parseGenesis(raw, prefix)
	return err
}

// InitGenesis implements types.Module.
func (m *Module) InitGenesis(ctx *types.Context, raw json.RawMessage) error {
	g, ids, err := parseGenesis(raw, ctx.SS58Prefix)
	if err != nil {
		return err
	}
	m.SetParams(ctx.Store, g.Params)
	for i, b := range g.Balances {
		if err := m.Mint(ctx, ids[i], b.Free); err != nil {
			return err
		}
		if !b.Reserved.IsZero() {
			if err := m.Mint(ctx, ids[i], b.Reserved); err != nil {
				return err
			}
			if err := m.Reserve(ctx, ids[i], b.Reserved); err != nil {
				return err
			}
		}
	}
	return nil
}

// paramsKey places the parameters under keyParams (types.ParamStore).
type paramsKey struct{}

func (paramsKey) Key() []byte { return keyParams }

// BalanceKey is the provable state key of an account's balance.
func BalanceKey(a types.AccountID) []byte {
	return append(append(make([]byte, 0, len(prefixBalance)+32), prefixBalance...), a[:]...)
}

// DecodeBalance decodes the 32-byte state value (free || reserved, u128 BE).
func DecodeBalance(v []byte) (Balance, error) {
	if v == nil {
		return Balance{}, nil
	}
	if len(v) != 32 {
		return Balance{}, fmt.Errorf("balance record has %d bytes, want 32", len(v))
	}
	f, _ := types.AmountFromBytes(v[:16])
	r, _ := types.AmountFromBytes(v[16:])
	return Balance{Free: f, Reserved: r}, nil
}

// Get returns an account's balance.
func (*Module) Get(s types.KVStore, a types.AccountID) Balance {
	b, err := DecodeBalance(s.Get(BalanceKey(a)))
	if err != nil {
		panic(&types.StoreFailure{Err: err})
	}
	return b
}

func (*Module) set(s types.KVStore, a types.AccountID, b Balance) {
	if b.Free.IsZero() && b.Reserved.IsZero() {
		s.Delete(BalanceKey(a))
		return
	}
	s.Set(BalanceKey(a), append(b.Free.Bytes(), b.Reserved.Bytes()...))
}

// Issuance is the total of all balances.
func (*Module) Issuance(s types.KVStore) types.Amount {
	v := s.Get(keyIssuance)
	if v == nil {
		return types.Amount{}
	}
	a, err := types.AmountFromBytes(v)
	if err != nil {
		panic(&types.StoreFailure{Err: err})
	}
	return a
}

// Mint creates amount in to's free balance and raises issuance.
func (m *Module) Mint(ctx *types.Context, to types.AccountID, amount types.Amount) error {
	iss, ok := m.Issuance(ctx.Store).Add(amount)
	if !ok {
		return types.Errf(types.CodeOverflow, "minting %s overflows total issuance", amount)
	}
	b := m.Get(ctx.Store, to)
	if b.Free, ok = b.Free.Add(amount); !ok {
		return types.Errf(types.CodeOverflow, "minting %s overflows the balance", amount)
	}
	m.set(ctx.Store, to, b)
	ctx.Store.Set(keyIssuance, iss.Bytes())
	return nil
}

// Burn destroys amount of from's free balance and lowers issuance.
func (m *Module) Burn(ctx *types.Context, from types.AccountID, amount types.Amount) error {
	b := m.Get(ctx.Store, from)
	var ok bool
	if b.Free, ok = b.Free.Sub(amount); !ok {
		return types.Errf(types.CodeInsufficientFunds, "burning %s exceeds the free balance", amount)
	}
	iss, ok := m.Issuance(ctx.Store).Sub(amount)
	if !ok {
		return types.Errf(types.CodeInternal, "burning %s exceeds total issuance", amount)
	}
	m.set(ctx.Store, from, b)
	ctx.Store.Set(keyIssuance, iss.Bytes())
	return nil
}

// Move transfers free balance without existential-deposit checks: for
// fees and module accounts, where refusing dust would refuse the payment.
func (m *Module) Move(ctx *types.Context, from, to types.AccountID, amount types.Amount) error {
	fb := m.Get(ctx.Store, from)
	rest, ok := fb.Free.Sub(amount)
	if !ok {
		return insufficientFree(fb, amount)
	}
	if from == to {
		return nil
	}
	fb.Free = rest
	return m.credit(ctx.Store, from, fb, to, m.Get(ctx.Store, to), amount)
}

// credit adds amount to the free balance tb of to and writes it together
// with fb, the balance of from (another account) with amount already
// taken. Nothing is written if the recipient's balance would overflow.
func (m *Module) credit(s types.KVStore, from types.AccountID, fb Balance, to types.AccountID, tb Balance, amount types.Amount) error {
	var ok bool
	if tb.Free, ok = tb.Free.Add(amount); !ok {
		return types.Errf(types.CodeOverflow, "recipient balance overflows")
	}
	m.set(s, from, fb)
	m.set(s, to, tb)
	return nil
}

func insufficientFree(b Balance, amount types.Amount) error {
	return types.Errf(types.CodeInsufficientFunds, "free balance %s is less than %s", b.Free, amount)
}

// checkRecipient refuses a payment that would leave the recipient, whose
// balance is tb, below the existential deposit ed (no dust accounts).
func checkRecipient(tb Balance, amount, ed types.Amount) error {
	total, ok := tb.Total().Add(amount)
	if !ok {
		return types.Errf(types.CodeOverflow, "recipient balance overflows")
	}
	if total.Cmp(ed) < 0 {
		return types.Errf(types.CodeExistentialDeposit, "recipient would hold %s, below the existential deposit %s", total, ed)
	}
	return nil
}

// Transfer is a user transfer: positive amount, and neither side may be
// left holding dust below the existential deposit (the sender may empty
// the account entirely). Accounts never disappear, so their nonces
// survive and old transactions cannot be replayed.
func (m *Module) Transfer(ctx *types.Context, from, to types.AccountID, amount types.Amount) error {
	if amount.IsZero() {
		return types.Errf(types.CodeInvalidAmount, "amount must be greater than zero")
	}
	if from == to {
		return types.Errf(types.CodeSelfTransfer, "sender and recipient are the same account")
	}
	ed := m.Params(ctx.Store).ExistentialDeposit
	fb := m.Get(ctx.Store, from)
	rest, ok := fb.Free.Sub(amount)
	if !ok {
		return insufficientFree(fb, amount)
	}
	if !rest.IsZero() && rest.Cmp(ed) < 0 && fb.Reserved.IsZero() {
		return types.Errf(types.CodeExistentialDeposit, "transfer would leave %s, below the existential deposit %s: send everything or keep at least the deposit", rest, ed)
	}
	tb := m.Get(ctx.Store, to)
	if err := checkRecipient(tb, amount, ed); err != nil {
		return err
	}
	fb.Free = rest
	if err := m.credit(ctx.Store, from, fb, to, tb, amount); err != nil {
		return err
	}
	if !ctx.Emitting() {
		return nil
	}
	ctx.Emit("transfer",
		types.Attr{Key: "from", Value: ctx.Address(from)},
		types.Attr{Key: "to", Value: ctx.Address(to)},
		types.Attr{Key: "amount", Value: amount.String()})
	return nil
}

// PayOut pays from a module account (a contract's, say) under the
// recipient's side of Transfer's rules: distinct accounts, and the
// recipient must end up holding at least the existential deposit. The
// paying account may keep any remainder, since refusing to leave it below
// the deposit would strand the payment.
func (m *Module) PayOut(ctx *types.Context, from, to types.AccountID, amount types.Amount) error {
	if from == to {
		return types.Errf(types.CodeSelfTransfer, "sender and recipient are the same account")
	}
	tb := m.Get(ctx.Store, to)
	if err := checkRecipient(tb, amount, m.Params(ctx.Store).ExistentialDeposit); err != nil {
		return err
	}
	fb := m.Get(ctx.Store, from)
	rest, ok := fb.Free.Sub(amount)
	if !ok {
		return insufficientFree(fb, amount)
	}
	fb.Free = rest
	return m.credit(ctx.Store, from, fb, to, tb, amount)
}

// Reserve moves amount from free to reserved (e.g. a deposit or bond).
func (m *Module) Reserve(ctx *types.Context, a types.AccountID, amount types.Amount) error {
	b := m.Get(ctx.Store, a)
	free, ok := b.Free.Sub(amount)
	if !ok {
		return insufficientFree(b, amount)
	}
	if b.Reserved, ok = b.Reserved.Add(amount); !ok {
		return types.Errf(types.CodeOverflow, "reserved balance overflows")
	}
	b.Free = free
	m.set(ctx.Store, a, b)
	return nil
}

// Unreserve moves amount from reserved back to free.
func (m *Module) Unreserve(ctx *types.Context, a types.AccountID, amount types.Amount) error {
	b := m.Get(ctx.Store, a)
	reserved, ok := b.Reserved.Sub(amount)
	if !ok {
		return types.Errf(types.CodeInsufficientFunds, "reserved balance %s is less than %s", b.Reserved, amount)
	}
	if b.Free, ok = b.Free.Add(amount); !ok {
		return types.Errf(types.CodeOverflow, "free balance overflows")
	}
	b.Reserved = reserved
	m.set(ctx.Store, a, b)
	return nil
}

// SlashReserved moves amount of from's reserved balance to to's free
// balance (staking sends slashed bonds to the treasury). Issuance is
// unchanged, so the total-issuance invariant keeps holding; nothing is
// written unless the whole amount can move.
func (m *Module) SlashReserved(ctx *types.Context, from types.AccountID, amount types.Amount, to types.AccountID) error {
	if from == to {
		return m.Unreserve(ctx, from, amount)
	}
	fb := m.Get(ctx.Store, from)
	reserved, ok := fb.Reserved.Sub(amount)
	if !ok {
		return types.Errf(types.CodeInsufficientFunds, "reserved balance %s is less than %s", fb.Reserved, amount)
	}
	fb.Reserved = reserved
	return m.credit(ctx.Store, from, fb, to, m.Get(ctx.Store, to), amount)
}

// SetBalance overwrites an account's balances and adjusts issuance.
func (m *Module) SetBalance(ctx *types.Context, a types.AccountID, nb Balance) error {
	old := m.Get(ctx.Store, a)
	iss, ok := m.Issuance(ctx.Store).Sub(old.Total())
	if ok {
		iss, ok = iss.Add(nb.Free)
	}
	if ok {
		iss, ok = iss.Add(nb.Reserved)
	}
	if !ok {
		return types.Errf(types.CodeOverflow, "new balance overflows total issuance")
	}
	m.set(ctx.Store, a, nb)
	ctx.Store.Set(keyIssuance, iss.Bytes())
	return nil
}

// ForEach visits every non-empty balance in account order (for invariant
// checks and exports).
func (*Module) ForEach(s types.KVStore, fn func(types.AccountID, Balance) bool) {
	s.Iterate(prefixBalance, func(k, v []byte) bool {
		var id types.AccountID
		copy(id[:], k[len(prefixBalance):])
		b, err := DecodeBalance(v)
		if err != nil {
			panic(&types.StoreFailure{Err: err})
		}
		return fn(id, b)
	})
}

// RegisterMessages implements types.Module.
func (m *Module) RegisterMessages(r *types.Router) {
	types.Handle(r, 1, func(ctx *types.Context, sender types.AccountID, msg *bankv1.MsgTransfer) error {
		to, err := types.AccountFromBytes(msg.GetTo())
		if err != nil {
			return err
		}
		amount, err := types.ParseAmount(msg.GetAmount())
		if err != nil {
			return types.Errf(types.CodeInvalidAmount, "%v", err)
		}
		return m.Transfer(ctx, sender, to, amount)
	})
	types.Handle(r, 1, func(ctx *types.Context, sender types.AccountID, msg *bankv1.MsgSetBalance) error {
		if err := sudo.Require(ctx, sender, "set_balance"); err != nil {
			return err
		}
		a, err := types.AccountFromBytes(msg.GetAccount())
		if err != nil {
			return err
		}
		var nb Balance
		if nb.Free, err = types.ParseAmount(msg.GetFree()); err != nil {
			return types.Errf(types.CodeInvalidAmount, "free: %v", err)
		}
		if msg.GetReserved() != "" {
			if nb.Reserved, err = types.ParseAmount(msg.GetReserved()); err != nil {
				return types.Errf(types.CodeInvalidAmount, "reserved: %v", err)
			}
		}
		if err := m.SetBalance(ctx, a, nb); err != nil {
			return err
		}
		ctx.Emit("balance_set", types.Attr{Key: "account", Value: ctx.Address(a)},
			types.Attr{Key: "free", Value: nb.Free.String()}, types.Attr{Key: "reserved", Value: nb.Reserved.String()})
		return nil
	})
}
