package executor

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keys"
)

// openSession opens a query session as signer with the given veil.session
// arguments and returns the client's side.
func (h *harness) openSession(signer keys.Signer, args string) *envelope.ClientSession {
	h.t.Helper()
	env, qc := h.sealQuery(signer, h.id, SessionMethod, args)
	resp, err := h.e.Query(context.Background(), env, h.now)
	if err != nil {
		h.t.Fatal(err)
	}
	pt, err := qc.OpenResponse(resp)
	if err != nil {
		h.t.Fatal(err)
	}
	var r Response
	if err := json.Unmarshal(pt, &r); err != nil || !r.OK {
		h.t.Fatalf("open session: %s %v", pt, err)
	}
	var res sessionResult
	if err := json.Unmarshal(r.Result, &res); err != nil {
		h.t.Fatal(err)
	}
	idb, err := hex.DecodeString(res.Session)
	if err != nil || len(idb) != envelope.SessionIDSize {
		h.t.Fatalf("session id %q", res.Session)
	}
	secret, err := qc.SessionSecret()
	if err != nil {
		h.t.Fatal(err)
	}
	defer clear(secret)
	cs, err := envelope.NewClientSession(secret, envelope.SessionID(idb), h.id, time.Unix(res.Expires, 0))
	if err != nil {
		h.t.Fatal(err)
	}
	return cs
}

// sessionSend answers one session request, returning the raw error.
func (h *harness) sessionSend(cs *envelope.ClientSession, env []byte, counter uint64, at time.Time) (Response, error) {
	resp, err := h.e.SessionQuery(context.Background(), env, at)
	if err != nil {
		return Response{}, err
	}
	pt, err := cs.OpenResponse(resp, counter)
	if err != nil {
		h.t.Fatal(err)
	}
	var r Response
	if err := json.Unmarshal(pt, &r); err != nil {
		h.t.Fatalf("response %s: %v", pt, err)
	}
	return r, nil
}

func (h *harness) sessionQuery(cs *envelope.ClientSession, method, args string) Response {
	h.t.Helper()
	env, c, err := cs.SealRequest(method, []byte(args))
	if err != nil {
		h.t.Fatal(err)
	}
	r, err := h.sessionSend(cs, env, c, h.now)
	if err != nil {
		h.t.Fatalf("session query %s: %v", method, err)
	}
	return r
}

type recordedMetrics struct {
	mu       sync.Mutex
	outcomes map[string]int
}

func (m *recordedMetrics) Command(string) {}
func (m *recordedMetrics) Query(outcome string, _ time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.outcomes[outcome]++
}

func TestSessionQueries(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	m := &recordedMetrics{outcomes: map[string]int{}}
	h.e.metrics = m
	alice := signer("alice")
	if out := h.command(alice, 1, "increment", `{"by":2}`); out.Status != StatusOK {
		t.Fatal(out)
	}
	cs := h.openSession(alice, "")
	if got := cs.Expiry().Sub(h.now); got != envelope.MaxQueryLifetime {
		t.Fatalf("default lifetime %v", got)
	}
	for range 50 {
		if r := h.sessionQuery(cs, "get_count", ""); !r.OK || string(r.Result) != `{"count":2}` {
			t.Fatalf("get_count: %+v", r)
		}
	}
	// Receipts through the session, to their caller only.
	if rc := decodeReceipt(t, h.sessionQuery(cs, ReceiptMethod, `{"sequence":1}`)); rc.Status != StatusOK {
		t.Fatalf("receipt %+v", rc)
	}
	bob := h.openSession(signer("bob"), "{}")
	if r := h.sessionQuery(bob, ReceiptMethod, `{"sequence":1}`); r.Code != CodeNotAuthorized {
		t.Fatalf("bob reads alice's receipt through a session: %+v", r)
	}
	if r := h.sessionQuery(cs, ReceiptMethod, `{"sequence":9}`); r.Code != CodePending {
		t.Fatalf("pending receipt: %+v", r)
	}
	// State changes are visible to an open session.
	h.command(alice, 2, "increment", `{"by":1}`)
	if r := h.sessionQuery(cs, "get_count", ""); string(r.Result) != `{"count":3}` {
		t.Fatalf("after increment: %+v", r)
	}
	// No session inside a session.
	if r := h.sessionQuery(cs, SessionMethod, ""); r.Code != CodeInvalid {
		t.Fatalf("nested session: %+v", r)
	}
	if h.e.Sessions() != 2 {
		t.Fatalf("%d sessions", h.e.Sessions())
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.outcomes["session_ok"] != 52 || m.outcomes["ok"] != 2 || m.outcomes["session_not_authorized"] != 1 || m.outcomes["session_pending"] != 1 || m.outcomes["session_invalid"] != 1 {
		t.Fatalf("metrics %v", m.outcomes)
	}
}

func TestSessionOpenArgs(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	alice := signer("alice")
	// Not ready: no session.
	if r := h.query(alice, SessionMethod, ""); r.Code != CodeNotReady {
		t.Fatalf("not ready: %+v", r)
	}
	h.install("")
	if cs := h.openSession(alice, `{"lifetime_s":30}`); cs.Expiry() != h.now.Add(30*time.Second) {
		t.Fatalf("expiry %v", cs.Expiry())
	}
	if cs := h.openSession(alice, `{"lifetime_s":100000}`); cs.Expiry() != h.now.Add(envelope.MaxQueryLifetime) {
		t.Fatalf("lifetime not capped: %v", cs.Expiry())
	}
	for _, a := range []string{`{"lifetime_s":0}`, `{"lifetime_s":-5}`, `{"lifetime":5}`, `[]`, `{"lifetime_s":"5"}`, `{} {}`} {
		if r := h.query(alice, SessionMethod, a); r.Code != CodeInvalid {
			t.Fatalf("args %s: %+v", a, r)
		}
	}
}

func TestSessionRefusals(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	alice := signer("alice")
	cs := h.openSession(alice, `{"lifetime_s":60}`)

	env, c, _ := cs.SealRequest("get_count", nil)
	if _, err := h.sessionSend(cs, env, c, h.now); err != nil {
		t.Fatal(err)
	}
	if _, err := h.sessionSend(cs, env, c, h.now); !errors.Is(err, ErrBadEnvelope) || !errors.Is(err, envelope.ErrReplay) {
		t.Fatalf("replayed counter: %v", err)
	}
	// Out of the window: counter 2 is sealed, then 70 more are answered.
	old, oc, _ := cs.SealRequest("get_count", nil)
	for range envelope.SessionWindow + 5 {
		h.sessionQuery(cs, "get_count", "")
	}
	if _, err := h.sessionSend(cs, old, oc, h.now); !errors.Is(err, ErrBadEnvelope) || !errors.Is(err, envelope.ErrReplay) {
		t.Fatalf("counter below the window: %v", err)
	}
	// Tampered.
	env, c, _ = cs.SealRequest("get_count", nil)
	bad := append([]byte(nil), env...)
	bad[len(bad)-3] ^= 1
	if _, err := h.sessionSend(cs, bad, c, h.now); !errors.Is(err, ErrBadEnvelope) || !errors.Is(err, envelope.ErrDecrypt) {
		t.Fatalf("tampered: %v", err)
	}
	if _, err := h.sessionSend(cs, env, c, h.now); err != nil {
		t.Fatalf("the tampered copy burned the counter: %v", err)
	}
	if _, err := h.e.SessionQuery(context.Background(), []byte{1, 6, 0}, h.now); !errors.Is(err, ErrBadEnvelope) {
		t.Fatalf("garbage: %v", err)
	}
	// Unknown session.
	unknown := append([]byte(nil), env...)
	unknown[5] ^= 1
	if _, err := h.sessionSend(cs, unknown, c, h.now); !errors.Is(err, ErrNoSession) || errors.Is(err, ErrBadEnvelope) {
		t.Fatalf("unknown session: %v", err)
	}
	// Expired.
	env, c, _ = cs.SealRequest("get_count", nil)
	if _, err := h.sessionSend(cs, env, c, h.now.Add(60*time.Second)); !errors.Is(err, ErrNoSession) || !errors.Is(err, envelope.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	if _, err := h.sessionSend(cs, env, c, h.now.Add(59*time.Second)); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
}

func TestSessionBoundToCallerAndWorker(t *testing.T) {
	h := newHarness(t, "secret-note", hopt{})
	h.install("")
	alice, bob := signer("alice"), signer("bob")
	const note = "meet at the old mill"
	if out := h.command(alice, 1, "set_note", `{"text":"`+note+`"}`); out.Status != StatusOK {
		t.Fatal(out)
	}
	as, bs := h.openSession(alice, ""), h.openSession(bob, "")
	if r := h.sessionQuery(as, "get_note", ""); !r.OK || !strings.Contains(string(r.Result), note) {
		t.Fatalf("alice: %+v", r)
	}
	ownerArg := `{"owner":"` + hex.EncodeToString(alice.Public().Bytes()) + `"}`
	if r := h.sessionQuery(bs, "get_note", ownerArg); r.OK || r.Code != CodeReverted || r.Error != "not authorized" {
		t.Fatalf("bob reads alice's note through his session: %+v", r)
	}
	if r := h.sessionQuery(bs, "get_note", ""); strings.Contains(string(r.Result), note) {
		t.Fatalf("bob's own note is alice's: %+v", r)
	}

	// Another worker executing the same contract does not know the session.
	h2 := newHarness(t, "secret-note", hopt{})
	h2.install("")
	env, _, _ := as.SealRequest("get_note", nil)
	if _, err := h2.e.SessionQuery(context.Background(), env, h2.now); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session of worker 1 at worker 2: %v", err)
	}
	// Nor does this worker after a restart (sessions live in memory).
	h.restart()
	env, _, _ = as.SealRequest("get_note", nil)
	if _, err := h.e.SessionQuery(context.Background(), env, h.now); !errors.Is(err, ErrNoSession) {
		t.Fatalf("session after restart: %v", err)
	}
}

func TestSessionTableEviction(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	h.e.sessions = newSessionTable(2)
	alice := signer("alice")
	short := h.openSession(alice, `{"lifetime_s":10}`)
	long := h.openSession(alice, `{"lifetime_s":300}`)
	mid := h.openSession(alice, `{"lifetime_s":100}`) // evicts the soonest to expire
	if h.e.Sessions() != 2 {
		t.Fatalf("%d sessions", h.e.Sessions())
	}
	env, _, _ := short.SealRequest("get_count", nil)
	if _, err := h.e.SessionQuery(context.Background(), env, h.now); !errors.Is(err, ErrNoSession) {
		t.Fatalf("evicted session: %v", err)
	}
	h.sessionQuery(long, "get_count", "")
	h.sessionQuery(mid, "get_count", "")
	// Expired sessions go first, whatever the capacity.
	h.now = h.now.Add(200 * time.Second)
	h.openSession(alice, "")
	if _, err := h.e.SessionQuery(context.Background(), func() []byte { e, _, _ := mid.SealRequest("get_count", nil); return e }(), h.now); !errors.Is(err, ErrNoSession) {
		t.Fatalf("expired session kept: %v", err)
	}
	h.sessionQuery(long, "get_count", "")
}

func TestSessionConcurrent(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	alice := signer("alice")
	h.command(alice, 1, "increment", `{"by":5}`)
	sessions := []*envelope.ClientSession{h.openSession(alice, ""), h.openSession(signer("bob"), "")}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs := sessions[g%2]
			for range 25 {
				env, c, err := cs.SealRequest("get_count", nil)
				if err != nil {
					errs <- err
					return
				}
				resp, err := h.e.SessionQuery(context.Background(), env, h.now)
				if err != nil {
					// Concurrent senders of one session may fall more
					// than the window behind; that is a refusal, not
					// a failure.
					if !errors.Is(err, envelope.ErrReplay) {
						errs <- err
						return
					}
					continue
				}
				pt, err := cs.OpenResponse(resp, c)
				if err != nil || !strings.Contains(string(pt), `{"count":5}`) {
					errs <- errors.Join(err, errors.New(string(pt)))
					return
				}
			}
		}()
	}
	// A session opened and commands executed meanwhile.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 5 {
			h.openSession(signer("carol"), "")
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
