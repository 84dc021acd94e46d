package attest

import (
	"context"
	"testing"

	sevdata "github.com/google/go-sev-guest/verify/testdata"
)

// BenchmarkAttestVerify measures a complete offline verification per kind.
// The DCAP cases use full collateral: TCB info, QE identity, their issuer
// chains and (dcap-qvl) the root CA and PCK CRLs with their issuer chain.
func BenchmarkAttestVerify(b *testing.B) {
	v := NewVerifier()
	for _, idx := range []int{0, 1, 3, 4} {
		c := sharedCases()[idx]
		b.Run(c.name, func(b *testing.B) {
			ev, col := loadCase(b, c)
			when := at(b, c.times[0])
			if _, err := v.Verify(ev, col, Policy{}, when); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ev, col, Policy{}, when); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("go-sev-guest/attestation.bin", func(b *testing.B) {
		ev := Evidence{Kind: KindSEVSNP, Quote: sevdata.AttestationBytes}
		col := sevCollateral(b, SEVSNPCollateral{VCEK: pemCert(sevdata.VcekBytes)})
		when := at(b, "2023-01-01T00:00:00Z")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ev, col, Policy{AllowDebug: true}, when); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("simulated", func(b *testing.B) {
		p, err := NewSimulatedPlatform(testSeed(3), []byte("m"))
		if err != nil {
			b.Fatal(err)
		}
		ev, err := p.Evidence(context.Background(), [64]byte{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ev, nil, Policy{AllowSimulated: true}, at(b, "0")); err != nil {
				b.Fatal(err)
			}
		}
	})
}
