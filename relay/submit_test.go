package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
	"github.com/veil-network/veil/node"
)

// startNode runs a single-validator node in process (the default dev
// genesis: the //Alice … //Ferdie accounts are funded) with short blocks
// and returns a client of its API once it has committed a block.
func startNode(t *testing.T) *client.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	home := t.TempDir()
	conf := node.DevCometConfig(home, "relay-test", 0, 0)
	conf.RPC.ListenAddress = ""
	conf.Consensus.TimeoutCommit = 100 * time.Millisecond
	if _, err := node.Init(home, node.InitOptions{Comet: conf, ChainID: "relay-test", Moniker: "relay-test"}); err != nil {
		t.Fatal(err)
	}
	vc := node.DefaultVeilConfig()
	vc.APIListen = "127.0.0.1:0"
	n, err := node.Start(ctx, home, node.Options{Logger: slog.New(slog.DiscardHandler), Comet: conf, Veil: &vc})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Stop(); err != nil {
			t.Errorf("stop node: %v", err)
		}
	})
	c := client.New(n.APIURL())
	if err := c.WaitHeight(ctx, 2); err != nil {
		t.Fatal(err)
	}
	return c
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func devSigner(t *testing.T, uri string) keys.Signer {
	t.Helper()
	s, err := keys.FromURI(uri, keys.SchemeSr25519)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// nodeRelayer is a relayer submitting to c from operator (its worker is
// never contacted by these tests).
func nodeRelayer(t *testing.T, c *client.Client, operator keys.Signer) *Relayer {
	t.Helper()
	r, err := New(Config{WorkerURL: closedURL(t), Node: c, Operator: operator, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func transfer(to keys.Signer, amount uint64) []proto.Message {
	return []proto.Message{&bankv1.MsgTransfer{To: to.Public().Bytes(), Amount: fmt.Sprint(amount)}}
}

func accountState(t *testing.T, c *client.Client, s keys.Signer) (nonce uint64, free types.Amount) {
	t.Helper()
	a, err := c.Account(context.Background(), s.Public().Hex())
	if err != nil {
		t.Fatal(err)
	}
	return a.GetNonce(), types.MustParseAmount(a.GetFree())
}

// TestOperatorTransactionsConcurrent: transactions the relayer submits
// from its operator account at the same time (as its registration and
// egress loops do) all commit. Built independently, two of them would
// read the same account nonce and the chain would refuse one
// (stale_nonce).
func TestOperatorTransactionsConcurrent(t *testing.T) {
	c := startNode(t)
	op, bob := devSigner(t, "//Charlie"), devSigner(t, "//Bob")
	r := nodeRelayer(t, c, op)
	_, bob0 := accountState(t, c, bob)
	opNonce0, _ := accountState(t, c, op)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 6
	errs := make([]error, n)
	heights := make([]int64, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			res, err := r.txs.send(ctx, transfer(bob, uint64(1000+i)))
			errs[i], heights[i] = err, res.GetHeight()
		})
	}
	close(start)
	wg.Wait()
	want := uint64(0)
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
		if heights[i] <= 0 {
			t.Errorf("transaction %d has no block height", i)
		}
		want += uint64(1000 + i)
	}
	opNonce, _ := accountState(t, c, op)
	_, bobFree := accountState(t, c, bob)
	if got, _ := bobFree.Sub(bob0); opNonce != opNonce0+n || got.Cmp(types.NewAmount(want)) != 0 {
		t.Fatalf("operator nonce %d → %d, recipient received %s; want %d transactions, %d", opNonce0, opNonce, got, n, want)
	}
	if v := counterValue(t, r.m.nonceResyncs); v != 0 {
		t.Fatalf("%v nonce resyncs for transactions of this relayer alone", v)
	}
}

// TestOperatorNonceResync: when the operator account's nonce moves
// without the relayer (the operator used the account itself), or the
// relayer's count is ahead (a transaction of its own dropped from the
// mempool), the chain's refusal makes the relayer read the nonce again
// and re-sign: the transaction still commits. Other refusals are
// returned as they are, and do not break later submissions.
func TestOperatorNonceResync(t *testing.T) {
	c := startNode(t)
	op, bob := devSigner(t, "//Dave"), devSigner(t, "//Bob")
	r := nodeRelayer(t, c, op)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := r.txs.send(ctx, transfer(bob, 1)); err != nil {
		t.Fatal(err)
	}
	// Behind: the operator's own transaction takes the tracked nonce.
	if _, err := c.Send(ctx, op, transfer(bob, 2), client.TxOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.txs.send(ctx, transfer(bob, 3)); err != nil {
		t.Fatalf("after the account moved: %v", err)
	}
	if v := counterValue(t, r.m.nonceResyncs); v != 1 {
		t.Fatalf("%v nonce resyncs after a stale nonce, want 1", v)
	}
	// Ahead.
	r.txs.next += 5
	if _, err := r.txs.send(ctx, transfer(bob, 4)); err != nil {
		t.Fatalf("with the count ahead: %v", err)
	}
	if v := counterValue(t, r.m.nonceResyncs); v != 2 {
		t.Fatalf("%v nonce resyncs after a future nonce, want 2", v)
	}
	if nonce, _ := accountState(t, c, op); nonce != 4 || r.txs.next != 4 || !r.txs.known {
		t.Fatalf("chain nonce %d, tracked %d (known %v); want 4", nonce, r.txs.next, r.txs.known)
	}
	// A refusal for another reason is the caller's, unchanged.
	_, err := r.txs.send(ctx, []proto.Message{&bankv1.MsgTransfer{To: bob.Public().Bytes(), Amount: "not an amount"}})
	var txErr *client.TxError
	if !errors.As(err, &txErr) || txErr.Code() == types.CodeStaleNonce || txErr.Code() == types.CodeFutureNonce {
		t.Fatalf("malformed transfer: %v", err)
	}
	if _, err := r.txs.send(ctx, transfer(bob, 5)); err != nil {
		t.Fatalf("after a refusal: %v", err)
	}
	if v := counterValue(t, r.m.nonceResyncs); v != 2 {
		t.Fatalf("%v nonce resyncs, want still 2", v)
	}
}
