package worker

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
)

// BenchmarkCheckpoint: sealing and writing the sync checkpoint with a full
// window of recent headers (KeepHeaders, 4 validators), which the worker
// does after every call that changed its state.
func BenchmarkCheckpoint(b *testing.B) {
	const chainID = "bench-chain"
	w, err := New(context.Background(), Config{Home: b.TempDir(), TEE: "simulated", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	gh := bytes.Repeat([]byte{9}, 32)
	if err := w.bind(chainID, gh); err != nil {
		b.Fatal(err)
	}
	chain := signedChain(b, chainID, KeepHeaders+10)
	vsp, _ := chain[0].ValidatorSet.ToProto()
	vsb, _ := vsp.Marshal()
	if _, err := w.sync.initTrustRoot(&workerv1.InitTrustRootRequest{Root: &workerv1.InitTrustRootRequest_Explicit{Explicit: &workerv1.TrustRoot{
		ChainId: chainID, GenesisHash: gh, InitialHeight: 1, ValidatorSet: vsb}}}); err != nil {
		b.Fatal(err)
	}
	for _, lb := range chain {
		if err := w.sync.lc.Update(lb); err != nil {
			b.Fatal(err)
		}
	}
	size := 0
	b.ResetTimer()
	for b.Loop() {
		w.sync.mu.Lock()
		if err := w.sync.checkpoint(); err != nil {
			b.Fatal(err)
		}
		w.sync.mu.Unlock()
	}
	b.StopTimer()
	cp, _ := w.sync.lc.Checkpoint()
	size = len(cp)
	b.ReportMetric(float64(size)/1024, "lc-checkpoint-KiB")
}
