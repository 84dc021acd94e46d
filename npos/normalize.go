package npos

import "slices"

// Normalize is sp_arithmetic::normalize for u128: it returns a copy of input
// whose sum is exactly target, changing elements as upstream does. The
// result depends on the order of equal elements, so the same order must be
// used as upstream for the same output:
//
//   - elements are visited in ascending order (stable for ties);
//   - when the sum is short, diff/len is added to the current minimum (moving
//     on once it reaches target/len), then the remainder one unit at a time;
//   - when the sum is over, diff/len is taken from the current maximum
//     (moving on once it drops to the original minimum, clamping at zero and
//     carrying the shortfall), then the remainder one unit at a time.
//
// It fails when the sum of input overflows u128.
func Normalize(input []Uint128, target Uint128) ([]Uint128, error) {
	return normalizeBounded(input, target, MaxUint128())
}

type idxVal struct {
	idx int
	val Uint128
}

// normalizeBounded runs upstream's normalize in an integer type whose
// maximum is limit (u16, u32, u64 or u128 upstream).
func normalizeBounded(input []Uint128, target, limit Uint128) ([]Uint128, error) {
	out := make([]Uint128, len(input))
	if _, err := normalizeInto(out, input, target, limit, nil); err != nil {
		return nil, err
	}
	return out, nil
}

// normalizeInto is normalizeBounded writing the result into dst (same
// length as input; it may be input itself) and using buf as scratch, which
// it returns (grown if needed) for reuse. Hot paths call it once per voter
// without allocating.
func normalizeInto(dst, input []Uint128, target, limit Uint128, buf []idxVal) ([]idxVal, error) {
	var sum Uint128
	for _, v := range input {
		var ok bool
		sum, ok = sum.CheckedAdd(v)
		if !ok || limit.Less(sum) {
			return buf, ErrNormalizeSumOverflow
		}
	}
	count := len(input)
	countT := U128(uint64(count))
	if limit.Less(countT) {
		return buf, ErrNormalizeLengthOverflow
	}
	if count == 0 {
		return buf, nil
	}
	var diff Uint128
	needsBump := sum.Less(target)
	if needsBump {
		diff = target.Sub(sum)
	} else {
		diff = sum.Sub(target)
	}
	if diff.IsZero() {
		copy(dst, input)
		return buf, nil
	}
	perRound, leftover := diff.QuoRem(countT)

	if cap(buf) < count {
		buf = make([]idxVal, count)
	}
	out := buf[:count]
	for i, v := range input {
		out[i] = idxVal{i, v}
	}
	// Rust's sort_by_key is stable: insertion sort for the usual handful of
	// edges, a stable library sort beyond.
	if count <= 32 {
		for i := 1; i < count; i++ {
			for j := i; j > 0 && out[j].val.Less(out[j-1].val); j-- {
				out[j], out[j-1] = out[j-1], out[j]
			}
		}
	} else {
		slices.SortStableFunc(out, func(a, b idxVal) int { return a.val.Cmp(b.val) })
	}

	one := U128(1)
	if needsBump {
		minIndex := 0
		threshold := target.Quo(countT)
		if !perRound.IsZero() {
			for range count {
				out[minIndex].val = out[minIndex].val.Add(perRound)
				if !out[minIndex].val.Less(threshold) {
					minIndex = (minIndex + 1) % count
				}
			}
		}
		// leftover < count, so the unit loop is short.
		for !leftover.IsZero() {
			out[minIndex].val = out[minIndex].val.Add(one)
			if !out[minIndex].val.Less(threshold) {
				minIndex = (minIndex + 1) % count
			}
			leftover = leftover.Sub(one)
		}
	} else {
		maxIndex := count - 1
		threshold := out[0].val
		dec := func(i int) int {
			if i == 0 {
				return count - 1
			}
			return i - 1
		}
		if !perRound.IsZero() {
			for range count {
				v := out[maxIndex].val
				if d, ok := v.CheckedSub(perRound); ok {
					v = d
				} else {
					leftover = leftover.Add(perRound.Sub(v))
					v = Uint128{}
				}
				out[maxIndex].val = v
				if !threshold.Less(v) {
					maxIndex = dec(maxIndex)
				}
			}
		}
		normalizeDrainLeftover(out, threshold, maxIndex, leftover, dec)
	}

	for _, e := range out {
		dst[e.idx] = e.val
	}
	return buf, nil
}

// normalizeDrainLeftover runs upstream's final "decrement one unit at a
// time" loop. Upstream loops once per unit, which never ends in practice
// when an element was clamped at zero with a large carry; this version jumps
// over runs of identical steps (a stretch of decrements on one element, or
// whole passes over every non-zero element once all are at or below the
// threshold) and so yields exactly upstream's values in O(n²) at worst.
func normalizeDrainLeftover(out []idxVal, threshold Uint128, maxIndex int, leftover Uint128, dec func(int) int) {
	above := 0
	for _, e := range out {
		if threshold.Less(e.val) {
			above++
		}
	}
	for !leftover.IsZero() {
		if above == 0 {
			nonZero := 0
			var minNZ Uint128
			for _, e := range out {
				if !e.val.IsZero() {
					if nonZero == 0 || e.val.Less(minNZ) {
						minNZ = e.val
					}
					nonZero++
				}
			}
			if nonZero == 0 {
				// Unreachable: leftover never exceeds the remaining sum.
				return
			}
			nz := U128(uint64(nonZero))
			if !leftover.Less(nz) {
				// Every visit of a full pass decrements a non-zero element
				// by one and moves on, ending where it started.
				passes := leftover.Quo(nz)
				if minNZ.Less(passes) {
					passes = minNZ
				}
				for i := range out {
					if !out[i].val.IsZero() {
						out[i].val = out[i].val.Sub(passes)
					}
				}
				leftover = leftover.Sub(passes.MulSat(nz))
				continue
			}
		}
		v := out[maxIndex].val
		switch {
		case v.IsZero():
			maxIndex = dec(maxIndex)
		case threshold.Less(v):
			// Decrement until the element reaches the threshold.
			k := v.Sub(threshold)
			if leftover.Less(k) {
				out[maxIndex].val = v.Sub(leftover)
				leftover = Uint128{}
			} else {
				out[maxIndex].val = threshold
				leftover = leftover.Sub(k)
				above--
				maxIndex = dec(maxIndex)
			}
		default:
			out[maxIndex].val = v.Sub(U128(1))
			leftover = leftover.Sub(U128(1))
			maxIndex = dec(maxIndex)
		}
	}
}
