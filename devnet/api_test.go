package devnet_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/devnet"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
)

// TestAPIStreamsAndProofs: StreamBlocks delivers history then live blocks
// without gaps; QueryState returns values with ICS23 proofs that verify
// against the app hash block v's execution produced (the one header v+1
// commits to); the genesis hash the API
// reports equals the chain's own. The network also serves a Web UI
// directory: network.json names the UI server, which serves the app and
// the network's public description.
func TestAPIStreamsAndProofs(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ui := t.TempDir()
	writeFile(t, filepath.Join(ui, "index.html"), "<!doctype html><title>Veil UI</title>")
	home := t.TempDir()
	n := startNetWith(t, devnet.Options{Home: home, Reset: true, UIDir: ui})
	defer n.Stop()
	c := n.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	checkUI(t, n, home)
	if err := c.WaitHeight(ctx, 4); err != nil {
		t.Fatal(err)
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gh := n.Nodes[0].App.GenesisHash(); string(st.GetGenesisHash()) != string(gh[:]) {
		t.Fatalf("API genesis hash %X, chain %X", st.GetGenesisHash(), gh)
	}

	stream, err := c.Node.StreamBlocks(ctx, connect.NewRequest(&nodev1.StreamBlocksRequest{FromHeight: 1}))
	if err != nil {
		t.Fatal(err)
	}
	want := int64(1)
	target := st.GetLatestHeight() + 3 // history, then live blocks
	for want <= target && stream.Receive() {
		b := stream.Msg()
		if b.GetHeight() != want {
			t.Fatalf("stream gave height %d, want %d", b.GetHeight(), want)
		}
		if len(b.GetHash()) != 32 || b.GetTime() == nil {
			t.Fatalf("incomplete block %d", want)
		}
		want++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	stream.Close()

	// A proof at version v verifies against block v+1's header app hash.
	bob, _ := types.ParseAddress(bank.DevAccounts[1].Address, 42)
	v := int64(3)
	q, err := c.Node.QueryState(ctx, connect.NewRequest(&nodev1.QueryStateRequest{Key: bank.BalanceKey(bob), Height: v, Prove: true}))
	if err != nil {
		t.Fatal(err)
	}
	var proof ics23.CommitmentProof
	if err := proof.Unmarshal(q.Msg.GetProof()); err != nil {
		t.Fatal(err)
	}
	// Block v's result app hash is what header v+1 commits to.
	blockV, err := c.Block(ctx, v)
	if err != nil {
		t.Fatal(err)
	}
	if len(blockV.GetBlock().GetAppHash()) == 0 {
		t.Fatal("block result without app hash")
	}
	if err := store.VerifyProof(blockV.GetBlock().GetAppHash(), &proof, q.Msg.GetKey(), q.Msg.GetValue()); err != nil {
		t.Fatalf("proof against block %d's app hash: %v", v, err)
	}
	missing := bank.BalanceKey(types.AccountID{42})
	q2, err := c.Node.QueryState(ctx, connect.NewRequest(&nodev1.QueryStateRequest{Key: missing, Height: v, Prove: true}))
	if err != nil {
		t.Fatal(err)
	}
	var np ics23.CommitmentProof
	if err := np.Unmarshal(q2.Msg.GetProof()); err != nil {
		t.Fatal(err)
	}
	if q2.Msg.GetExists() || store.VerifyProof(blockV.GetBlock().GetAppHash(), &np, missing, nil) != nil {
		t.Fatal("absent key not proven absent")
	}
	if _, err := c.Node.QueryState(ctx, connect.NewRequest(&nodev1.QueryStateRequest{Key: nil})); err == nil {
		t.Fatal("empty key accepted")
	}
}

// checkUI: network.json lists the UI server, which serves the app (also
// on a client-side route) and the public network description.
func checkUI(t *testing.T, n *devnet.Network, home string) {
	t.Helper()
	onDisk, err := client.LoadNetwork(devnet.NetworkFile(home))
	if err != nil {
		t.Fatal(err)
	}
	if onDisk.UI == "" || onDisk.UI != n.Info.UI || !strings.HasPrefix(onDisk.UI, "http://127.0.0.1:") || !n.UIBuilt() {
		t.Fatalf("network.json ui %q (network %q, built %v)", onDisk.UI, n.Info.UI, n.UIBuilt())
	}
	fetch := func(path string) (*http.Response, []byte) {
		t.Helper()
		resp, err := http.Get(strings.TrimSuffix(onDisk.UI, "/") + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}
	for _, p := range []string{"/", "/accounts"} {
		if resp, b := fetch(p); resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "<title>Veil UI</title>") {
			t.Fatalf("UI %s: %d %q", p, resp.StatusCode, b)
		}
	}
	resp, b := fetch("/network.json")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("network.json: %d %s", resp.StatusCode, b)
	}
	var pub devnet.PublicNetwork
	if err := json.Unmarshal(b, &pub); err != nil {
		t.Fatal(err)
	}
	if pub.ChainID != n.Info.ChainID || pub.Node.API != n.Info.Node.API || pub.UI != onDisk.UI || len(pub.Validators) != 1 {
		t.Fatalf("network.json %+v", pub)
	}
	if strings.Contains(string(b), home) {
		t.Fatal("the public network.json names the home directory")
	}
}
