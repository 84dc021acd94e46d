package relay

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	"github.com/veil-network/veil/gen/veil/node/v1/nodev1connect"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
)

// codeNode serves QueryState from a map (a node's stored code).
type codeNode struct {
	nodev1connect.UnimplementedNodeServiceHandler
	mu    sync.Mutex
	state map[string][]byte
	reads int
}

func (n *codeNode) QueryState(_ context.Context, req *connect.Request[nodev1.QueryStateRequest]) (*connect.Response[nodev1.QueryStateResponse], error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.reads++
	return connect.NewResponse(&nodev1.QueryStateResponse{Value: n.state[string(req.Msg.GetKey())], Height: 7}), nil
}

// codeWorker accepts code whose hash it waits for, like the real worker.
type codeWorker struct {
	workerv1connect.UnimplementedWorkerServiceHandler
	mu       sync.Mutex
	provided [][]byte
}

func (w *codeWorker) ProvideCode(_ context.Context, req *connect.Request[workerv1.ProvideCodeRequest]) (*connect.Response[workerv1.ProvideCodeResponse], error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.provided = append(w.provided, req.Msg.GetCode())
	h := sha256.Sum256(req.Msg.GetCode())
	return connect.NewResponse(&workerv1.ProvideCodeResponse{CodeHash: h[:]}), nil
}

// TestProvideCode: missing code is read from the node at CodeKey(hash)
// and given to the worker; code the node does not have (or that does not
// hash right) is logged and retried only after a pause.
func TestProvideCode(t *testing.T) {
	code := []byte("\x00asm\x01\x00\x00\x00 contract")
	good := sha256.Sum256(code)
	absent := sha256.Sum256([]byte("not uploaded yet"))
	lying := sha256.Sum256([]byte("other"))
	node := &codeNode{state: map[string][]byte{
		string(client.CodeKey(good)): code, string(client.CodeKey(lying)): []byte("tampered"),
	}}
	nmux := http.NewServeMux()
	nmux.Handle(nodev1connect.NewNodeServiceHandler(node))
	nsrv := httptest.NewServer(nmux)
	defer nsrv.Close()
	wk := &codeWorker{}
	wmux := http.NewServeMux()
	wmux.Handle(workerv1connect.NewWorkerServiceHandler(wk))
	wsrv := httptest.NewServer(wmux)
	defer wsrv.Close()

	var logs bytes.Buffer
	s, _ := keys.FromURI("//Alice", keys.SchemeSr25519)
	r, err := New(Config{WorkerURL: wsrv.URL, Node: client.New(nsrv.URL), Operator: s,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	info := &workerv1.InfoResponse{MissingCode: [][]byte{good[:], absent[:], lying[:], {1, 2}}}
	if n := r.provideCode(context.Background(), info); n != 1 {
		t.Fatalf("provided %d, want 1\n%s", n, logs.String())
	}
	if len(wk.provided) != 1 || !bytes.Equal(wk.provided[0], code) {
		t.Fatalf("worker got %q", wk.provided)
	}
	for _, want := range []string{"contract code provided", "stores no code with this hash yet", "not the requested code", "malformed missing code hash"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	// Failed hashes wait before the next attempt; the good one is asked
	// again only if the worker still lists it.
	reads := node.reads
	if n := r.provideCode(context.Background(), &workerv1.InfoResponse{MissingCode: [][]byte{absent[:], lying[:]}}); n != 0 || node.reads != reads {
		t.Fatalf("retried at once: provided %d, node reads %d → %d", n, reads, node.reads)
	}
}

// TestProvideCodeForgetsUnlisted: the back-off of a hash the worker no
// longer lists is dropped, so the map stays bounded by what it lists.
func TestProvideCodeForgetsUnlisted(t *testing.T) {
	node := &codeNode{state: map[string][]byte{}}
	nmux := http.NewServeMux()
	nmux.Handle(nodev1connect.NewNodeServiceHandler(node))
	nsrv := httptest.NewServer(nmux)
	defer nsrv.Close()
	s, _ := keys.FromURI("//Alice", keys.SchemeSr25519)
	r, err := New(Config{WorkerURL: "http://127.0.0.1:1", Node: client.New(nsrv.URL), Operator: s, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	a, b := sha256.Sum256([]byte("a")), sha256.Sum256([]byte("b"))
	r.provideCode(context.Background(), &workerv1.InfoResponse{MissingCode: [][]byte{a[:], b[:]}})
	if len(r.codeRetry) != 2 {
		t.Fatalf("back-offs %v, want 2", r.codeRetry)
	}
	r.provideCode(context.Background(), &workerv1.InfoResponse{MissingCode: [][]byte{b[:]}})
	if _, ok := r.codeRetry[hex.EncodeToString(a[:])]; ok || len(r.codeRetry) != 1 {
		t.Fatalf("back-offs %v, want only b's", r.codeRetry)
	}
	r.provideCode(context.Background(), &workerv1.InfoResponse{})
	if len(r.codeRetry) != 0 {
		t.Fatalf("back-offs %v, want none", r.codeRetry)
	}
}
