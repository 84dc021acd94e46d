// Command hello-world is the smallest useful Veil contract: a counter.
//
//	increment {"by": n}  adds n (default 1), returns {"count": total}
//	get_count            returns {"count": total}
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o hello-world.wasm .
package main

import (
	"errors"
	"math"

	"github.com/veil-network/veil/contracts/sdk"
)

// IncrementArgs are the arguments of increment.
type IncrementArgs struct {
	By uint64 `json:"by"`
}

// Count is the result of both methods.
type Count struct {
	Count uint64 `json:"count"`
}

const countKey = "count"

func init() {
	sdk.Handle("increment", increment)
	sdk.Handle("get_count", getCount)
}

func increment(ctx *sdk.Context, a IncrementArgs) (Count, error) {
	if a.By == 0 {
		a.By = 1
	}
	n := ctx.GetUint64(countKey)
	if n > math.MaxUint64-a.By {
		return Count{}, errors.New("counter overflow")
	}
	n += a.By
	ctx.SetUint64(countKey, n)
	if err := ctx.Emit("incremented", Count{n}); err != nil {
		return Count{}, err
	}
	return Count{n}, nil
}

func getCount(ctx *sdk.Context, _ sdk.NoArgs) (Count, error) {
	return Count{ctx.GetUint64(countKey)}, nil
}

func main() {}
