package client

import (
	"bytes"
	"context"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keys"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	"github.com/veil-network/veil/gen/veil/node/v1/nodev1connect"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
)

// fakeWorker serves ContractService with the envelope primitives the
// executor uses: "veil.session" opens a session; other methods answer
// {"caller": hex, "method": m, "args": …}.
type fakeWorker struct {
	workerv1connect.UnimplementedContractServiceHandler
	key *envelope.CachedKey

	mu       sync.Mutex
	sessions map[envelope.SessionID]*envelope.WorkerSession
	opened   int
	life     int64
}

func (f *fakeWorker) Query(_ context.Context, req *connect.Request[workerv1.ContractQueryRequest]) (*connect.Response[workerv1.ContractQueryResponse], error) {
	q, sealer, err := envelope.OpenQuery(f.key, req.Msg.GetEnvelope(), time.Now())
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	if q.Method != QuerySessionMethod {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("only sessions"))
	}
	var id envelope.SessionID
	rand.Read(id[:])
	secret, _ := sealer.SessionSecret()
	f.mu.Lock()
	exp := time.Now().Add(time.Duration(f.life) * time.Second)
	f.mu.Unlock()
	ws, err := envelope.NewWorkerSession(secret, id, q.Caller, q.ContractID, exp)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.sessions[id] = ws
	f.opened++
	f.mu.Unlock()
	out, _ := sealer.Seal(fmt.Appendf(nil, `{"ok":true,"result":{"session":%q,"expires":%d}}`, hex.EncodeToString(id[:]), exp.Unix()))
	return connect.NewResponse(&workerv1.ContractQueryResponse{Response: out}), nil
}

func (f *fakeWorker) SessionQuery(_ context.Context, req *connect.Request[workerv1.SessionQueryRequest]) (*connect.Response[workerv1.ContractQueryResponse], error) {
	id, _, err := envelope.ParseSessionRequest(req.Msg.GetEnvelope())
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	f.mu.Lock()
	ws := f.sessions[id]
	f.mu.Unlock()
	if ws == nil {
		return nil, connect.NewError(connect.CodeNotFound, envelope.ErrUnknownSession)
	}
	r, err := ws.OpenRequest(req.Msg.GetEnvelope(), time.Now())
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	var pt []byte
	if r.Method == "fail" {
		pt = []byte(`{"ok":false,"code":"reverted","error":"nope"}`)
	} else {
		c := ws.Caller()
		if len(r.Args) == 0 {
			r.Args = []byte("null")
		}
		pt = fmt.Appendf(nil, `{"ok":true,"result":{"caller":%q,"method":%q,"args":%s}}`, hex.EncodeToString(c.Key[:]), r.Method, r.Args)
	}
	out, err := r.SealResponse(pt)
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&workerv1.ContractQueryResponse{Response: out}), nil
}

func (f *fakeWorker) forget() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions = map[envelope.SessionID]*envelope.WorkerSession{}
}

func (f *fakeWorker) setLife(l int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.life = l
}

func (f *fakeWorker) openedCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opened
}

func newFakeWorker(t *testing.T) (*fakeWorker, workerv1connect.ContractServiceClient) {
	t.Helper()
	sk, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ck, _ := envelope.NewCachedKey(sk)
	f := &fakeWorker{key: ck, sessions: map[envelope.SessionID]*envelope.WorkerSession{}, life: 600}
	mux := http.NewServeMux()
	mux.Handle(workerv1connect.NewContractServiceHandler(f))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, workerv1connect.NewContractServiceClient(srv.Client(), srv.URL)
}

func TestQuerySession(t *testing.T) {
	f, svc := newFakeWorker(t)
	signer := keys.NewEd25519FromSeed(sha256.Sum256([]byte("session signer")))
	cfg := QuerySessionConfig{Worker: svc, WorkerKey: f.key.PublicKey(), Signer: signer, Contract: ContractID{1}}
	ctx := context.Background()
	s, err := OpenQuerySession(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	pk := signer.Public()
	for i := range 20 {
		raw, err := s.Query(ctx, "get", fmt.Appendf(nil, `{"i":%d}`, i))
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Caller, Method string
			Args           struct{ I int }
		}
		if err := json.Unmarshal(raw, &r); err != nil || r.Caller != hex.EncodeToString(pk.Key[:]) || r.Method != "get" || r.Args.I != i {
			t.Fatalf("answer %s: %v", raw, err)
		}
	}
	if _, err := s.Query(ctx, "fail", nil); !IsContractCode(err, CodeReverted) {
		t.Fatalf("contract error: %v", err)
	}
	// The worker forgets the session (restart): reopened transparently.
	f.forget()
	if _, err := s.Query(ctx, "get", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	// A session about to expire is replaced before use.
	f.setLife(3)
	if err := s.Open(ctx); err != nil {
		t.Fatal(err)
	}
	f.setLife(600)
	if _, err := s.Query(ctx, "get", []byte("{}")); err != nil {
		t.Fatal(err)
	}
	if f.openedCount() != 4 {
		t.Fatalf("%d sessions opened, want 4", f.opened)
	}
	// Concurrent queries share one session.
	f.forget()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				if _, err := s.Query(ctx, "get", []byte("{}")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if f.openedCount() != 5 {
		t.Fatalf("%d sessions opened after concurrent reopen, want 5", f.opened)
	}
	s.Close()
	if _, err := s.Query(ctx, "get", nil); err == nil {
		t.Fatal("query after Close")
	}
}

func TestQuerySessionsCache(t *testing.T) {
	f, svc := newFakeWorker(t)
	a := keys.NewEd25519FromSeed(sha256.Sum256([]byte("a")))
	b := keys.NewEd25519FromSeed(sha256.Sum256([]byte("b")))
	var c QuerySessions
	ctx := context.Background()
	cfg := func(s keys.Signer, id byte) QuerySessionConfig {
		return QuerySessionConfig{Worker: svc, WorkerKey: f.key.PublicKey(), Signer: s, Contract: ContractID{id}}
	}
	for range 3 {
		for _, k := range []QuerySessionConfig{cfg(a, 1), cfg(b, 1), cfg(a, 2)} {
			if _, err := c.Query(ctx, "AB01", k, "get", nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if f.openedCount() != 3 {
		t.Fatalf("%d sessions opened for 3 keys", f.opened)
	}
	s1, _ := c.Get("ab01", cfg(a, 1))
	s2, _ := c.Get("0xAB01", cfg(a, 1))
	if s1 != s2 {
		t.Fatal("identity spelling splits the cache")
	}
	c.Close()
}

// countingWorkerInfo serves WorkerService.Info with a fixed identity and
// counts the calls.
type countingWorkerInfo struct {
	workerv1connect.UnimplementedWorkerServiceHandler
	identity []byte
	mu       sync.Mutex
	calls    int
}

func (w *countingWorkerInfo) Info(context.Context, *connect.Request[workerv1.InfoRequest]) (*connect.Response[workerv1.InfoResponse], error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	return connect.NewResponse(&workerv1.InfoResponse{WorkerInfo: &registryv1.WorkerInfo{Identity: w.identity}}), nil
}

// countingNode answers the registry's "worker" query with a fixed HPKE key
// and counts every module query.
type countingNode struct {
	nodev1connect.UnimplementedNodeServiceHandler
	hpkeKey []byte
	mu      sync.Mutex
	queries map[string]int
}

func (n *countingNode) QueryModule(_ context.Context, req *connect.Request[nodev1.QueryModuleRequest]) (*connect.Response[nodev1.QueryModuleResponse], error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.queries[req.Msg.GetModule()+"/"+req.Msg.GetPath()]++
	if req.Msg.GetModule() != registry.Name || req.Msg.GetPath() != "worker" {
		return nil, connect.NewError(connect.CodeNotFound, errors.New("not served"))
	}
	res, _ := json.Marshal(registry.WorkerView{HPKEPublicKey: "0x" + hex.EncodeToString(n.hpkeKey)})
	return connect.NewResponse(&nodev1.QueryModuleResponse{Result: res}), nil
}

// TestQueryContractPinnedWorker: queries with a contract record in hand
// read nothing from the chain but the worker's registered key (once), and
// a --worker URL's identity is read from its Info once, not per query.
func TestQueryContractPinnedWorker(t *testing.T) {
	sk, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ck, _ := envelope.NewCachedKey(sk)
	fw := &fakeWorker{key: ck, sessions: map[envelope.SessionID]*envelope.WorkerSession{}, life: 600}
	identity := bytes.Repeat([]byte{7}, 32)
	wi := &countingWorkerInfo{identity: identity}
	wmux := http.NewServeMux()
	wmux.Handle(workerv1connect.NewContractServiceHandler(fw))
	wmux.Handle(workerv1connect.NewWorkerServiceHandler(wi))
	wsrv := httptest.NewServer(wmux)
	defer wsrv.Close()
	node := &countingNode{hpkeKey: sk.PublicKey().Bytes(), queries: map[string]int{}}
	nmux := http.NewServeMux()
	nmux.Handle(nodev1connect.NewNodeServiceHandler(node))
	nsrv := httptest.NewServer(nmux)
	defer nsrv.Close()

	cs := NewContracts(New(nsrv.URL), nil)
	cs.WorkerURL = wsrv.URL
	cs.Sessions = &QuerySessions{}
	defer cs.Sessions.Close()
	signer, _ := keys.FromURI("//Alice", keys.SchemeSr25519)
	id := ContractID{1}
	ci := &ContractInfo{ID: id.Hex(), Workers: []string{"0x" + hex.EncodeToString(identity)}}
	for i := range 3 {
		raw, err := cs.QueryContract(context.Background(), signer, ci, "get", []byte(`{"i":1}`))
		if err != nil {
			t.Fatalf("query %d: %v", i, err)
		}
		var r struct{ Method string }
		if json.Unmarshal(raw, &r) != nil || r.Method != "get" {
			t.Fatalf("query %d: %s", i, raw)
		}
	}
	wi.mu.Lock()
	if wi.calls != 1 {
		t.Errorf("worker Info called %d times, want 1", wi.calls)
	}
	wi.mu.Unlock()
	node.mu.Lock()
	if len(node.queries) != 1 || node.queries[registry.Name+"/worker"] != 1 {
		t.Errorf("node queries %v, want only one registry worker read", node.queries)
	}
	node.mu.Unlock()
	// A worker not assigned to the contract is refused.
	other := &ContractInfo{ID: id.Hex(), Workers: []string{hex.EncodeToString(bytes.Repeat([]byte{8}, 32))}}
	if _, err := cs.QueryContract(context.Background(), signer, other, "get", nil); err == nil {
		t.Fatal("queried a worker not assigned to the contract")
	}
	if _, err := cs.QueryContract(context.Background(), signer, &ContractInfo{ID: "zz"}, "get", nil); err == nil {
		t.Fatal("accepted a record with a malformed id")
	}
}
