package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veil-network/veil/devnet"
)

func httpGet(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// TestWorkerSyncCLI: 'veil worker' and 'veil relay' (with --genesis and
// metrics) keep a worker in sync with a real network; 'veil worker status
// -o json' shows it; both metrics endpoints serve the sync metrics.
func TestWorkerSyncCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	n, err := devnet.Start(ctx, devnet.Options{Home: home, Logger: slog.New(slog.DiscardHandler), BlockTime: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	addr, wm, rm := freeAddr(t), freeAddr(t), freeAddr(t)
	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	go func() {
		workerDone <- runCLIUntil(wctx, "worker", "--home", filepath.Join(home, "cli-worker"), "--tee", "simulated", "--listen", addr,
			"--metrics-listen", wm, "--report-every", "5", "--log-level", "error")
	}()
	rctx, stopRelay := context.WithCancel(context.Background())
	relayDone := make(chan error, 1)
	go func() {
		relayDone <- runCLIUntil(rctx, "relay", "--worker", "http://"+addr, "--node", n.Info.Node.API, "--operator", "//Dave",
			"--poll", "200ms", "--sync-interval", "50ms", "--collateral-cache", "", "--log-level", "error",
			"--genesis", filepath.Join(n.Nodes[0].Home, "config", "genesis.json"), "--metrics-listen", rm)
	}()
	defer func() {
		stopRelay()
		stopWorker()
		<-relayDone
		<-workerDone
	}()

	var st map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("the CLI worker did not sync: %v", st)
		}
		time.Sleep(200 * time.Millisecond)
		out, _, err := runCLI(t, "worker", "status", "--worker", "http://"+addr, "-o", "json")
		if err != nil {
			continue
		}
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("status JSON: %v\n%s", err, out)
		}
		if st["registered"] == true && st["synced_height"].(float64) > 5 && st["chain_height"].(float64)-st["synced_height"].(float64) <= 2 {
			break
		}
	}
	for _, k := range []string{"synced_height", "chain_height", "registered", "identity", "lag", "topics", "verified_app_hash", "frozen", "egress_pending"} {
		if _, ok := st[k]; !ok {
			t.Errorf("status JSON lacks %q: %v", k, st)
		}
	}
	// Topics: gatekeeper, system and the worker's own.
	if st["trust_root_initialised"] != true || st["frozen"] != false || len(st["topics"].([]any)) != 3 {
		t.Fatalf("status %v", st)
	}
	if out, _, err := runCLI(t, "worker", "status", "--worker", "http://"+addr); err != nil || !strings.Contains(out, "synced") {
		t.Fatalf("text status: %v\n%s", err, out)
	}
	if m := httpGet(t, "http://"+wm+"/metrics"); !strings.Contains(m, "veil_worker_synced_height") || !strings.Contains(m, "veil_worker_headers_verified_total") {
		t.Fatalf("worker metrics:\n%s", m)
	}
	if m := httpGet(t, "http://"+rm+"/metrics"); !strings.Contains(m, "veil_relay_headers_relayed_total") {
		t.Fatalf("relay metrics:\n%s", m)
	}
	// A ping through the CLI is processed once proven.
	netFile := filepath.Join(home, "network.json")
	topic := "worker/" + strings.TrimPrefix(st["identity"].(string), "0x")
	if out, _, err := runCLI(t, "tx", "mq", "push", topic, `{"op":"ping"}`, "--from", "//Alice", "--wait", "--network", netFile); err != nil {
		t.Fatalf("mq push: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "tx", "mq", "push", "system", "x", "--from", "//Alice", "--network", netFile); exitCode(err) != 1 {
		t.Fatalf("push to a reserved topic: %v", err)
	}
	deadline = time.Now().Add(20 * time.Second)
	for {
		out, _, _ := runCLI(t, "worker", "status", "--worker", "http://"+addr, "-o", "json")
		var s map[string]any
		if json.Unmarshal([]byte(out), &s) == nil && s["messages_processed"].(float64) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ping not processed: %s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The periodic report (every 5 blocks) reaches the registry.
	deadline = time.Now().Add(20 * time.Second)
	for {
		out, _, err := runCLI(t, "query", "workers", "--network", netFile, "-o", "json")
		var list []map[string]any
		if err == nil && json.Unmarshal([]byte(out), &list) == nil && len(list) == 1 && list[0]["synced_height"].(float64) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sync report in the registry: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if _, _, err := runCLI(t, "worker", "status", "--worker", "http://"+freeAddr(t), "--timeout", "1s"); err == nil {
		t.Fatal("status of a worker that is not running succeeded")
	}
}
