package bank

import (
	"math/rand/v2"
	"testing"

	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
)

func setup(t *testing.T, ed uint64) (*Module, *types.Context) {
	m := New()
	ctx := &types.Context{Store: store.NewMemory(), SS58Prefix: 42}
	m.SetParams(ctx.Store, Params{ExistentialDeposit: types.NewAmount(ed)})
	return m, ctx
}

func amt(u uint64) types.Amount { return types.NewAmount(u) }

func sum(m *Module, s types.KVStore) types.Amount {
	var total types.Amount
	m.ForEach(s, func(_ types.AccountID, b Balance) bool {
		total, _ = total.Add(b.Free)
		total, _ = total.Add(b.Reserved)
		return true
	})
	return total
}

func TestTransferRules(t *testing.T) {
	m, ctx := setup(t, 100)
	a, b, c := types.AccountID{1}, types.AccountID{2}, types.AccountID{3}
	if err := m.Mint(ctx, a, amt(1000)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		from, to types.AccountID
		amount   uint64
		code     types.Code
	}{
		{a, b, 0, types.CodeInvalidAmount},
		{a, a, 10, types.CodeSelfTransfer},
		{a, b, 1001, types.CodeInsufficientFunds},
		{a, b, 50, types.CodeExistentialDeposit},  // recipient would hold dust
		{a, b, 950, types.CodeExistentialDeposit}, // sender left with 50
		{a, b, 500, types.CodeOK},
		{a, c, 500, types.CodeOK},                 // emptying the account entirely is fine
		{b, a, 450, types.CodeExistentialDeposit}, // b would keep 50
		{b, a, 400, types.CodeOK},
	}
	for i, tc := range cases {
		err := m.Transfer(ctx, tc.from, tc.to, amt(tc.amount))
		if types.CodeOf(err) != tc.code {
			t.Fatalf("case %d: %v, want %s", i, err, tc.code)
		}
	}
	if got := m.Get(ctx.Store, a).Free; got != amt(400) {
		t.Fatalf("a: %s", got)
	}
	if m.Issuance(ctx.Store) != amt(1000) || sum(m, ctx.Store) != amt(1000) {
		t.Fatal("issuance changed by transfers")
	}
}

// TestPayOut: a module account pays under the recipient's side of the
// transfer rules only; it may itself be left with dust.
func TestPayOut(t *testing.T) {
	m, ctx := setup(t, 100)
	mod, b, c := types.ModuleAccount("test"), types.AccountID{2}, types.AccountID{3}
	if err := m.Mint(ctx, mod, amt(1000)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		to     types.AccountID
		amount uint64
		code   types.Code
	}{
		{mod, 10, types.CodeSelfTransfer},
		{b, 50, types.CodeExistentialDeposit}, // recipient would hold dust
		{b, 1001, types.CodeInsufficientFunds},
		{b, 950, types.CodeOK}, // the module account keeps 50, below the deposit
		{c, 100, types.CodeInsufficientFunds},
		{b, 50, types.CodeOK}, // b already holds the deposit
	}
	for i, tc := range cases {
		if err := m.PayOut(ctx, mod, tc.to, amt(tc.amount)); types.CodeOf(err) != tc.code {
			t.Fatalf("case %d: %v, want %s", i, err, tc.code)
		}
	}
	if got, want := m.Get(ctx.Store, mod).Free, amt(0); got != want {
		t.Fatalf("module account holds %s, want %s", got, want)
	}
	if got := m.Get(ctx.Store, b).Free; got != amt(1000) {
		t.Fatalf("b holds %s", got)
	}
	if m.Issuance(ctx.Store) != amt(1000) || sum(m, ctx.Store) != amt(1000) {
		t.Fatal("issuance changed by payouts")
	}
}

func TestReserveAndBurn(t *testing.T) {
	m, ctx := setup(t, 1)
	a := types.AccountID{1}
	m.Mint(ctx, a, amt(100))
	if err := m.Reserve(ctx, a, amt(101)); types.CodeOf(err) != types.CodeInsufficientFunds {
		t.Fatal(err)
	}
	if err := m.Reserve(ctx, a, amt(60)); err != nil {
		t.Fatal(err)
	}
	if err := m.Unreserve(ctx, a, amt(61)); types.CodeOf(err) != types.CodeInsufficientFunds {
		t.Fatal(err)
	}
	if err := m.Burn(ctx, a, amt(41)); types.CodeOf(err) != types.CodeInsufficientFunds {
		t.Fatal("burned reserved funds")
	}
	if err := m.Burn(ctx, a, amt(40)); err != nil {
		t.Fatal(err)
	}
	if b := m.Get(ctx.Store, a); !b.Free.IsZero() || b.Reserved != amt(60) || m.Issuance(ctx.Store) != amt(60) {
		t.Fatalf("%+v issuance %s", b, m.Issuance(ctx.Store))
	}
}

// TestIssuanceInvariant: after any sequence of operations, successful or
// not, the sum of balances equals the total issuance.
func TestIssuanceInvariant(t *testing.T) {
	m, ctx := setup(t, 10)
	r := rand.New(rand.NewPCG(7, 9))
	accts := []types.AccountID{{1}, {2}, {3}, {4}}
	pick := func() types.AccountID { return accts[r.IntN(len(accts))] }
	for i := 0; i < 5000; i++ {
		x := amt(uint64(r.IntN(2000)))
		switch r.IntN(7) {
		case 0:
			m.Mint(ctx, pick(), x)
		case 1:
			m.Burn(ctx, pick(), x)
		case 2, 3:
			m.Transfer(ctx, pick(), pick(), x)
		case 4:
			m.Reserve(ctx, pick(), x)
		case 5:
			m.Unreserve(ctx, pick(), x)
		case 6:
			m.SetBalance(ctx, pick(), Balance{Free: x, Reserved: amt(uint64(r.IntN(50)))})
		}
		if got, want := sum(m, ctx.Store), m.Issuance(ctx.Store); got != want {
			t.Fatalf("step %d: sum %s != issuance %s", i, got, want)
		}
	}
}

func TestMintOverflow(t *testing.T) {
	m, ctx := setup(t, 1)
	max := types.MustParseAmount("340282366920938463463374607431768211455")
	if err := m.Mint(ctx, types.AccountID{1}, max); err != nil {
		t.Fatal(err)
	}
	if err := m.Mint(ctx, types.AccountID{2}, amt(1)); types.CodeOf(err) != types.CodeOverflow {
		t.Fatalf("overflow not detected: %v", err)
	}
}

func TestGenesisValidation(t *testing.T) {
	m := New()
	if err := m.ValidateGenesis(m.DefaultGenesis(), 42); err != nil {
		t.Fatal(err)
	}
	// Dev addresses carry prefix 42: another chain prefix refuses them.
	if err := m.ValidateGenesis(m.DefaultGenesis(), 0); err == nil {
		t.Fatal("prefix mismatch accepted")
	}
}

// TestGenesisRefusesUnknownFields: a misspelt existential deposit is an
// error, not a silent zero.
func TestGenesisRefusesUnknownFields(t *testing.T) {
	if err := New().ValidateGenesis([]byte(`{"params":{"existential_depost":"1"},"balances":[]}`), 42); err == nil {
		t.Fatal("unknown parameter accepted")
	}
}

// TestTotalSaturates: free + reserved beyond u128 is the largest amount,
// never a wrapped or zero total.
func TestTotalSaturates(t *testing.T) {
	if got := (Balance{Free: types.MaxAmount(), Reserved: amt(1)}).Total(); got != types.MaxAmount() {
		t.Fatalf("total %s", got)
	}
	if got := (Balance{Free: amt(2), Reserved: amt(3)}).Total(); got != amt(5) {
		t.Fatalf("total %s", got)
	}
}
