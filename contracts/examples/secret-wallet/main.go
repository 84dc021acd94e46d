// Command secret-wallet holds confidential balances.
//
//	deposit  {"amount": n}             chain only: credits the caller
//	transfer {"to": "<hex>", "amount": n}  moves funds, confidentially
//	balance  {"account": "<hex>"}      the caller's balance (only the
//	                                   owner may read a balance)
//	withdraw {"amount": n}             debits the caller and pays n from the
//	                                   contract's account to the caller on
//	                                   chain (sdk TransferOut)
//
// Deposits are credited only on the chain's word: the chain (MsgDeposit)
// moves the public funds to the contract's account and then calls deposit
// with OriginChain, which no user command can forge. Withdrawals are the
// reverse: TransferOut emits a "veil.transfer" event, which is part of the
// command's signed egress, and the chain pays it from the contract's
// account, once. The balances themselves never leave the TEEs; only the
// amounts deposited and withdrawn are public.
package main

import (
	"errors"
	"math"

	"github.com/veil-network/veil/contracts/sdk"
)

// AmountArgs carry an amount.
type AmountArgs struct {
	Amount uint64 `json:"amount"`
}

// TransferArgs are the arguments of transfer.
type TransferArgs struct {
	To     sdk.Account `json:"to"`
	Amount uint64      `json:"amount"`
}

// BalanceArgs are the arguments of balance.
type BalanceArgs struct {
	Account *sdk.Account `json:"account,omitempty"`
}

// Balance is a balance.
type Balance struct {
	Balance uint64 `json:"balance"`
}

func balanceKey(a sdk.Account) string { return "bal/" + a.String() }

func init() {
	sdk.Handle("deposit", deposit)
	sdk.Handle("transfer", transfer)
	sdk.Handle("balance", balance)
	sdk.Handle("withdraw", withdraw)
}

// credit adds amount to a's balance and returns the new balance.
func credit(ctx *sdk.Context, a sdk.Account, amount uint64) (uint64, error) {
	b := ctx.GetUint64(balanceKey(a))
	if b > math.MaxUint64-amount {
		return 0, errors.New("balance overflow")
	}
	ctx.SetUint64(balanceKey(a), b+amount)
	return b + amount, nil
}

// debit takes amount from a's balance and returns the new balance.
func debit(ctx *sdk.Context, a sdk.Account, amount uint64) (uint64, error) {
	b := ctx.GetUint64(balanceKey(a))
	if b < amount {
		return 0, errors.New("insufficient balance")
	}
	if b == amount {
		ctx.Delete(balanceKey(a))
	} else {
		ctx.SetUint64(balanceKey(a), b-amount)
	}
	return b - amount, nil
}

func deposit(ctx *sdk.Context, a AmountArgs) (Balance, error) {
	if !ctx.FromChain() {
		return Balance{}, errors.New("deposits are credited by the chain only")
	}
	if a.Amount == 0 {
		return Balance{}, errors.New("zero amount")
	}
	b, err := credit(ctx, ctx.Caller(), a.Amount)
	if err != nil {
		return Balance{}, err
	}
	return Balance{b}, nil
}

func transfer(ctx *sdk.Context, a TransferArgs) (Balance, error) {
	if ctx.Origin() != sdk.OriginCommand {
		return Balance{}, errors.New("transfer must be a command")
	}
	if a.Amount == 0 {
		return Balance{}, errors.New("zero amount")
	}
	if a.To.IsZero() {
		return Balance{}, errors.New("missing recipient")
	}
	from := ctx.Caller()
	left, err := debit(ctx, from, a.Amount)
	if err != nil {
		return Balance{}, err
	}
	got, err := credit(ctx, a.To, a.Amount)
	if err != nil {
		return Balance{}, err
	}
	if a.To == from {
		left = got // a transfer to oneself: the credit came last
	}
	return Balance{left}, nil
}

func balance(ctx *sdk.Context, a BalanceArgs) (Balance, error) {
	if a.Account != nil && *a.Account != ctx.Caller() {
		return Balance{}, sdk.ErrNotAuthorized
	}
	return Balance{ctx.GetUint64(balanceKey(ctx.Caller()))}, nil
}

func withdraw(ctx *sdk.Context, a AmountArgs) (Balance, error) {
	if ctx.Origin() != sdk.OriginCommand {
		return Balance{}, errors.New("withdraw must be a command")
	}
	if a.Amount == 0 {
		return Balance{}, errors.New("zero amount")
	}
	who := ctx.Caller()
	left, err := debit(ctx, who, a.Amount)
	if err != nil {
		return Balance{}, err
	}
	if err := ctx.TransferOut(who, a.Amount); err != nil {
		return Balance{}, err
	}
	return Balance{left}, nil
}

func main() {}
