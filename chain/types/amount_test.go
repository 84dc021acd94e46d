package types

import (
	"errors"
	"math/big"
	"testing"
)

func TestParseAmount(t *testing.T) {
	max := "340282366920938463463374607431768211455"
	for _, s := range []string{"0", "1", "18446744073709551615", "18446744073709551616", max} {
		a, err := ParseAmount(s)
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if a.String() != s {
			t.Fatalf("round trip %s -> %s", s, a.String())
		}
	}
	for _, s := range []string{"", "-1", "+1", "01", "1e3", "1.5", " 1", "abc", "340282366920938463463374607431768211456", "99999999999999999999999999999999999999999"} {
		if _, err := ParseAmount(s); err == nil {
			t.Errorf("%q accepted", s)
		}
	}
	if _, err := ParseAmount("340282366920938463463374607431768211456"); !errors.Is(err, ErrAmountOverflow) {
		t.Errorf("overflow error: %v", err)
	}
}

func TestAmountArithmeticMatchesBig(t *testing.T) {
	two128 := new(big.Int).Lsh(big.NewInt(1), 128)
	vals := []string{"0", "1", "18446744073709551615", "18446744073709551616", "340282366920938463463374607431768211455", "170141183460469231731687303715884105728", "12345678901234567890123"}
	for _, x := range vals {
		for _, y := range vals {
			a, b := MustParseAmount(x), MustParseAmount(y)
			bx, _ := new(big.Int).SetString(x, 10)
			by, _ := new(big.Int).SetString(y, 10)
			sum := new(big.Int).Add(bx, by)
			got, ok := a.Add(b)
			if ok != (sum.Cmp(two128) < 0) || (ok && got.String() != sum.String()) {
				t.Errorf("%s + %s = %s ok=%v", x, y, got, ok)
			}
			diff := new(big.Int).Sub(bx, by)
			got, ok = a.Sub(b)
			if ok != (diff.Sign() >= 0) || (ok && got.String() != diff.String()) {
				t.Errorf("%s - %s = %s ok=%v", x, y, got, ok)
			}
			if c := a.Cmp(b); c != bx.Cmp(by) {
				t.Errorf("cmp %s %s = %d", x, y, c)
			}
		}
		for _, m := range []uint64{0, 1, 10, 1 << 63, ^uint64(0)} {
			a := MustParseAmount(x)
			prod := new(big.Int).Mul(new(big.Int).SetUint64(m), func() *big.Int { b, _ := new(big.Int).SetString(x, 10); return b }())
			got, ok := a.Mul64(m)
			if ok != (prod.Cmp(two128) < 0) || (ok && got.String() != prod.String()) {
				t.Errorf("%s * %d = %s ok=%v", x, m, got, ok)
			}
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0", "1", "340282366920938463463374607431768211455", "-1", "01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Fatalf("accepted %q but formats as %q", s, a.String())
		}
		b, err := AmountFromBytes(a.Bytes())
		if err != nil || b != a {
			t.Fatalf("bytes round trip of %s", s)
		}
	})
}

func TestPrefixEnd(t *testing.T) {
	if got := string(PrefixEnd([]byte("bank/"))); got != "bank0" {
		t.Fatalf("got %q", got)
	}
	if PrefixEnd([]byte{0xff, 0xff}) != nil {
		t.Fatal("all-0xff prefix has no end")
	}
	if got := PrefixEnd([]byte{1, 0xff}); len(got) != 1 || got[0] != 2 {
		t.Fatalf("got %v", got)
	}
}

func TestErrorCodes(t *testing.T) {
	err := Errf(CodeStaleNonce, "nonce %d", 3)
	if CodeOf(err) != CodeStaleNonce || CodeOf(nil) != CodeOK || CodeOf(errors.New("x")) != CodeInternal {
		t.Fatal("CodeOf")
	}
	if !errors.Is(err, Errf(CodeStaleNonce, "")) || errors.Is(err, Errf(CodeFutureNonce, "")) {
		t.Fatal("errors.Is by code")
	}
}

func TestAmountBigRoundTrip(t *testing.T) {
	for _, s := range []string{"0", "1", "18446744073709551616", "340282366920938463463374607431768211455"} {
		a := MustParseAmount(s)
		if got := a.Big().String(); got != s {
			t.Fatalf("Big(%s) = %s", s, got)
		}
		b, ok := AmountFromBig(a.Big())
		if !ok || b != a {
			t.Fatalf("AmountFromBig(%s) = %v, %v", s, b, ok)
		}
	}
	over := MustParseAmount("340282366920938463463374607431768211455").Big()
	over.Add(over, over)
	if _, ok := AmountFromBig(over); ok {
		t.Fatal("2^129 accepted")
	}
	if _, ok := AmountFromBig(big.NewInt(-1)); ok {
		t.Fatal("negative accepted")
	}
}

func TestAmountSaturatingAndUint128(t *testing.T) {
	max := MaxAmount()
	if max.String() != "340282366920938463463374607431768211455" {
		t.Fatalf("max %s", max)
	}
	one := NewAmount(1)
	if max.AddSat(one) != max || NewAmount(5).AddSat(NewAmount(7)) != NewAmount(12) {
		t.Fatal("AddSat")
	}
	if one.SubSat(NewAmount(2)) != (Amount{}) || NewAmount(7).SubSat(NewAmount(5)) != NewAmount(2) {
		t.Fatal("SubSat")
	}
	if NewAmount(3).Min(NewAmount(9)) != NewAmount(3) || NewAmount(9).Min(NewAmount(3)) != NewAmount(3) {
		t.Fatal("Min")
	}
	a := MustParseAmount("18446744073709551617")
	if AmountFromUint128(a.Uint128()) != a || a.Uint128().Hi != 1 || a.Uint128().Lo != 1 {
		t.Fatal("Uint128 round trip")
	}
}

func TestAmountMulDiv(t *testing.T) {
	max := MaxAmount()
	// A product above 2^128 with a quotient below it is exact.
	if q, ok := max.MulDiv(NewAmount(6), NewAmount(12)); !ok || q != MustParseAmount("170141183460469231731687303715884105727") {
		t.Fatalf("max·6/12 = %s, %v", q, ok)
	}
	if q, ok := NewAmount(7).MulDiv(NewAmount(3), NewAmount(2)); !ok || q != NewAmount(10) {
		t.Fatalf("7·3/2 = %s, %v", q, ok)
	}
	if q, ok := max.MulDiv(NewAmount(2), NewAmount(1)); ok || q != max || max.MulDivSat(NewAmount(2), NewAmount(1)) != max {
		t.Fatal("overflow not saturated and reported")
	}
	if q, ok := NewAmount(5).MulDiv(NewAmount(5), Amount{}); ok || !q.IsZero() {
		t.Fatal("division by zero not reported as 0, false")
	}
}
