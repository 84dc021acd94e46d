// Command guess-number hides a random number; players guess it.
//
//	init  {"max": n}   chain only, at instantiation: draws the secret in
//	                   [1, max] (default 100) from the contract's random
//	                   stream and records the deployer as owner
//	guess {"n": k}     returns {"answer": "higher"|"lower"|"correct"}
//	                   ("higher": the secret is higher than k). A correct
//	                   guess emits "solved" and draws a new secret.
//	                   Guesses must be commands, so each costs a
//	                   transaction rather than a free query.
//	peek               the secret, for the owner only
//
// The secret is unpredictable: the random stream is derived from the
// contract's random key, which exists only inside TEEs.
package main

import (
	"errors"

	"github.com/veil-network/veil/contracts/sdk"
)

// InitArgs are the arguments of init.
type InitArgs struct {
	Max uint64 `json:"max"`
}

// GuessArgs are the arguments of guess.
type GuessArgs struct {
	N uint64 `json:"n"`
}

// Answer is the result of guess.
type Answer struct {
	Answer string `json:"answer"`
}

// Secret is the result of peek.
type Secret struct {
	N uint64 `json:"n"`
}

// Solved is the event of a correct guess.
type Solved struct {
	By       sdk.Account `json:"by"`
	Attempts uint64      `json:"attempts"`
}

const (
	keySecret   = "secret"
	keyMax      = "max"
	keyOwner    = "owner"
	keyAttempts = "attempts"
)

func init() {
	sdk.Init(initGame)
	sdk.Handle("guess", guess)
	sdk.Handle("peek", peek)
}

func draw(ctx *sdk.Context) {
	ctx.SetUint64(keySecret, ctx.Random().Uint64N(ctx.GetUint64(keyMax))+1)
	ctx.SetUint64(keyAttempts, 0)
}

func initGame(ctx *sdk.Context, a InitArgs) error {
	if a.Max == 0 {
		a.Max = 100
	}
	owner := ctx.Caller()
	ctx.Set(keyOwner, owner[:])
	ctx.SetUint64(keyMax, a.Max)
	draw(ctx)
	return nil
}

func guess(ctx *sdk.Context, a GuessArgs) (Answer, error) {
	if ctx.Origin() != sdk.OriginCommand {
		return Answer{}, errors.New("guesses must be submitted as commands")
	}
	secret := ctx.GetUint64(keySecret)
	if secret == 0 {
		return Answer{}, errors.New("game not initialised")
	}
	attempts := ctx.GetUint64(keyAttempts) + 1
	ctx.SetUint64(keyAttempts, attempts)
	switch {
	case a.N < secret:
		return Answer{"higher"}, nil
	case a.N > secret:
		return Answer{"lower"}, nil
	}
	if err := ctx.Emit("solved", Solved{By: ctx.Caller(), Attempts: attempts}); err != nil {
		return Answer{}, err
	}
	draw(ctx)
	return Answer{"correct"}, nil
}

func peek(ctx *sdk.Context, _ sdk.NoArgs) (Secret, error) {
	owner, _ := ctx.Get(keyOwner)
	caller := ctx.Caller()
	if string(owner) != string(caller[:]) {
		return Secret{}, sdk.ErrNotAuthorized
	}
	return Secret{ctx.GetUint64(keySecret)}, nil
}

func main() {}
