package bench

import (
	"context"
	"testing"
	"time"
)

// TestWorkerSyncLag: under a steady load of 500 messages/s the worker
// processes each block's messages within 2 blocks of its commit (the
// floor is 1: block H's state is committed by header H+1).
func TestWorkerSyncLag(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	rep, err := WorkerSync(context.Background(), SyncOptions{Rate: 500, Duration: 12 * time.Second, Progress: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages at %.0f/s in %d blocks (max %d per block); lag blocks p50 %d p99 %d max %d; lag p50 %v p99 %v max %v; submit errors %d",
		rep.Messages, rep.Rate, rep.Blocks, rep.MaxPerBlock, rep.LagBlocksP50, rep.LagBlocksP99, rep.LagBlocksMax,
		rep.LagP50.Round(time.Millisecond), rep.LagP99.Round(time.Millisecond), rep.LagMax.Round(time.Millisecond), rep.SubmitErrors)
	if rep.WorkerProcessed < uint64(rep.Messages-rep.SubmitErrors*10) || rep.WorkerRefusals != "" {
		t.Fatalf("worker processed %d of %d (refusal %q)", rep.WorkerProcessed, rep.Messages, rep.WorkerRefusals)
	}
	// The target is ≤ 2 blocks; a test on a loaded shared machine allows
	// one block of scheduling slack at the maximum (the recorded runs of
	// 'veil bench worker-sync' are in docs/benchmarks.md).
	if rep.LagBlocksP50 > 2 || rep.LagBlocksMax > 3 {
		t.Fatalf("lag p50 %d, max %d blocks: above 2 (3 at the max)", rep.LagBlocksP50, rep.LagBlocksMax)
	}
}
