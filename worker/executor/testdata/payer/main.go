// Command payer is the executor's test contract: transfers out of the
// contract (veil.transfer events), malformed transfer events, and calls
// that write and then fail (out of gas, panic) or revert.
package main

import (
	"errors"
	"strconv"

	"github.com/veil-network/veil/contracts/sdk"
)

type PayArgs struct {
	To     sdk.Account `json:"to"`
	Amount uint64      `json:"amount"`
}

type Env struct {
	Caller string `json:"caller"`
	Origin uint32 `json:"origin"`
	Height uint64 `json:"height"`
	Time   int64  `json:"time"`
	Rand   uint64 `json:"rand"`
}

func init() {
	sdk.Init(func(ctx *sdk.Context, _ sdk.NoArgs) error {
		ctx.SetString("owner", ctx.Caller().String())
		return nil
	})
	sdk.Handle("pay", func(ctx *sdk.Context, a PayArgs) (uint64, error) {
		n := ctx.GetUint64("paid") + a.Amount
		ctx.SetUint64("paid", n)
		return n, ctx.TransferOut(a.To, a.Amount)
	})
	sdk.Handle("bad_pay", func(ctx *sdk.Context, a PayArgs) (uint64, error) {
		ctx.EmitRaw(sdk.TransferTopic, []byte(`{"to":"zz","amount":"1"}`))
		ctx.EmitRaw(sdk.TransferTopic, []byte("not json"))
		return a.Amount, ctx.TransferOut(a.To, a.Amount)
	})
	sdk.Handle("spin", func(ctx *sdk.Context, _ sdk.NoArgs) (int, error) {
		ctx.SetString("spun", "yes")
		for i := 0; ; i++ {
			if i < 0 {
				return i, nil
			}
		}
	})
	sdk.Handle("panic", func(ctx *sdk.Context, _ sdk.NoArgs) (int, error) {
		ctx.SetString("panicked", "yes")
		panic("boom")
	})
	sdk.Handle("revert", func(ctx *sdk.Context, _ sdk.NoArgs) (int, error) {
		ctx.SetString("reverted", "yes")
		return 0, errors.New("no way")
	})
	sdk.Handle("raw", func(ctx *sdk.Context, _ sdk.NoArgs) (sdk.NoArgs, error) {
		ctx.EmitRaw("bin", []byte{0xff, 0x00})
		return sdk.NoArgs{}, nil
	})
	sdk.Handle("env", func(ctx *sdk.Context, _ sdk.NoArgs) (Env, error) {
		return Env{Caller: ctx.Caller().String(), Origin: uint32(ctx.Origin()), Height: ctx.BlockHeight(),
			Time: ctx.BlockTime().UnixNano(), Rand: ctx.Random().Uint64()}, nil
	})
	sdk.Handle("get", func(ctx *sdk.Context, _ sdk.NoArgs) (string, error) {
		return strconv.FormatUint(ctx.GetUint64("paid"), 10), nil
	})
}

func main() {}
