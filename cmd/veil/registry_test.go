package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/devnet"
)

// runCLIUntil runs the command tree until ctx ends (for long-running
// commands), returning the error it exits with.
func runCLIUntil(ctx context.Context, args ...string) error {
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRegistryCLI drives the registry's CLI against a real network: a
// worker and relayer started with 'veil worker' and 'veil relay' register,
// 'veil query workers/worker/measurements' show it, and the governance
// commands change the allowlist (and refuse a non-sudo signer).
func TestRegistryCLI(t *testing.T) {
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
	netFile := filepath.Join(home, "network.json")

	addr := freeAddr(t)
	wctx, stopWorker := context.WithCancel(context.Background())
	workerDone := make(chan error, 1)
	go func() {
		workerDone <- runCLIUntil(wctx, "worker", "--home", filepath.Join(home, "cli-worker"), "--tee", "simulated", "--listen", addr, "--log-level", "error")
	}()
	rctx, stopRelay := context.WithCancel(context.Background())
	relayDone := make(chan error, 1)
	go func() {
		relayDone <- runCLIUntil(rctx, "relay", "--worker", "http://"+addr, "--node", n.Info.Node.API, "--operator", "//Charlie",
			"--poll", "200ms", "--collateral-cache", "", "--log-level", "error")
	}()

	var list []map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for len(list) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the CLI worker did not register")
		}
		time.Sleep(200 * time.Millisecond)
		out, _, err := runCLI(t, "query", "workers", "--network", netFile, "-o", "json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("workers JSON: %v\n%s", err, out)
		}
	}
	w := list[0]
	for _, k := range []string{"identity", "operator", "tee_kind", "measurement", "tcb_status", "confidence", "registered_at", "expires_at", "stale", "simulated"} {
		if _, ok := w[k]; !ok {
			t.Errorf("workers JSON lacks %q: %v", k, w)
		}
	}
	if w["operator"] != "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y" || w["tee_kind"] != "simulated" || w["stale"] != false || w["simulated"] != true {
		t.Fatalf("worker %v", w)
	}
	id := w["identity"].(string)
	out, _, err := runCLI(t, "query", "worker", id, "--network", netFile, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if one := jsonOut(t, out); one["identity"] != id || len(one["hpke_public_key"].(string)) != 2+2*registry.HPKEPublicKeySize {
		t.Fatalf("worker %v", one)
	}
	if out, _, err = runCLI(t, "query", "workers", "--network", netFile); err != nil || !strings.Contains(out, "1 worker(s)") {
		t.Fatalf("text: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "query", "worker", "nothex", "--network", netFile); err == nil {
		t.Fatal("bad identity accepted")
	}
	stopRelay()
	stopWorker()
	if err := <-relayDone; err != nil {
		t.Fatalf("veil relay: %v", err)
	}
	if err := <-workerDone; err != nil {
		t.Fatalf("veil worker: %v", err)
	}

	mid := "tdx:" + strings.Repeat("ab", 32)
	out, _, err = runCLI(t, "tx", "registry", "add-measurement", mid, "--label", "release 1", "--from", "//Bob", "--network", netFile, "-o", "json")
	if exitCode(err) != 1 || jsonOut(t, out)["code"].(float64) != 16 {
		t.Fatalf("non-sudo add: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "tx", "registry", "add-measurement", "tdx:XYZ", "--from", "//Alice", "--network", netFile); err == nil {
		t.Fatal("malformed measurement id accepted")
	}
	if out, _, err = runCLI(t, "tx", "registry", "add-measurement", mid, "--label", "release 1", "--from", "//Alice", "--wait", "--network", netFile, "-o", "json"); err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	out, _, err = runCLI(t, "query", "measurements", "--network", netFile, "-o", "json")
	if err != nil || !strings.Contains(out, mid) || !strings.Contains(out, "release 1") {
		t.Fatalf("measurements: %v\n%s", err, out)
	}
	if out, _, err = runCLI(t, "tx", "registry", "remove-measurement", mid, "--from", "//Alice", "--wait", "--network", netFile, "-o", "json"); err != nil {
		t.Fatalf("remove: %v\n%s", err, out)
	}
	if out, _, err = runCLI(t, "tx", "registry", "set-tcb-policy", "UpToDate=1", "Revoked=4", "--from", "//Alice", "--network", netFile, "-o", "json"); exitCode(err) != 1 {
		t.Fatalf("policy accepting Revoked: %v\n%s", err, out)
	}
	if out, _, err = runCLI(t, "tx", "registry", "set-tcb-policy", "UpToDate=1", "OutOfDate=4", "--from", "//Alice", "--wait", "--network", netFile, "-o", "json"); err != nil {
		t.Fatalf("policy: %v\n%s", err, out)
	}
	if _, _, err := runCLI(t, "tx", "registry", "set-tcb-policy", "UpToDate", "--from", "//Alice", "--network", netFile); err == nil {
		t.Fatal("policy without confidence accepted")
	}
}

// TestGenesisRegistrySection: a dev genesis allows the simulated dev
// worker; a genesis without dev accounts (a real network) does not.
func TestGenesisRegistrySection(t *testing.T) {
	for _, c := range []struct {
		args      []string
		simulated bool
		allowed   int
	}{{nil, true, 1}, {[]string{"--no-dev-accounts"}, false, 0}} {
		g := filepath.Join(t.TempDir(), "genesis.json")
		if _, _, err := runCLI(t, append([]string{"genesis", "new", "--chain-id", "t-1", "--out", g}, c.args...)...); err != nil {
			t.Fatal(err)
		}
		doc, st, err := loadGenesis(g)
		if err != nil || doc == nil {
			t.Fatal(err)
		}
		var rg registry.Genesis
		if err := json.Unmarshal(st[registry.Name], &rg); err != nil {
			t.Fatal(err)
		}
		if rg.Params.AllowSimulatedTEE != c.simulated || len(rg.Measurements) != c.allowed {
			t.Fatalf("%v: registry section %+v", c.args, rg)
		}
	}
}
