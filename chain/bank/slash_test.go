package bank

import (
	"math/rand/v2"
	"testing"

	"github.com/veil-network/veil/chain/types"
)

func TestSlashReserved(t *testing.T) {
	m, ctx := setup(t, 10)
	a, treasury := types.AccountID{1}, types.AccountID{9}
	if err := m.Mint(ctx, a, amt(100)); err != nil {
		t.Fatal(err)
	}
	if err := m.Reserve(ctx, a, amt(60)); err != nil {
		t.Fatal(err)
	}
	if err := m.SlashReserved(ctx, a, amt(61), treasury); types.CodeOf(err) != types.CodeInsufficientFunds {
		t.Fatalf("slashing more than reserved: %v", err)
	}
	if b := m.Get(ctx.Store, a); b.Free != amt(40) || b.Reserved != amt(60) {
		t.Fatalf("failed slash changed the balance: %+v", b)
	}
	if err := m.SlashReserved(ctx, a, amt(25), treasury); err != nil {
		t.Fatal(err)
	}
	if b := m.Get(ctx.Store, a); b.Free != amt(40) || b.Reserved != amt(35) {
		t.Fatalf("slashed account %+v", b)
	}
	if b := m.Get(ctx.Store, treasury); b.Free != amt(25) || !b.Reserved.IsZero() {
		t.Fatalf("treasury %+v", b)
	}
	// To itself: reserved back to free.
	if err := m.SlashReserved(ctx, a, amt(5), a); err != nil {
		t.Fatal(err)
	}
	if b := m.Get(ctx.Store, a); b.Free != amt(45) || b.Reserved != amt(30) {
		t.Fatalf("self slash %+v", b)
	}
	if m.Issuance(ctx.Store) != amt(100) || sum(m, ctx.Store) != amt(100) {
		t.Fatalf("issuance %s sum %s", m.Issuance(ctx.Store), sum(m, ctx.Store))
	}
	// Overflow of the recipient leaves both untouched.
	max := types.MustParseAmount("340282366920938463463374607431768211455")
	m2, ctx2 := setup(t, 1)
	if err := m2.SetBalance(ctx2, treasury, Balance{Free: subOne(max)}); err != nil {
		t.Fatal(err)
	}
	m2.set(ctx2.Store, a, Balance{Reserved: amt(2)})
	if err := m2.SlashReserved(ctx2, a, amt(2), treasury); types.CodeOf(err) != types.CodeOverflow {
		t.Fatalf("overflow: %v", err)
	}
	if b := m2.Get(ctx2.Store, a); b.Reserved != amt(2) {
		t.Fatalf("overflowing slash moved funds: %+v", b)
	}
}

func subOne(a types.Amount) types.Amount {
	d, _ := a.Sub(amt(1))
	return d
}

// TestSlashReservedInvariant: reserves and slashes mixed with transfers
// keep the sum of balances equal to the issuance.
func TestSlashReservedInvariant(t *testing.T) {
	m, ctx := setup(t, 10)
	r := rand.New(rand.NewPCG(3, 5))
	accts := []types.AccountID{{1}, {2}, {3}, {4}}
	pick := func() types.AccountID { return accts[r.IntN(len(accts))] }
	for i := 0; i < 3000; i++ {
		x := amt(uint64(r.IntN(2000)))
		switch r.IntN(4) {
		case 0:
			m.Mint(ctx, pick(), x)
		case 1:
			m.Reserve(ctx, pick(), x)
		case 2:
			m.SlashReserved(ctx, pick(), x, pick())
		case 3:
			m.Transfer(ctx, pick(), pick(), x)
		}
		if got, want := sum(m, ctx.Store), m.Issuance(ctx.Store); got != want {
			t.Fatalf("step %d: sum %s != issuance %s", i, got, want)
		}
	}
}
