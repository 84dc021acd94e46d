package randomness

import "testing"

// BenchmarkProve is the proposer's per-block cost in PrepareProposal.
func BenchmarkProve(b *testing.B) {
	alice := mustKey(b, "alice")
	e := newEnv(b, DefaultParams(), alice)
	e.block(1, alice)
	for b.Loop() {
		if _, err := Prove(e.s, testChainID, testGenesisHash, 2, alice); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify is every validator's per-block cost, paid in
// ProcessProposal and again in FinalizeBlock.
func BenchmarkVerify(b *testing.B) {
	alice := mustKey(b, "alice")
	e := newEnv(b, DefaultParams(), alice)
	e.block(1, alice)
	raw := e.prove(2, alice)
	for b.Loop() {
		if _, err := e.verify(2, alice.Address(), raw); err != nil {
			b.Fatal(err)
		}
	}
}
