package devnet_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/devnet"
)

// TestRandomSchedulingReplacesUnresponsiveWorker is the computation
// economics end to end: four workers, bound and computing from the start
// (their relayers stake for them), answer heartbeats and earn rewards; a
// contract with two replicas is drawn at random from them; one of its
// workers is stopped, misses its heartbeat, is marked Unresponsive and
// slashed, and the chain draws a replacement that receives the key,
// rebuilds the state from the log and serves queries with the state
// intact. It logs how many blocks the replacement took (docs/benchmarks.md).
func TestRandomSchedulingReplacesUnresponsiveWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	wasm, err := client.BuildContract(context.Background(), filepath.Join("..", "contracts", "examples", "hello-world"))
	if err != nil {
		t.Fatal(err)
	}
	const blockTime = 250 * time.Millisecond
	n := startWith(t, devnet.Options{Workers: 4, BlockTime: blockTime, Gatekeeper: true,
		EditGenesis: func(st app.GenesisState) error {
			var g compute.Genesis
			if err := json.Unmarshal(st[compute.Name], &g); err != nil {
				return err
			}
			// Every worker challenged about every 10 blocks, 24 blocks
			// to answer (a live worker answers within ~4).
			g.Params.ChallengesPerHour = 1440
			g.Params.ResponseWindowBlocks = 24
			b, err := json.Marshal(g)
			st[compute.Name] = b
			return err
		}})
	defer n.Stop()
	c := n.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	workers := func() map[string]compute.WorkerView {
		t.Helper()
		var ws []compute.WorkerView
		if _, err := c.QueryModule(ctx, compute.Name, "workers", nil, &ws); err != nil {
			t.Fatal(err)
		}
		out := map[string]compute.WorkerView{}
		for _, w := range ws {
			out[strings.TrimPrefix(w.Identity, "0x")] = w
		}
		return out
	}
	index := map[string]int{}
	for i, wi := range n.Info.Workers {
		index[strings.TrimPrefix(wi.Identity, "0x")] = i
	}
	idOf := func(i int) string { return strings.TrimPrefix(n.Info.Workers[i].Identity, "0x") }
	waitFor(t, 90*time.Second, "all four workers computing", func() bool {
		ws := workers()
		for i := range 4 {
			if ws[idOf(i)].State != "computing" || !ws[idOf(i)].Eligible {
				return false
			}
		}
		return true
	})

	cs := client.NewContracts(c, n.Info)
	cs.PollInterval = 100 * time.Millisecond
	alice := mustSigner(t, "//Alice")
	d, err := cs.Deploy(ctx, alice, client.DeployRequest{Code: wasm, Replicas: 2, Label: "scheduled"})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := cs.Call(ctx, alice, d.ID, "increment", []byte(`{"by":3}`), client.CallOptions{Wait: true}); err != nil {
			t.Fatal(err)
		}
	}
	ci, err := cs.GetContract(ctx, d.ID)
	if err != nil || len(ci.Workers) != 2 {
		t.Fatalf("contract %+v, %v", ci, err)
	}
	assigned := func(ws []string) []int {
		var out []int
		for _, w := range ws {
			out = append(out, index[strings.TrimPrefix(w, "0x")])
		}
		return out
	}
	// Stop an assigned worker that is not the gatekeeper (worker0).
	gone := slices.DeleteFunc(assigned(ci.Workers), func(i int) bool { return i == 0 })[0]
	t.Logf("contract on workers %v; stopping worker%d", assigned(ci.Workers), gone)
	if err := n.StopWorker(gone); err != nil {
		t.Fatal(err)
	}

	var unresponsiveAt int64
	waitFor(t, 60*time.Second, "the stopped worker to be marked unresponsive", func() bool {
		w := workers()[idOf(gone)]
		if w.State != "unresponsive" {
			return false
		}
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		unresponsiveAt = st.GetLatestHeight()
		return true
	})
	w := workers()[idOf(gone)]
	if slashed, err := types.ParseAmount(w.SlashedTotal); err != nil || slashed.IsZero() || w.Misses == 0 || w.Eligible {
		t.Fatalf("unresponsive worker not slashed: %+v", w)
	}
	waitFor(t, 30*time.Second, "the chain to draw a replacement", func() bool {
		ci, err = cs.GetContract(ctx, d.ID)
		return err == nil && len(ci.Workers) == 2 && !slices.Contains(assigned(ci.Workers), gone)
	})
	last := ci.History[len(ci.History)-1]
	if last.Reason != "replaced" {
		t.Fatalf("history %+v", ci.History)
	}
	newcomer := -1
	for _, i := range assigned(ci.Workers) {
		if !slices.Contains(assigned(ci.History[0].Workers), i) {
			newcomer = i
		}
	}
	if newcomer < 0 || newcomer == gone {
		t.Fatalf("no newcomer in %v (history %+v)", assigned(ci.Workers), ci.History)
	}
	t.Logf("replacement drawn at height %d: worker%d (unresponsive seen at %d)", last.Height, newcomer, unresponsiveAt)

	fresh := client.NewContracts(c, n.Info)
	fresh.WorkerURL = n.Info.Workers[newcomer].API
	var got json.RawMessage
	waitFor(t, 60*time.Second, "the replacement to serve the contract", func() bool {
		got, err = fresh.Query(ctx, alice, d.ID, "get_count", nil)
		return err == nil
	})
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != `{"count":6}` {
		t.Fatalf("replacement's get_count %s", got)
	}
	t.Logf("replacement serves queries at height %d: %d blocks after the old worker was seen unresponsive (target ≤ 10)",
		st.GetLatestHeight(), st.GetLatestHeight()-unresponsiveAt)

	// Rewards flow to the responsive workers' operators.
	ws := workers()
	for i := range 4 {
		if i == gone {
			continue
		}
		w := ws[idOf(i)]
		paid, _ := types.ParseAmount(w.RewardsTotal)
		pending, _ := types.ParseAmount(w.PendingRewards)
		if (paid.IsZero() && pending.IsZero()) || w.Heartbeats == 0 {
			t.Fatalf("worker%d earned nothing: %+v", i, w)
		}
	}
	// And a command still executes on the new assignment.
	r, err := cs.Call(ctx, alice, d.ID, "increment", []byte(`{"by":1}`), client.CallOptions{Wait: true})
	if err != nil || r.Receipt == nil || string(r.Receipt.Result) != `{"count":7}` {
		t.Fatalf("increment after replacement: %+v, %v", r, err)
	}
}
