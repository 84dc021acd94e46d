// Command bench is a compute workload for measuring the cost of gas
// metering: hashing (arithmetic, few branches), sorting (branches and
// calls) and map updates (Go runtime calls).
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/veil-network/veil/contracts/sdk"
)

// WorkArgs sizes the workload.
type WorkArgs struct {
	N int `json:"n"`
}

func work(n int) string {
	buf := make([]byte, 1024)
	var h [32]byte
	xs := make([]uint32, 512)
	m := map[uint32]int{}
	x := uint32(1)
	for i := 0; i < n; i++ {
		copy(buf, h[:])
		h = sha256.Sum256(buf)
		for j := range xs {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			xs[j] = x
		}
		slices.Sort(xs)
		for _, v := range xs[:64] {
			m[v%1024]++
		}
	}
	h[0] ^= byte(len(m))
	return hex.EncodeToString(h[:])
}

func init() {
	sdk.Handle("work", func(_ *sdk.Context, a WorkArgs) (string, error) { return work(a.N), nil })
}

func main() {}
