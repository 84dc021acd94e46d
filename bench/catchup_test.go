package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/devnet"
	"github.com/veil-network/veil/relay"
	"github.com/veil-network/veil/worker"
)

// TestWorkerCatchUpRate measures how fast a new worker catches up with an
// existing chain end to end: the node serving light blocks, the relayer
// prefetching batches, the worker verifying each header and sealing its
// checkpoint after every batch. Set VEIL_BENCH_CATCHUP=<blocks> to run it.
func TestWorkerCatchUpRate(t *testing.T) {
	blocks := 0
	if v := os.Getenv("VEIL_BENCH_CATCHUP"); v != "" {
		var err error
		if _, err = fmt.Sscan(v, &blocks); err != nil {
			t.Fatal(err)
		}
	}
	if blocks <= 0 {
		t.Skip("set VEIL_BENCH_CATCHUP=<blocks> to measure")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	home := t.TempDir()
	n, err := devnet.Start(ctx, devnet.Options{Home: filepath.Join(home, "net"), Reset: true, BlockTime: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	c := n.Client()
	if err := c.WaitHeight(ctx, int64(blocks)); err != nil {
		t.Fatal(err)
	}
	w, err := worker.New(ctx, worker.Config{Home: filepath.Join(home, "worker"), TEE: attest.KindSimulated, Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	op, _ := keys.FromURI("//Eve", keys.SchemeSr25519)
	r, err := relay.New(relay.Config{WorkerURL: w.URL(), Node: c, Operator: op, Collateral: &relay.PCS{}, Logger: slog.New(slog.DiscardHandler),
		PollInterval: time.Second, SyncInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	start := time.Now()
	go func() { r.Run(rctx); close(done) }()
	defer func() { stop(); <-done }()
	target := int64(blocks)
	for w.Info().GetSyncedHeight() < target {
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("caught up %d blocks in %v: %.0f headers/s end to end (1 validator)", target, took.Round(time.Millisecond), float64(target)/took.Seconds())
}
