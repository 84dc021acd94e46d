package bench

import (
	"context"
	"testing"
	"time"

	"github.com/veil-network/veil/crypto/keys"
)

// TestTransfersHarness runs the benchmark at toy scale to prove the harness
// measures what it claims: every signed transfer is finalized successfully
// in both applications. (No timing is asserted.)
func TestTransfersHarness(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := Transfers(ctx, Options{Txs: 400, Accounts: 50, Scheme: keys.SchemeSr25519, BlockTime: 200 * time.Millisecond, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Veil.Finalized != 400 || rep.Veil.Failed != 0 || rep.Veil.SubmitErrors != 0 {
		t.Fatalf("veil: %+v", rep.Veil)
	}
	if rep.KVStore == nil || rep.KVStore.Finalized != 400 {
		t.Fatalf("kvstore: %+v", rep.KVStore)
	}
	if rep.Ratio == nil || *rep.Ratio <= 0 {
		t.Fatalf("no ratio")
	}
	t.Logf("veil %.0f tx/s, kvstore %.0f tx/s (toy scale)", rep.Veil.TPS, rep.KVStore.TPS)
}
