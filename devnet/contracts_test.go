package devnet_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/devnet"
)

// buildExamples builds the four example contracts into a directory, in
// parallel (about 2 s each on a warm build cache).
func buildExamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(devnet.ExampleContracts))
	for i, ex := range devnet.ExampleContracts {
		wg.Go(func() {
			wasm, err := client.BuildContract(ctx, filepath.Join("..", "contracts", "examples", ex.Name))
			if err == nil {
				err = os.WriteFile(filepath.Join(dir, ex.Name+".wasm"), wasm, 0o644)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func freeBalance(t *testing.T, c *client.Client, addr string) types.Amount {
	t.Helper()
	a, err := c.Account(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	v, err := types.ParseAmount(a.GetFree())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func amt(t *testing.T, s string) types.Amount {
	t.Helper()
	v, err := types.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func add(a, b types.Amount) types.Amount { s, _ := a.Add(b); return s }
func sub(a, b types.Amount) types.Amount { s, _ := a.Sub(b); return s }

// TestContractsEndToEnd runs every example contract's full path on one
// dev network (3 workers, worker0 gatekeeper, 2 replicas per contract)
// through the client SDK: deployment by Start, encrypted commands and
// queries, owner-only reads, deposits and withdrawals paid once on chain,
// no plaintext anywhere outside the TEEs, and the replacement of a worker
// that went away.
func TestContractsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	wasmDir := buildExamples(t)
	start := time.Now()
	// Short attestation validity, so a stopped worker turns stale (and
	// thus offline for assignment) within seconds; live workers'
	// relayers re-attest at 80 % of it.
	const validity = 48
	n := startWith(t, devnet.Options{Workers: 3, BlockTime: 250 * time.Millisecond, Contracts: wasmDir,
		AppState: registryGenesis(t, func(g *registry.Genesis) { g.Params.AttestationValidityBlocks = validity })})
	defer n.Stop()
	t.Logf("network with gatekeeper and 4 contracts ready in %v", time.Since(start).Round(time.Millisecond))

	// network.json lists the contracts by name.
	disk, err := client.LoadNetwork(devnet.NetworkFile(n.Opts.Home))
	if err != nil {
		t.Fatal(err)
	}
	named, err := disk.NamedContracts()
	if err != nil || len(named) != 4 {
		t.Fatalf("network.json contracts %v, %v", named, err)
	}
	c := n.Client()
	cs := client.NewContracts(c, n.Info)
	cs.PollInterval = 100 * time.Millisecond
	alice, bob := mustSigner(t, "//Alice"), mustSigner(t, "//Bob")
	aliceAddr, bobAddr := types.AccountID(alice.Public().Key).Address(42), types.AccountID(bob.Public().Key).Address(42)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	id := func(name string) client.ContractID {
		t.Helper()
		cid, err := client.ResolveContract(disk, name)
		if err != nil {
			t.Fatal(err)
		}
		return cid
	}
	for name, nc := range named {
		ci, err := cs.GetContract(ctx, id(name))
		if err != nil || !ci.KeysPublished || len(ci.Workers) != 2 || ci.Account != nc.Address || ci.Label != name {
			t.Fatalf("%s: %+v, %v", name, ci, err)
		}
		// Without the network file, the on-chain label names it too.
		if got, err := cs.Resolve(ctx, nil, name); err != nil || got != id(name) {
			t.Fatalf("resolve label %s: %s, %v", name, got, err)
		}
	}
	if _, err := cs.Resolve(ctx, nil, "no-such-label"); err == nil || !strings.Contains(err.Error(), "label") {
		t.Fatalf("unknown label: %v", err)
	}
	call := func(name, method, args string) (*client.CallResult, json.RawMessage) {
		t.Helper()
		r, err := cs.Call(ctx, alice, id(name), method, []byte(args), client.CallOptions{Wait: true})
		if err != nil {
			t.Fatalf("%s %s: %v", name, method, err)
		}
		return r, r.Receipt.Result
	}
	query := func(name string, who string, method, args string) (json.RawMessage, error) {
		signer := alice
		if who == "bob" {
			signer = bob
		}
		return cs.Query(ctx, signer, id(name), method, []byte(args))
	}

	// hello-world: a command, then a query by someone else.
	if _, res := call("hello-world", "increment", `{"by":2}`); string(res) != `{"count":2}` {
		t.Fatalf("increment: %s", res)
	}
	if res, err := query("hello-world", "bob", "get_count", ""); err != nil || string(res) != `{"count":2}` {
		t.Fatalf("get_count: %s, %v", res, err)
	}

	// secret-note: only the owner reads it.
	secret := "the eagle lands at midnight " + rand.Text()
	if _, res := call("secret-note", "set_note", fmt.Sprintf(`{"text":%q}`, secret)); string(res) != `{}` {
		t.Fatalf("set_note: %s", res)
	}
	if res, err := query("secret-note", "alice", "get_note", ""); err != nil || !strings.Contains(string(res), secret) {
		t.Fatalf("alice's get_note: %s, %v", res, err)
	}
	aliceHex := alice.Public().Hex()
	if res, err := query("secret-note", "bob", "get_note", `{"owner":"`+aliceHex+`"}`); !client.IsNotAuthorized(err) {
		t.Fatalf("bob read alice's note: %s, %v", res, err)
	}

	// guess-number: the deployer (//Alice, through Start) peeks; Bob may
	// not, but guesses right with a command.
	res, err := query("guess-number", "alice", "peek", "")
	var secretN struct {
		N uint64 `json:"n"`
	}
	if err != nil || json.Unmarshal(res, &secretN) != nil || secretN.N < 1 || secretN.N > 100 {
		t.Fatalf("peek: %s, %v", res, err)
	}
	if _, err := query("guess-number", "bob", "peek", ""); !client.IsNotAuthorized(err) {
		t.Fatalf("bob peeked: %v", err)
	}
	if _, err := query("guess-number", "bob", "guess", `{"n":1}`); err == nil {
		t.Fatal("a guess as a free query was answered")
	}
	g, err := cs.Call(ctx, bob, id("guess-number"), "guess", fmt.Appendf(nil, `{"n":%d}`, secretN.N), client.CallOptions{Wait: true})
	if err != nil || string(g.Receipt.Result) != `{"answer":"correct"}` {
		t.Fatalf("guess: %+v, %v", g, err)
	}

	// secret-wallet: deposit (public funds move to the contract's
	// account), confidential transfer, balance, withdrawal paid on chain
	// once although two replicas report it.
	wallet := named["secret-wallet"].Address
	aliceBefore, walletBefore := freeBalance(t, c, aliceAddr), freeBalance(t, c, wallet)
	deposit := types.NewAmount(5_000_000_000_000)
	dres, seq, err := cs.Deposit(ctx, alice, id("secret-wallet"), deposit, client.TxOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := freeBalance(t, c, aliceAddr), sub(sub(aliceBefore, deposit), amt(t, dres.GetFee())); got.Cmp(want) != 0 {
		t.Fatalf("alice after deposit %s, want %s", got, want)
	}
	if got := freeBalance(t, c, wallet); got.Cmp(add(walletBefore, deposit)) != 0 {
		t.Fatalf("wallet account %s, want %s", got, add(walletBefore, deposit))
	}
	if rc, err := cs.WaitReceipt(ctx, alice, id("secret-wallet"), seq); err != nil || rc.Status != client.StatusOK || string(rc.Result) != `{"balance":5000000000000}` {
		t.Fatalf("deposit receipt %+v, %v", rc, err)
	}
	bobHex := bob.Public().Hex()
	if _, res := call("secret-wallet", "transfer", `{"to":"`+bobHex+`","amount":2000000000000}`); string(res) != `{"balance":3000000000000}` {
		t.Fatalf("transfer: %s", res)
	}
	if res, err := query("secret-wallet", "bob", "balance", ""); err != nil || string(res) != `{"balance":2000000000000}` {
		t.Fatalf("bob's balance: %s, %v", res, err)
	}
	if _, err := query("secret-wallet", "bob", "balance", `{"account":"`+aliceHex+`"}`); !client.IsNotAuthorized(err) {
		t.Fatalf("bob read alice's balance: %v", err)
	}
	if _, err := cs.Call(ctx, bob, id("secret-wallet"), "withdraw", []byte(`{"amount":9000000000000}`), client.CallOptions{Wait: true}); !client.IsContractCode(err, client.StatusReverted) {
		t.Fatalf("over-withdrawal: %v", err)
	}
	bobBefore, walletMid := freeBalance(t, c, bobAddr), freeBalance(t, c, wallet)
	payout := types.NewAmount(1_500_000_000_000)
	w, err := cs.Call(ctx, bob, id("secret-wallet"), "withdraw", []byte(`{"amount":1500000000000}`), client.CallOptions{Wait: true})
	if err != nil || string(w.Receipt.Result) != `{"balance":500000000000}` {
		t.Fatalf("withdraw: %+v, %v", w, err)
	}
	wantBob := add(sub(bobBefore, amt(t, w.Fee)), payout)
	waitFor(t, 20*time.Second, "the withdrawal paid on chain", func() bool { return freeBalance(t, c, bobAddr).Cmp(wantBob) == 0 })
	// Both replicas report the egress; a few blocks later it is still paid
	// exactly once.
	h, _ := c.Status(ctx)
	if err := c.WaitHeight(ctx, h.GetLatestHeight()+8); err != nil {
		t.Fatal(err)
	}
	if got := freeBalance(t, c, bobAddr); got.Cmp(wantBob) != 0 {
		t.Fatalf("bob %s after the replicas reported, want %s (paid twice?)", got, wantBob)
	}
	if got := freeBalance(t, c, wallet); got.Cmp(sub(walletMid, payout)) != 0 {
		t.Fatalf("wallet account %s, want %s", got, sub(walletMid, payout))
	}

	// The note's plaintext is nowhere outside the TEEs: not in any block
	// (Veil API), not in CometBFT's RPC, not in any file under the home.
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for height := int64(1); height <= st.GetLatestHeight(); height++ {
		b, err := c.Block(ctx, height)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := proto.Marshal(b)
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("block %d holds the note in plaintext", height)
		}
		for _, path := range []string{"/block?height=%d", "/block_results?height=%d"} {
			resp, err := http.Get(n.Info.Node.RPC + fmt.Sprintf(path, height))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if bytes.Contains(body, []byte(secret)) {
				t.Fatalf("CometBFT RPC %s holds the note", fmt.Sprintf(path, height))
			}
		}
	}
	files := 0
	err = filepath.WalkDir(n.Opts.Home, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil // a file being replaced
		}
		files++
		if bytes.Contains(b, []byte(secret)) {
			return fmt.Errorf("%s holds the note in plaintext", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("no plaintext in %d blocks, their RPC views and %d files", st.GetLatestHeight(), files)

	// Worker replacement: stop an assigned worker (not the gatekeeper);
	// once it is stale (or misses a heartbeat) the chain draws a
	// replacement on its own, and the newcomer rebuilds the state from
	// the log.
	hw, err := cs.GetContract(ctx, id("hello-world"))
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for i, wi := range n.Info.Workers {
		index[strings.TrimPrefix(wi.Identity, "0x")] = i
	}
	assigned := func(ws []string) []int {
		var out []int
		for _, w := range ws {
			out = append(out, index[strings.TrimPrefix(w, "0x")])
		}
		return out
	}
	gone := -1
	for _, i := range assigned(hw.Workers) {
		if i != 0 {
			gone = i
			break
		}
	}
	newcomer := 3 - gone - slices.DeleteFunc(assigned(hw.Workers), func(i int) bool { return i == gone })[0]
	t.Logf("hello-world on workers %v: stopping worker%d, expecting worker%d", assigned(hw.Workers), gone, newcomer)
	if err := n.StopWorker(gone); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the chain to replace the stopped worker", func() bool {
		hw, err = cs.GetContract(ctx, id("hello-world"))
		return err == nil && !slices.Contains(assigned(hw.Workers), gone)
	})
	if !slices.Contains(assigned(hw.Workers), newcomer) || hw.History[len(hw.History)-1].Reason != "replaced" {
		t.Fatalf("after replacement: workers %v, history %+v", assigned(hw.Workers), hw.History)
	}
	// The deployer's manual reassignment is refused: every seat is
	// eligible again.
	if _, err := cs.Reassign(ctx, alice, id("hello-world"), client.TxOptions{Wait: true}); err == nil {
		t.Fatal("reassign with every worker eligible was accepted")
	}
	fresh := client.NewContracts(c, n.Info)
	fresh.WorkerURL = n.Info.Workers[newcomer].API
	var got json.RawMessage
	waitFor(t, 30*time.Second, "the new worker to serve hello-world", func() bool {
		got, err = fresh.Query(ctx, bob, id("hello-world"), "get_count", nil)
		return err == nil
	})
	if string(got) != `{"count":2}` {
		t.Fatalf("new worker's get_count %s", got)
	}
	t.Logf("whole test %v", time.Since(start).Round(time.Millisecond))
}
