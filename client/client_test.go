package client

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/contracts"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keys"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	"github.com/veil-network/veil/gen/veil/node/v1/nodev1connect"
	txv1 "github.com/veil-network/veil/gen/veil/tx/v1"
)

// txNode serves GetStatus and GetAccount at different heights and counts
// the calls.
type txNode struct {
	nodev1connect.UnimplementedNodeServiceHandler
	mu                   sync.Mutex
	statusCalls, account int
}

const (
	txNodeStatusHeight  = 50
	txNodeAccountHeight = 40
)

func (n *txNode) GetStatus(context.Context, *connect.Request[nodev1.GetStatusRequest]) (*connect.Response[nodev1.GetStatusResponse], error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.statusCalls++
	typeURL := "/" + string(proto.MessageName(&bankv1.MsgTransfer{}))
	return connect.NewResponse(&nodev1.GetStatusResponse{ChainId: "test", LatestHeight: txNodeStatusHeight, FeePerByte: "1", FeePerMessage: "10",
		MessageWeights: map[string]uint64{typeURL: 1}}), nil
}

func (n *txNode) GetAccount(context.Context, *connect.Request[nodev1.GetAccountRequest]) (*connect.Response[nodev1.GetAccountResponse], error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.account++
	return connect.NewResponse(&nodev1.GetAccountResponse{Nonce: 7, Height: txNodeAccountHeight}), nil
}

func (n *txNode) counts() (int, int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.statusCalls, n.account
}

// TestBuildTxNodeReads: a transaction costs one account read (which
// carries the height its expiry counts from) once the chain parameters
// are cached, and a pipelined one (nonce given) one status read.
func TestBuildTxNodeReads(t *testing.T) {
	node := &txNode{}
	mux := http.NewServeMux()
	mux.Handle(nodev1connect.NewNodeServiceHandler(node))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(srv.URL)
	signer := keys.NewEd25519FromSeed([32]byte{1})
	msgs := []proto.Message{&bankv1.MsgTransfer{To: make([]byte, 32), Amount: "1"}}
	body := func(raw []byte) *txv1.TxBody {
		t.Helper()
		var tx txv1.Tx
		var b txv1.TxBody
		if err := proto.Unmarshal(raw, &tx); err != nil {
			t.Fatal(err)
		}
		if err := proto.Unmarshal(tx.GetBody(), &b); err != nil {
			t.Fatal(err)
		}
		return &b
	}
	ctx := context.Background()
	for i := range 3 {
		raw, err := c.BuildTx(ctx, signer, msgs, TxOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b := body(raw)
		if b.GetNonce() != 7 || b.GetExpiryHeight() != txNodeAccountHeight+DefaultExpiryBlocks || b.GetChainId() != "test" {
			t.Fatalf("tx %d: nonce %d, expiry %d, chain %q", i, b.GetNonce(), b.GetExpiryHeight(), b.GetChainId())
		}
		fee, err := types.ParseAmount(b.GetFee())
		if err != nil || fee.Cmp(types.NewAmount(uint64(len(raw))+10)) < 0 {
			t.Fatalf("tx %d: fee %s for %d bytes", i, b.GetFee(), len(raw))
		}
		if st, acct := node.counts(); st != 1 || acct != i+1 {
			t.Fatalf("after tx %d: %d status and %d account reads, want 1 and %d", i, st, acct, i+1)
		}
	}
	for i := range 2 {
		n := uint64(100 + i)
		raw, err := c.BuildTx(ctx, signer, msgs, TxOptions{Nonce: &n, ExpiryBlocks: 5})
		if err != nil {
			t.Fatal(err)
		}
		if b := body(raw); b.GetNonce() != n || b.GetExpiryHeight() != txNodeStatusHeight+5 {
			t.Fatalf("pipelined tx %d: nonce %d, expiry %d", i, b.GetNonce(), b.GetExpiryHeight())
		}
		if st, acct := node.counts(); st != 2+i || acct != 3 {
			t.Fatalf("after pipelined tx %d: %d status and %d account reads, want %d and 3", i, st, acct, 2+i)
		}
	}
}

// stateNode serves QueryState from a map and records the keys asked for.
type stateNode struct {
	nodev1connect.UnimplementedNodeServiceHandler
	state map[string][]byte
	mu    sync.Mutex
	asked []string
}

func (n *stateNode) QueryState(_ context.Context, req *connect.Request[nodev1.QueryStateRequest]) (*connect.Response[nodev1.QueryStateResponse], error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := string(req.Msg.GetKey())
	n.asked = append(n.asked, k)
	v, ok := n.state[k]
	if !ok {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("no such key"))
	}
	return connect.NewResponse(&nodev1.QueryStateResponse{Value: v}), nil
}

// TestCodeExistsReadsTheRecord: whether code is stored is read from its
// small record, as the chain decides it, never by downloading the module.
func TestCodeExistsReadsTheRecord(t *testing.T) {
	stored, missing := CodeHash([]byte("\x00asm stored")), CodeHash([]byte("\x00asm missing"))
	node := &stateNode{state: map[string][]byte{
		string(contracts.CodeRecordKey(stored)): {1},
		string(CodeKey(stored)):                 bytes.Repeat([]byte{0}, 1<<20),
	}}
	mux := http.NewServeMux()
	mux.Handle(nodev1connect.NewNodeServiceHandler(node))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cs := NewContracts(New(srv.URL), nil)
	ctx := context.Background()
	if ok, err := cs.CodeExists(ctx, stored); err != nil || !ok {
		t.Fatalf("stored code: %v, %v", ok, err)
	}
	if ok, err := cs.CodeExists(ctx, missing); err != nil || ok {
		t.Fatalf("missing code: %v, %v", ok, err)
	}
	node.mu.Lock()
	defer node.mu.Unlock()
	for _, k := range node.asked {
		if k == string(CodeKey(stored)) || k == string(CodeKey(missing)) {
			t.Fatal("CodeExists downloaded the module")
		}
	}
}
