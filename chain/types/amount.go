package types

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/veil-network/veil/npos"
)

// Amount is an unsigned 128-bit token amount in the smallest unit, as
// Substrate's u128 Balance. A fixed-width integer (rather than math/big)
// makes overflow explicit at every operation and keeps state encoding
// canonical: 16 bytes big-endian.
type Amount struct{ hi, lo uint64 }

// ErrAmountSyntax reports a malformed decimal amount.
var ErrAmountSyntax = errors.New("amount must be a decimal integer without sign or separators")

// ErrAmountOverflow reports a value outside the u128 range.
var ErrAmountOverflow = errors.New("amount exceeds the u128 range")

// NewAmount returns the amount u.
func NewAmount(u uint64) Amount { return Amount{lo: u} }

// ParseAmount parses a canonical decimal string ("0", "12", never "+1",
// "-1", "01" or "1e3"): a transaction's bytes must have one meaning only.
func ParseAmount(s string) (Amount, error) {
	if s == "" {
		return Amount{}, fmt.Errorf("%w: empty", ErrAmountSyntax)
	}
	if len(s) > 1 && s[0] == '0' {
		return Amount{}, fmt.Errorf("%w: leading zero in %q", ErrAmountSyntax, truncate(s))
	}
	var a Amount
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return Amount{}, fmt.Errorf("%w: %q", ErrAmountSyntax, truncate(s))
		}
		var ok bool
		if a, ok = a.Mul64(10); !ok {
			return Amount{}, ErrAmountOverflow
		}
		if a, ok = a.Add(NewAmount(uint64(c - '0'))); !ok {
			return Amount{}, ErrAmountOverflow
		}
	}
	return a, nil
}

func truncate(s string) string {
	if len(s) > 48 {
		return s[:48] + "…"
	}
	return s
}

// MustParseAmount is for constants in tests and defaults only.
func MustParseAmount(s string) Amount {
	a, err := ParseAmount(s)
	if err != nil {
		panic(err)
	}
	return a
}

// IsZero reports a == 0.
func (a Amount) IsZero() bool { return a.hi == 0 && a.lo == 0 }

// Cmp returns -1, 0 or +1.
func (a Amount) Cmp(b Amount) int {
	switch {
	case a.hi < b.hi:
		return -1
	case a.hi > b.hi:
		return 1
	case a.lo < b.lo:
		return -1
	case a.lo > b.lo:
		return 1
	}
	return 0
}

// Add returns a+b and false on overflow.
func (a Amount) Add(b Amount) (Amount, bool) {
	lo, c := bits.Add64(a.lo, b.lo, 0)
	hi, c2 := bits.Add64(a.hi, b.hi, c)
	return Amount{hi, lo}, c2 == 0
}

// Sub returns a-b and false on underflow.
func (a Amount) Sub(b Amount) (Amount, bool) {
	lo, br := bits.Sub64(a.lo, b.lo, 0)
	hi, br2 := bits.Sub64(a.hi, b.hi, br)
	return Amount{hi, lo}, br2 == 0
}

// Mul64 returns a*m and false on overflow.
func (a Amount) Mul64(m uint64) (Amount, bool) {
	hiLo, lo := bits.Mul64(a.lo, m)
	hiHi, hiLow := bits.Mul64(a.hi, m)
	hi, c := bits.Add64(hiLow, hiLo, 0)
	return Amount{hi, lo}, hiHi == 0 && c == 0
}

// DivMod64 returns a/d and a%d; d must be non-zero.
func (a Amount) DivMod64(d uint64) (Amount, uint64) {
	qhi, r := bits.Div64(0, a.hi, d)
	qlo, r := bits.Div64(r, a.lo, d)
	return Amount{qhi, qlo}, r
}

// Uint64 returns the value and whether it fits in 64 bits.
func (a Amount) Uint64() (uint64, bool) { return a.lo, a.hi == 0 }

// String formats a as a decimal integer.
func (a Amount) String() string {
	if a.hi == 0 {
		return strconv.FormatUint(a.lo, 10)
	}
	var buf [40]byte
	i := len(buf)
	for !a.IsZero() {
		var r uint64
		a, r = a.DivMod64(1e19)
		// The buffer fills right to left: the chunk first, then (for all
		// but the most significant chunk) its leading zeros.
		s := strconv.FormatUint(r, 10)
		i -= len(s)
		copy(buf[i:], s)
		if !a.IsZero() {
			for pad := 19 - len(s); pad > 0; pad-- {
				i--
				buf[i] = '0'
			}
		}
	}
	return string(buf[i:])
}

// Bytes is the canonical 16-byte big-endian state encoding.
func (a Amount) Bytes() []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return b
}

// Uint128 converts to the NPoS library's u128, whose checked
// multiply-divide (npos.MulDivRounding) the reward and slashing
// arithmetic uses.
func (a Amount) Uint128() npos.Uint128 { return npos.Uint128{Hi: a.hi, Lo: a.lo} }

// AmountFromUint128 converts back from the NPoS library's u128.
func AmountFromUint128(u npos.Uint128) Amount { return Amount{u.Hi, u.Lo} }

// MulDiv is ⌊a·b/c⌋ with a 256-bit intermediate product. ok is false when
// c is 0 (the result is then 0) or the quotient exceeds u128 (MaxAmount).
func (a Amount) MulDiv(b, c Amount) (Amount, bool) {
	if c.IsZero() {
		return Amount{}, false
	}
	q, ok := npos.MulDivRounding(a.Uint128(), b.Uint128(), c.Uint128(), npos.RoundDown)
	if !ok {
		return MaxAmount(), false
	}
	return AmountFromUint128(q), true
}

// MulDivSat is MulDiv saturating at MaxAmount (0 when c is 0).
func (a Amount) MulDivSat(b, c Amount) Amount {
	q, _ := a.MulDiv(b, c)
	return q
}

// MaxAmount is 2^128 − 1, the largest amount.
func MaxAmount() Amount { return Amount{^uint64(0), ^uint64(0)} }

// AddSat is a+b, saturating at MaxAmount.
func (a Amount) AddSat(b Amount) Amount {
	if s, ok := a.Add(b); ok {
		return s
	}
	return MaxAmount()
}

// SubSat is a−b, saturating at zero.
func (a Amount) SubSat(b Amount) Amount {
	if d, ok := a.Sub(b); ok {
		return d
	}
	return Amount{}
}

// Min is the smaller of a and b.
func (a Amount) Min(b Amount) Amount {
	if a.Cmp(b) <= 0 {
		return a
	}
	return b
}

// Big returns the amount as a math/big integer, for products and
// quotients that exceed 128 bits before they are reduced (reward
// accumulators, weighted draws).
func (a Amount) Big() *big.Int { return new(big.Int).SetBytes(a.Bytes()) }

// AmountFromBig converts a non-negative integer below 2^128; ok is false
// otherwise.
func AmountFromBig(b *big.Int) (Amount, bool) {
	if b.Sign() < 0 || b.BitLen() > 128 {
		return Amount{}, false
	}
	var buf [16]byte
	b.FillBytes(buf[:])
	return Amount{binary.BigEndian.Uint64(buf[:8]), binary.BigEndian.Uint64(buf[8:])}, true
}

// AmountFromBytes decodes the 16-byte state encoding.
func AmountFromBytes(b []byte) (Amount, error) {
	if len(b) != 16 {
		return Amount{}, fmt.Errorf("amount encoding has %d bytes, want 16", len(b))
	}
	return Amount{binary.BigEndian.Uint64(b), binary.BigEndian.Uint64(b[8:])}, nil
}

// MarshalText lets amounts appear as decimal strings in JSON, so that no
// JSON consumer loses precision above 2^53.
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses a decimal string.
func (a *Amount) UnmarshalText(b []byte) error {
	v, err := ParseAmount(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
