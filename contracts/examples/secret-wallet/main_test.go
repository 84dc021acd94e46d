//go:build !wasip1

package main

import (
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/veil-network/veil/contracts/sdk"
)

func bal(t *testing.T, h *sdk.MemHost, a sdk.Account) uint64 {
	t.Helper()
	b, err := sdk.Decode[Balance](h.Query(a, "balance", nil))
	if err != nil {
		t.Fatal(err)
	}
	return b.Balance
}

func TestDepositOnlyFromChain(t *testing.T) {
	h := sdk.NewMemHost()
	alice := sdk.TestAccount("alice")
	if _, err := h.Call(alice, "deposit", AmountArgs{Amount: 100}); err == nil {
		t.Fatal("a user command minted a deposit")
	}
	if _, err := h.Query(alice, "deposit", AmountArgs{Amount: 100}); err == nil {
		t.Fatal("a query minted a deposit")
	}
	if bal(t, h, alice) != 0 {
		t.Fatal("balance changed")
	}
	if _, err := h.ChainCall(alice, "deposit", AmountArgs{Amount: 100}); err != nil {
		t.Fatal(err)
	}
	if got := bal(t, h, alice); got != 100 {
		t.Fatalf("balance = %d", got)
	}
	if _, err := h.ChainCall(alice, "deposit", AmountArgs{Amount: math.MaxUint64}); err == nil {
		t.Fatal("overflow accepted")
	}
}

func TestTransferAndPrivacy(t *testing.T) {
	h := sdk.NewMemHost()
	alice, bob := sdk.TestAccount("alice"), sdk.TestAccount("bob")
	if _, err := h.ChainCall(alice, "deposit", AmountArgs{Amount: 100}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Call(alice, "transfer", TransferArgs{To: bob, Amount: 30}); err != nil {
		t.Fatal(err)
	}
	if a, b := bal(t, h, alice), bal(t, h, bob); a != 70 || b != 30 {
		t.Fatalf("balances %d/%d", a, b)
	}
	if len(h.Events) != 0 {
		t.Fatalf("a transfer emitted public events: %+v", h.Events)
	}
	// Nobody reads another's balance.
	if _, err := h.Query(bob, "balance", BalanceArgs{Account: &alice}); !errors.Is(err, sdk.ErrNotAuthorized) {
		t.Fatalf("bob read alice's balance: %v", err)
	}
	// Overdraft and zero transfers revert without side effects.
	if _, err := h.Call(bob, "transfer", TransferArgs{To: alice, Amount: 31}); err == nil {
		t.Fatal("overdraft accepted")
	}
	if _, err := h.Call(bob, "transfer", TransferArgs{To: alice}); err == nil {
		t.Fatal("zero transfer accepted")
	}
	if _, err := h.Call(bob, "transfer", TransferArgs{Amount: 1}); err == nil {
		t.Fatal("transfer without recipient accepted")
	}
	if _, err := h.Query(alice, "transfer", TransferArgs{To: bob, Amount: 1}); err == nil {
		t.Fatal("transfer as a query accepted")
	}
	if a, b := bal(t, h, alice), bal(t, h, bob); a != 70 || b != 30 {
		t.Fatalf("balances %d/%d after rejected transfers", a, b)
	}
	// Transfer of the whole balance removes the entry.
	if _, err := h.Call(bob, "transfer", TransferArgs{To: alice, Amount: 30}); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.Value(balanceKey(bob)); ok {
		t.Fatal("empty balance kept in state")
	}
}

func TestWithdrawPaysOut(t *testing.T) {
	h := sdk.NewMemHost()
	alice := sdk.TestAccount("alice")
	if _, err := h.ChainCall(alice, "deposit", AmountArgs{Amount: 50}); err != nil {
		t.Fatal(err)
	}
	b, err := sdk.Decode[Balance](h.Call(alice, "withdraw", AmountArgs{Amount: 20}))
	if err != nil || b.Balance != 30 {
		t.Fatalf("withdraw = %+v, %v", b, err)
	}
	if len(h.Events) != 1 || h.Events[0].Topic != sdk.TransferTopic {
		t.Fatalf("events = %+v", h.Events)
	}
	var tr sdk.Transfer
	if err := json.Unmarshal(h.Events[0].Data, &tr); err != nil || tr.To != alice || tr.Amount != "20" {
		t.Fatalf("transfer event = %+v, %v", tr, err)
	}
	if _, err := h.Call(alice, "withdraw", AmountArgs{Amount: 31}); err == nil {
		t.Fatal("over-withdrawal accepted")
	}
	if _, err := h.Query(alice, "withdraw", AmountArgs{Amount: 1}); err == nil {
		t.Fatal("withdrawal as a query accepted")
	}
	if h.TransferredTo(alice) != 20 || len(h.Transfers) != 1 {
		t.Fatalf("paid out %+v", h.Transfers)
	}
}

// TestResultBalances: deposit, transfer and withdraw return the caller's
// balance after the call, a transfer to oneself included.
func TestResultBalances(t *testing.T) {
	h := sdk.NewMemHost()
	alice, bob := sdk.TestAccount("alice"), sdk.TestAccount("bob")
	check := func(what string, want uint64, out []byte, err error) {
		t.Helper()
		b, err := sdk.Decode[Balance](out, err)
		if err != nil || b.Balance != want {
			t.Fatalf("%s = %+v, %v; want %d", what, b, err, want)
		}
	}
	out, err := h.ChainCall(alice, "deposit", AmountArgs{Amount: 100})
	check("deposit", 100, out, err)
	out, err = h.Call(alice, "transfer", TransferArgs{To: bob, Amount: 30})
	check("transfer", 70, out, err)
	out, err = h.Call(alice, "transfer", TransferArgs{To: alice, Amount: 70})
	check("transfer to oneself", 70, out, err)
	out, err = h.Call(alice, "withdraw", AmountArgs{Amount: 70})
	check("withdraw", 0, out, err)
	if a, b := bal(t, h, alice), bal(t, h, bob); a != 0 || b != 30 {
		t.Fatalf("balances %d/%d", a, b)
	}
}
