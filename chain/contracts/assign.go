package contracts

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"slices"

	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/randomness"
	"github.com/veil-network/veil/chain/types"
)

// Assign chooses the k workers that serve contract id at height. It is the
// one place assignment policy lives.
//
// Candidates are compute.Eligible: bound workers that are Computing (not
// Unresponsive, not cooling down), whose attestation is fresh and that
// report their sync progress. Members of keep that are still eligible stay
// first, in keep's order, so a replacement moves only the seats that must
// move (the newcomers need the key; the others keep their state). The
// remaining seats are drawn one at a time, without replacement, with
// probability proportional to stake, from the randomness of the block the
// triggering transaction (or the replacement) executes in:
//
//	r_j = SHA-256("veil/contracts/assign/v1" ‖ randomness ‖ id ‖ u32be(j))
//
// taken modulo the remaining total stake and mapped onto the candidates'
// cumulative stakes in identity order. Stake weighting makes a seat cost
// the same capital however it is split across workers (splitting stake
// over many workers buys no extra seats), and slashing puts that capital
// at risk. See docs/compute.md for the proposer-bias argument.
//
// Fewer eligible workers than seats gives every eligible worker a seat
// and ErrUnderstaffed-coded error together with the partial list; callers
// decide whether a partial assignment is acceptable (a replacement keeps
// the contract running, an instantiation refuses).
func Assign(s types.KVStore, height int64, id [32]byte, k int, keep [][]byte) ([][]byte, error) {
	return newDraw(s, height).assign(id, k, keep)
}

// draw is what every assignment at one height shares: the eligible
// workers and the seed. EndBlock reads them once for all the contracts it
// reschedules; its writes (contract records, the worker index, mq
// messages) change neither.
type draw struct {
	cands []compute.Candidate // sorted by identity
	seed  []byte
}

func newDraw(s types.KVStore, height int64) *draw {
	return &draw{cands: compute.Eligible(s, height), seed: randomness.Seed(s, height)}
}

// assign is Assign over the draw's candidates and seed.
func (d *draw) assign(id [32]byte, k int, keep [][]byte) ([][]byte, error) {
	if k <= 0 {
		return nil, errf(CodeInvalidReplicas, "replicas must be positive, got %d", k)
	}
	isEligible := func(w []byte) bool {
		_, found := slices.BinarySearchFunc(d.cands, w, func(c compute.Candidate, t []byte) int {
			return bytes.Compare(c.Identity, t)
		})
		return found
	}
	out := make([][]byte, 0, k)
	for _, w := range keep {
		if len(out) == k {
			break
		}
		if isEligible(w) && !contains(out, w) {
			out = append(out, bytes.Clone(w))
		}
	}
	type weighted struct {
		identity []byte
		stake    *big.Int
	}
	pool := make([]weighted, 0, len(d.cands))
	total := new(big.Int)
	for _, c := range d.cands {
		if contains(out, c.Identity) || c.Stake.IsZero() {
			continue
		}
		w := weighted{c.Identity, c.Stake.Big()}
		pool = append(pool, w)
		total.Add(total, w.stake)
	}
	acc := new(big.Int)
	for j := 0; len(out) < k && len(pool) > 0; j++ {
		h := sha256.New()
		h.Write([]byte("veil/contracts/assign/v1"))
		h.Write(d.seed)
		h.Write(id[:])
		var jb [4]byte
		binary.BigEndian.PutUint32(jb[:], uint32(j))
		h.Write(jb[:])
		// A 256-bit draw reduced modulo a total below 2^128: the modulo
		// bias is below 2^-128.
		r := new(big.Int).SetBytes(h.Sum(nil))
		r.Mod(r, total)
		pick := 0
		acc.SetInt64(0)
		for i, c := range pool {
			acc.Add(acc, c.stake)
			if r.Cmp(acc) < 0 {
				pick = i
				break
			}
		}
		out = append(out, bytes.Clone(pool[pick].identity))
		total.Sub(total, pool[pick].stake)
		pool = slices.Delete(pool, pick, pick+1)
	}
	if len(out) < k {
		return out, errf(CodeNotEnoughWorkers, "%d eligible workers, the contract needs %d (eligible: bound, computing with stake, responsive to heartbeats, attested and syncing)", len(out), k)
	}
	return out, nil
}
