package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/devnet"
)

func TestParsePoolCommission(t *testing.T) {
	for in, want := range map[string]uint32{
		"10%": 100_000, "2.5%": 25_000, "0%": 0, "100%": 1_000_000, "0.0001%": 1, "12.3456%": 123_456,
		"100000": 100_000, "0": 0, "1000000": 1_000_000, "10": 10, " 7% ": 70_000,
	} {
		if got, err := parsePoolCommission(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "%", "101%", "100.0001%", "1000001", "10.5", "1.23456%", "-1%", "-5", "5.%", ".5%", "1e3", "abc", "10 %x", "4294967296"} {
		if _, err := parsePoolCommission(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestComputeFormatting(t *testing.T) {
	for in, want := range map[uint32]string{0: "0%", 100_000: "10%", 25_000: "2.5%", 1: "0.0001%", 1_000_000: "100%", 123_456: "12.3456%"} {
		if got := formatPPM(in); got != want {
			t.Errorf("formatPPM(%d) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[uint64]string{0: "0.000", 1: "0.001", 1000: "1.000", 30_000_500: "30000.500"} {
		if got := formatValue(in); got != want {
			t.Errorf("formatValue(%d) = %s, want %s", in, got, want)
		}
	}
}

// TestParseWorkerArg: hex identities with or without 0x, dev worker names
// from the network file, and the errors for everything else.
func TestParseWorkerArg(t *testing.T) {
	id := strings.Repeat("ab", 32)
	netFile := filepath.Join(t.TempDir(), "network.json")
	n := &client.Network{Node: client.Endpoints{API: "http://127.0.0.1:1"},
		Workers: []client.WorkerInfo{{Name: "worker0", Identity: "0x" + id}, {Name: "worker1", Identity: "0x" + strings.Repeat("cd", 32)}}}
	if err := n.Write(netFile); err != nil {
		t.Fatal(err)
	}
	cf := &clientFlags{network: netFile}
	for _, in := range []string{id, "0x" + id, "0X" + strings.ToUpper(id), "worker0"} {
		got, err := parseWorkerArg(cf, in)
		if err != nil || len(got) != 32 || got[0] != 0xab {
			t.Errorf("%q: %x %v", in, got, err)
		}
	}
	if got, err := parseWorkerArg(cf, "worker1"); err != nil || got[0] != 0xcd {
		t.Errorf("worker1: %x %v", got, err)
	}
	for in, want := range map[string]string{
		"0x" + id[:62]:       "has 31 bytes",
		id + "00":            "has 33 bytes",
		"abcd":               "has 2 bytes",
		"0xzz":               "not hex",
		"0x":                 "has 0 bytes",
		"worker7":            "workers: worker0, worker1",
		"":                   "dev worker name",
		"0x" + id[:63] + "g": "not hex",
		"0x" + id[:63] + " ": "odd length", // trimmed
		" " + id[:62] + "  ": "has 31 bytes",
	} {
		if _, err := parseWorkerArg(cf, in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error containing %q", in, err, want)
		}
	}
	if _, err := parseWorkerArg(&clientFlags{node: "http://127.0.0.1:1", network: netFile}, "worker0"); err == nil || !strings.Contains(err.Error(), "--node") {
		t.Errorf("name with --node: %v", err)
	}
	if _, err := parseWorkerArg(&clientFlags{network: filepath.Join(t.TempDir(), "missing.json")}, "worker0"); err == nil || !strings.Contains(err.Error(), "network file") {
		t.Errorf("name without a network file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "network.json")
	if err := (&client.Network{Node: client.Endpoints{API: "http://127.0.0.1:1"}}).Write(empty); err != nil {
		t.Fatal(err)
	}
	if _, err := parseWorkerArg(&clientFlags{network: empty}, "worker0"); err == nil || !strings.Contains(err.Error(), "lists no workers") {
		t.Errorf("name in a network without workers: %v", err)
	}
}

// TestComputeArgsValidation: bad input to the compute and pool commands
// is refused before anything is dialled (there is no network here; each
// error names what is wrong).
func TestComputeArgsValidation(t *testing.T) {
	noNet := []string{"--network", filepath.Join(t.TempDir(), "missing.json")}
	id := "0x" + strings.Repeat("ab", 32)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"tx", "compute", "bind", "0xzz", "--from", "//Alice"}, "not hex"},
		{[]string{"tx", "compute", "bind", "0xabcd", "--from", "//Alice"}, "has 2 bytes, want 32"},
		{[]string{"tx", "compute", "bind", "worker0", "--from", "//Alice"}, "names need the network file"},
		{[]string{"tx", "compute", "bind", "worker0", "--from", "//Alice", "--node", "http://127.0.0.1:1"}, "--network"},
		{[]string{"tx", "compute", "bind", id, id, "--from", "//Alice"}, "accepts 1 arg"},
		{[]string{"tx", "compute", "start", id, "--from", "//Alice"}, `"stake" not set`},
		{[]string{"tx", "compute", "start", id, "--stake", "0", "--from", "//Alice"}, "--stake must be greater than zero"},
		{[]string{"tx", "compute", "start", id, "--stake", "-5", "--from", "//Alice"}, "--stake"},
		{[]string{"tx", "compute", "start", id, "--stake", "1.5", "--from", "//Alice"}, "--stake"},
		{[]string{"tx", "compute", "start", "0x12", "--stake", "1", "--from", "//Alice"}, "has 1 bytes"},
		{[]string{"tx", "compute", "stop", "nothex!", "--from", "//Alice"}, "names need the network file"},
		{[]string{"tx", "compute", "reclaim", "0x" + strings.Repeat("ab", 33), "--from", "//Alice"}, "has 33 bytes"},
		{[]string{"tx", "compute", "stop", id}, `"from" not set`},
		{[]string{"tx", "pool", "create", "--commission", "101%", "--from", "//Alice"}, "between 0% and 100%"},
		{[]string{"tx", "pool", "create", "--commission", "10.5", "--from", "//Alice"}, "ppm"},
		{[]string{"tx", "pool", "create", "--commission", "2000000", "--from", "//Alice"}, "between 0 and 1000000"},
		{[]string{"tx", "pool", "create", "--from", "//Alice"}, `"commission" not set`},
		{[]string{"tx", "pool", "add-worker", "0", id, "--from", "//Alice"}, "positive integer"},
		{[]string{"tx", "pool", "add-worker", "x", id, "--from", "//Alice"}, "positive integer"},
		{[]string{"tx", "pool", "add-worker", "1", "0xab", "--from", "//Alice"}, "has 1 bytes"},
		{[]string{"tx", "pool", "contribute", "1", "0", "--from", "//Alice"}, "amount must be greater than zero"},
		{[]string{"tx", "pool", "contribute", "1", "lots", "--from", "//Alice"}, "amount"},
		{[]string{"tx", "pool", "contribute", "1.5", "5", "--from", "//Alice"}, "positive integer"},
		{[]string{"tx", "pool", "withdraw", "1", "0", "--from", "//Alice"}, "shares must be greater than zero"},
		{[]string{"tx", "pool", "withdraw", "1", "1.5VEIL", "--from", "//Alice"}, "positive integer"},
		{[]string{"query", "compute", "worker", "0x1234"}, "has 2 bytes"},
		{[]string{"query", "pool", "0"}, "positive integer"},
		{[]string{"query", "pool", "1", "2"}, "accepts 1 arg"},
		{[]string{"relay", "--operator", "//Alice", "--compute-stake", "0"}, "--compute-stake must be greater than zero"},
		{[]string{"relay", "--operator", "//Alice", "--compute-stake", "x"}, "--compute-stake"},
	} {
		_, _, err := runCLI(t, append(c.args, noNet...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error containing %q", c.args, err, c.want)
		}
	}
}

// TestComputeCLI drives the compute and pool commands against a dev
// network with one worker whose relayer does not compute (NoCompute): the
// operator binds it by name, fails to start below the minimum stake,
// starts with exactly the minimum, sees it computing, stops it, cannot
// stop it twice or reclaim during the cool-down, and reclaims after it.
// Bob creates a pool, contributes, and cannot withdraw more shares than
// he holds.
func TestComputeCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const cooldown = 100 // blocks: long enough that the failing reclaim lands inside it
	n, err := devnet.Start(ctx, devnet.Options{Home: home, Logger: slog.New(slog.DiscardHandler), BlockTime: 200 * time.Millisecond,
		Workers: 1, NoCompute: true, EditGenesis: func(st app.GenesisState) error {
			var g compute.Genesis
			if err := json.Unmarshal(st[compute.Name], &g); err != nil {
				return err
			}
			g.Params.CooldownBlocks = cooldown
			b, err := json.Marshal(g)
			st[compute.Name] = b
			return err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	net := []string{"--network", filepath.Join(home, "network.json")}
	operator := devnet.WorkerOperatorURI(0)
	opAddr := n.Info.Workers[0].Operator
	identity := n.Info.Workers[0].Identity
	// run returns the JSON object printed (also for a failed transaction,
	// which exits non-zero), or nil when nothing JSON was printed.
	run := func(args ...string) (map[string]any, error) {
		t.Helper()
		out, _, err := runCLI(t, append(append(args, net...), "-o", "json")...)
		if strings.HasPrefix(strings.TrimSpace(out), "{") {
			return jsonOut(t, out), err
		}
		return nil, err
	}
	runList := func(args ...string) []map[string]any {
		t.Helper()
		out, _, err := runCLI(t, append(append(args, net...), "-o", "json")...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		var list []map[string]any
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("%v: not a JSON list: %v\n%s", args, err, out)
		}
		return list
	}
	ok := func(args ...string) map[string]any {
		t.Helper()
		r, err := run(args...)
		if err != nil || r == nil || r["code"].(float64) != 0 {
			t.Fatalf("%v: %v %v", args, r, err)
		}
		return r
	}
	refused := func(code types.Code, name string, args ...string) {
		t.Helper()
		r, err := run(args...)
		if exitCode(err) != 1 || r == nil || uint32(r["code"].(float64)) != uint32(code) || !strings.Contains(r["log"].(string), name) {
			t.Fatalf("%v: %v %v, want code %d (%s)", args, r, err, code, name)
		}
	}
	// poll runs a query until cond holds; the deadline only bounds a
	// broken network, it asserts nothing about speed.
	poll := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			select {
			case <-ctx.Done():
				t.Fatalf("%s: %v", what, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}

	poll("the worker registers", func() bool {
		return len(runList("query", "workers")) == 1
	})
	if list := runList("query", "compute", "workers"); len(list) != 0 {
		t.Fatalf("a worker is bound without NoCompute's relayer: %v", list)
	}
	refused(compute.CodeNotOperator, "worker_owned_by_other_operator", "tx", "compute", "bind", "worker0", "--from", "//Bob")
	ok("tx", "compute", "bind", "worker0", "--from", operator, "--wait")
	refused(compute.CodeAlreadyBound, "worker_already_bound", "tx", "compute", "bind", identity, "--from", operator)

	var w map[string]any
	poll("the worker's benchmark score reaches the chain", func() bool {
		var err error
		w, err = run("query", "compute", "worker", "worker0")
		if err != nil {
			t.Fatal(err)
		}
		return w["score"].(float64) > 0
	})
	if w["identity"] != identity || w["operator"] != opAddr || w["state"] != compute.StateReady || w["stake"] != "0" {
		t.Fatalf("bound worker %v", w)
	}
	out, _, err := runCLI(t, append([]string{"query", "compute", "params"}, net...)...)
	if err != nil {
		t.Fatal(err)
	}
	var params compute.Params
	if err := json.Unmarshal([]byte(out), &params); err != nil || params.CooldownBlocks != cooldown {
		t.Fatalf("params %v %+v\n%s", err, params, out)
	}
	score := uint64(w["score"].(float64))
	min := new(big.Int).Mul(params.MinStakeK.Big(), new(big.Int).Sqrt(new(big.Int).SetUint64(score)))
	below := new(big.Int).Sub(min, big.NewInt(1))

	refused(compute.CodeStakeBelowMinimum, "stake_below_minimum", "tx", "compute", "start", "worker0", "--stake", below.String(), "--from", operator)
	ok("tx", "compute", "start", "worker0", "--stake", min.String(), "--from", operator, "--wait")
	list := runList("query", "compute", "workers")
	if len(list) != 1 || list[0]["state"] != compute.StateComputing || list[0]["stake"] != min.String() || list[0]["identity"] != identity {
		t.Fatalf("computing worker %v", list)
	}
	for _, k := range []string{"value", "score", "last_heartbeat", "rewards_total", "pending_rewards"} {
		if _, ok := list[0][k]; !ok {
			t.Errorf("workers JSON lacks %q: %v", k, list[0])
		}
	}
	if out, _, err := runCLI(t, append([]string{"query", "compute", "workers"}, net...)...); err != nil || !strings.Contains(out, "computing") || !strings.Contains(out, "1 worker(s)") {
		t.Fatalf("workers text: %v\n%s", err, out)
	}
	if tot, err := run("query", "compute", "totals"); err != nil || tot["computing"].(float64) != 1 || tot["total_stake"] != min.String() {
		t.Fatalf("totals %v %v", tot, err)
	}
	if b, err := run("query", "balance", opAddr); err != nil || b["reserved"] != min.String() {
		t.Fatalf("operator balance %v %v", b, err)
	}

	stop := ok("tx", "compute", "stop", "worker0", "--from", operator, "--wait")
	refused(compute.CodeNotComputing, "worker_not_computing", "tx", "compute", "stop", "worker0", "--from", operator)
	refused(compute.CodeCooldownNotOver, "cooldown_not_over", "tx", "compute", "reclaim", identity, "--from", operator)
	w, err = run("query", "compute", "worker", strings.TrimPrefix(identity, "0x"))
	if err != nil || w["state"] != compute.StateCoolingDown || int64(w["cooldown_ends_at"].(float64)) != int64(stop["height"].(float64))+cooldown {
		t.Fatalf("cooling down %v %v (stopped at %v)", w, err, stop["height"])
	}
	if err := client.New(n.Info.Node.API).WaitHeight(ctx, int64(w["cooldown_ends_at"].(float64))); err != nil {
		t.Fatal(err)
	}
	ok("tx", "compute", "reclaim", "worker0", "--from", operator, "--wait")
	if w, err = run("query", "compute", "worker", "worker0"); err != nil || w["state"] != compute.StateReady || w["stake"] != "0" {
		t.Fatalf("reclaimed %v %v", w, err)
	}
	if b, err := run("query", "balance", opAddr); err != nil || b["reserved"] != "0" {
		t.Fatalf("operator balance after reclaim %v %v", b, err)
	}

	// Pools.
	ok("tx", "pool", "create", "--commission", "10%", "--from", "//Bob", "--wait")
	pools := runList("query", "pools")
	if len(pools) != 1 || pools[0]["id"].(float64) != 1 || pools[0]["owner"] != bob || pools[0]["commission_ppm"].(float64) != 100_000 {
		t.Fatalf("pools %v", pools)
	}
	refused(compute.CodeNotPoolOwner, "not_pool_owner", "tx", "pool", "add-worker", "1", "worker0", "--from", operator)
	refused(compute.CodePoolNotFound, "pool_not_found", "tx", "pool", "contribute", "2", "1", "--from", "//Bob")
	ok("tx", "pool", "contribute", "1", "5VEIL", "--from", "//Bob", "--wait")
	pools = runList("query", "pools")
	if pools[0]["total_shares"] != "5000000000000" || pools[0]["value"] != "5000000000000" || pools[0]["free"] != "5000000000000" {
		t.Fatalf("pool after contributing %v", pools[0])
	}
	refused(compute.CodeInsufficientShares, "insufficient_shares", "tx", "pool", "withdraw", "1", "5000000000001", "--from", "//Bob")
	ok("tx", "pool", "withdraw", "1", "2000000000000", "--from", "//Bob", "--wait")
	cs := runList("query", "contributions", bob)
	if len(cs) != 1 || cs[0]["pool_id"].(float64) != 1 || cs[0]["shares"] != "3000000000000" || cs[0]["value"] != "3000000000000" {
		t.Fatalf("contributions %v", cs)
	}
	if p, err := run("query", "pool", "1"); err != nil || p["total_shares"] != "3000000000000" || len(p["withdraw_queue"].([]any)) != 0 {
		t.Fatalf("pool 1 %v %v", p, err)
	}
	if out, _, err := runCLI(t, append([]string{"query", "pool", "1"}, net...)...); err != nil || !strings.Contains(out, "commission 10% (100000 ppm)") {
		t.Fatalf("pool text: %v\n%s", err, out)
	}
	if _, err := run("query", "pool", "9"); err == nil {
		t.Fatal("missing pool found")
	}
	if _, _, err := runCLI(t, append([]string{"query", "compute", "worker", strings.Repeat("00", 32)}, net...)...); err == nil || !strings.Contains(err.Error(), "not bound") {
		t.Fatalf("unbound worker: %v", err)
	}

	// 'veil relay --compute-stake' binds and starts a worker by itself,
	// raising a stake below the minimum (1VEIL) to the minimum.
	addr := freeAddr(t)
	wctx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan error, 1)
	go func() {
		workerDone <- runCLIUntil(wctx, "worker", "--home", filepath.Join(home, "cli-worker"), "--tee", "simulated", "--listen", addr,
			"--benchmark-duration", "100ms", "--log-level", "error")
	}()
	rctx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan error, 1)
	go func() {
		relayDone <- runCLIUntil(rctx, "relay", "--worker", "http://"+addr, "--node", n.Info.Node.API, "--operator", "//Charlie",
			"--compute-stake", "1VEIL", "--poll", "200ms", "--collateral-cache", "", "--log-level", "error")
	}()
	var relayed map[string]any
	poll("'veil relay --compute-stake' starts its worker", func() bool {
		for _, x := range runList("query", "compute", "workers") {
			if x["identity"] != identity && x["state"] == compute.StateComputing {
				relayed = x
				return true
			}
		}
		return false
	})
	relayMin := new(big.Int).Mul(params.MinStakeK.Big(), new(big.Int).Sqrt(new(big.Int).SetUint64(uint64(relayed["score"].(float64)))))
	if relayed["operator"] != "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y" || relayed["stake"] != relayMin.String() {
		t.Fatalf("relayed worker %v, want stake %s", relayed, relayMin)
	}
	stopRelay()
	stopWorker()
	if err := <-relayDone; err != nil {
		t.Fatalf("veil relay: %v", err)
	}
	if err := <-workerDone; err != nil {
		t.Fatalf("veil worker: %v", err)
	}
}
