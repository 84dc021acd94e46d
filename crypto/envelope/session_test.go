package envelope

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veil-network/veil/crypto/keys"
)

func testSessionID() SessionID { s := seq(0x10); return SessionID(s[:SessionIDSize]) }

// openTestSession runs the opening handshake (a sealed query, whose
// contexts export the session secret) and returns both sides.
func openTestSession(t testing.TB, expiry time.Time) (*ClientSession, *WorkerSession) {
	t.Helper()
	worker := workerKey(t, testWorkerIKM())
	signer := testSigner(t, keys.SchemeEd25519)
	req := testQuery()
	req.Method = "veil.session"
	env, qc, err := SealQuery(worker.PublicKey(), req, signer)
	if err != nil {
		t.Fatal(err)
	}
	q, rs, err := OpenQuery(worker, env, testNow())
	if err != nil {
		t.Fatal(err)
	}
	ws, cs := sessionPair(t, qc, rs, q.Caller, q.ContractID, testSessionID(), expiry)
	return cs, ws
}

func sessionPair(t testing.TB, qc *QueryContext, rs *ResponseSealer, caller keys.PublicKey, contract [32]byte, id SessionID, expiry time.Time) (*WorkerSession, *ClientSession) {
	t.Helper()
	wsec, err := rs.SessionSecret()
	if err != nil {
		t.Fatal(err)
	}
	csec, err := qc.SessionSecret()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wsec, csec) {
		t.Fatal("client and worker export different session secrets")
	}
	if bytes.Equal(wsec, rs.secret) {
		t.Fatal("session secret equals the response secret")
	}
	ws, err := NewWorkerSession(wsec, id, caller, contract, expiry)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := NewClientSession(csec, id, contract, expiry)
	if err != nil {
		t.Fatal(err)
	}
	return ws, cs
}

func TestSessionRoundTrip(t *testing.T) {
	cs, ws := openTestSession(t, testNow().Add(time.Minute))
	if ws.Caller() != testSigner(t, keys.SchemeEd25519).Public() || ws.ContractID() != testContractID() || cs.ID() != ws.ID() {
		t.Fatal("session identity not carried over")
	}
	for i := range 200 {
		args := []byte(fmt.Sprintf(`{"i":%d}`, i))
		env, counter, err := cs.SealRequest("balance_of", args)
		if err != nil {
			t.Fatal(err)
		}
		if counter != uint64(i+1) {
			t.Fatalf("counter %d, want %d", counter, i+1)
		}
		if want := sessionHeaderSize + ContractIDSize + 2 + len("balance_of") + 4 + len(args) + gcmTagSize; len(env) != want {
			t.Fatalf("request of %d bytes, want %d", len(env), want)
		}
		r, err := ws.OpenRequest(env, testNow())
		if err != nil {
			t.Fatal(err)
		}
		if r.Method != "balance_of" || !bytes.Equal(r.Args, args) || r.ContractID != testContractID() || r.Counter != counter {
			t.Fatalf("request %+v", r)
		}
		resp, err := r.SealResponse([]byte(fmt.Sprintf(`{"ok":true,"result":%d}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.SealResponse([]byte("again")); err == nil {
			t.Fatal("sealed a second response under the same counter")
		}
		pt, err := cs.OpenResponse(resp, counter)
		if err != nil {
			t.Fatal(err)
		}
		if string(pt) != fmt.Sprintf(`{"ok":true,"result":%d}`, i) {
			t.Fatalf("response %q", pt)
		}
		// Bound to its request: not another counter, not as a request.
		if _, err := cs.OpenResponse(resp, counter+1); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("response opened for another counter: %v", err)
		}
		if _, err := ws.OpenRequest(resp, testNow()); !errors.Is(err, ErrWrongKind) {
			t.Fatalf("response accepted as a request: %v", err)
		}
		asReq := bytes.Clone(resp)
		asReq[1] = byte(KindSessionQuery)
		// (A fresh window, so that the direction keys, not the counter,
		// refuse it.)
		fresh := &WorkerSession{session: session{id: ws.id, contract: ws.contract, expiry: ws.expiry, keys: ws.keys}, caller: ws.caller}
		if _, err := fresh.OpenRequest(asReq, testNow()); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("response relabelled as a request: %v", err)
		}
		asResp := bytes.Clone(env)
		asResp[1] = byte(KindSessionResponse)
		if _, err := cs.OpenResponse(asResp, counter); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("request reflected as a response: %v", err)
		}
	}
}

func TestSessionReplayWindow(t *testing.T) {
	cs, ws := openTestSession(t, testNow().Add(time.Minute))
	var envs [][]byte
	for range 100 {
		env, _, err := cs.SealRequest("get", nil)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
	}
	open := func(i int) error { _, err := ws.OpenRequest(envs[i], testNow()); return err }
	// Out of order within the window: 10 first, then 1..9.
	if err := open(9); err != nil {
		t.Fatal(err)
	}
	for i := range 9 {
		if err := open(i); err != nil {
			t.Fatalf("counter %d within the window refused: %v", i+1, err)
		}
	}
	for i := range 10 {
		if err := open(i); !errors.Is(err, ErrReplay) {
			t.Fatalf("counter %d replayed: %v", i+1, err)
		}
	}
	// Jump to 100: 37 is exactly SessionWindow below (refused), 38 is the
	// oldest still acceptable.
	if err := open(99); err != nil {
		t.Fatal(err)
	}
	if err := open(35); !errors.Is(err, ErrReplay) || !strings.Contains(err.Error(), "below") {
		t.Fatalf("counter 36, 64 below the highest, accepted: %v", err)
	}
	if err := open(36); err != nil {
		t.Fatalf("counter 37, 63 below the highest, refused: %v", err)
	}
	if err := open(36); !errors.Is(err, ErrReplay) {
		t.Fatalf("counter 37 replayed: %v", err)
	}
	if err := open(99); !errors.Is(err, ErrReplay) {
		t.Fatalf("highest counter replayed: %v", err)
	}
	// A forged request does not move the window.
	forged := bytes.Clone(envs[0])
	forged[18] = 0x7f // counter far ahead
	if _, err := ws.OpenRequest(forged, testNow()); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("forged counter: %v", err)
	}
	if err := open(98); err != nil {
		t.Fatalf("window moved by a forgery: %v", err)
	}
}

func TestSessionCountersConcurrent(t *testing.T) {
	cs, ws := openTestSession(t, testNow().Add(time.Minute))
	const n = 400
	envs := make([][]byte, n)
	for i := range envs {
		envs[i], _, _ = cs.SealRequest("get", nil)
	}
	var mu sync.Mutex
	accepted := map[uint64]int{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every goroutine sends every request, in its own order.
			for i := range n {
				env := envs[(i*7+g*13)%n]
				r, err := ws.OpenRequest(env, testNow())
				if err != nil {
					if !errors.Is(err, ErrReplay) {
						t.Error(err)
					}
					continue
				}
				if _, err := r.SealResponse([]byte("x")); err != nil {
					t.Error(err)
				}
				mu.Lock()
				accepted[r.Counter]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for c, k := range accepted {
		if k != 1 {
			t.Fatalf("counter %d accepted %d times", c, k)
		}
	}
	if len(accepted) < n-SessionWindow {
		t.Logf("%d of %d accepted (the rest fell out of the window)", len(accepted), n)
	}
}

func TestSessionExpiredUnknownClosed(t *testing.T) {
	exp := testNow().Add(time.Minute)
	cs, ws := openTestSession(t, exp)
	env, _, _ := cs.SealRequest("get", nil)
	if _, err := ws.OpenRequest(env, exp); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	if _, err := ws.OpenRequest(env, exp.Add(-time.Second)); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	other := bytes.Clone(env)
	other[2] ^= 1
	if _, err := ws.OpenRequest(other, testNow()); !errors.Is(err, ErrUnknownSession) {
		t.Fatalf("other session id: %v", err)
	}
	ws.Close()
	env2, _, _ := cs.SealRequest("get", nil)
	if _, err := ws.OpenRequest(env2, testNow()); !errors.Is(err, ErrUnknownSession) {
		t.Fatalf("closed session: %v", err)
	}
	if ws.keys != (sessionKeys{}) {
		t.Fatal("Close left keys")
	}
	cs.Close()
	if _, _, err := cs.SealRequest("get", nil); !errors.Is(err, ErrUnknownSession) {
		t.Fatalf("closed client session: %v", err)
	}
}

func TestSessionBindings(t *testing.T) {
	worker := workerKey(t, testWorkerIKM())
	signer := testSigner(t, keys.SchemeEd25519)
	env, qc, err := SealQuery(worker.PublicKey(), testQuery(), signer)
	if err != nil {
		t.Fatal(err)
	}
	q, rs, err := OpenQuery(worker, env, testNow())
	if err != nil {
		t.Fatal(err)
	}
	exp := testNow().Add(time.Minute)
	ws, cs := sessionPair(t, qc, rs, q.Caller, q.ContractID, testSessionID(), exp)

	// A client that derived keys for another session id or contract
	// cannot talk to this session.
	csec, _ := qc.SessionSecret()
	otherID := testSessionID()
	otherID[0] ^= 1
	for name, c := range map[string]struct {
		id       SessionID
		contract [32]byte
	}{"other id": {otherID, testContractID()}, "other contract": {testSessionID(), otherContractID()}} {
		bad, err := NewClientSession(csec, c.id, c.contract, exp)
		if err != nil {
			t.Fatal(err)
		}
		e, _, _ := bad.SealRequest("get", nil)
		copy(e[2:], ws.id[:]) // address this session
		if _, err := ws.OpenRequest(e, testNow()); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	// Right keys, but the plaintext names another contract.
	wrong := &ClientSession{session: session{id: cs.id, contract: otherContractID(), expiry: cs.expiry, keys: cs.keys}}
	e, _, _ := wrong.SealRequest("get", nil)
	if _, err := ws.OpenRequest(e, testNow()); !errors.Is(err, ErrWrongContract) {
		t.Fatalf("other contract in the plaintext: %v", err)
	}
	// Another query's context yields another secret.
	_, qc2, _ := SealQuery(worker.PublicKey(), testQuery(), signer)
	s2, _ := qc2.SessionSecret()
	if bytes.Equal(s2, csec) {
		t.Fatal("two queries export the same session secret")
	}
	// Contexts rebuilt from secrets only (no HPKE context) refuse.
	if _, err := (&QueryContext{}).SessionSecret(); !errors.Is(err, ErrInvalidKey) {
		t.Fatal(err)
	}
	if _, err := (&ResponseSealer{}).SessionSecret(); !errors.Is(err, ErrInvalidKey) {
		t.Fatal(err)
	}
	if _, err := NewWorkerSession(csec[:16], testSessionID(), q.Caller, q.ContractID, exp); !errors.Is(err, ErrInvalidKey) {
		t.Fatal(err)
	}
}

func TestSessionTamperEveryByte(t *testing.T) {
	cs, ws := openTestSession(t, testNow().Add(time.Minute))
	env, counter, _ := cs.SealRequest("balance_of", []byte(`{"who":"x"}`))
	for i := range env {
		bad := flip(env, i, 0x01)
		if _, err := ws.OpenRequest(bad, testNow()); err == nil {
			t.Fatalf("request with byte %d flipped accepted", i)
		}
	}
	if _, err := ws.OpenRequest(env[:len(env)-1], testNow()); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := ws.OpenRequest(env[:20], testNow()); !errors.Is(err, ErrTruncated) {
		t.Fatalf("truncated header: %v", err)
	}
	// The intact request is still accepted: failures recorded nothing.
	r, err := ws.OpenRequest(env, testNow())
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := r.SealResponse([]byte(`{"ok":true}`))
	for i := range resp {
		if _, err := cs.OpenResponse(flip(resp, i, 0x01), counter); err == nil {
			t.Fatalf("response with byte %d flipped accepted", i)
		}
	}
	zero := bytes.Clone(env)
	clear(zero[18:26])
	if _, err := ws.OpenRequest(zero, testNow()); !errors.Is(err, ErrMalformed) {
		t.Fatalf("counter 0: %v", err)
	}
	big := make([]byte, sessionHeaderSize+maxSessionRequestPlaintext+gcmTagSize+1)
	copy(big, env[:sessionHeaderSize])
	if _, err := ws.OpenRequest(big, testNow()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	if _, err := r.SealResponse(make([]byte, MaxResponseSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized response: %v", err)
	}
	if _, _, err := cs.SealRequest("bad method", nil); !errors.Is(err, ErrInvalidMethod) {
		t.Fatal(err)
	}
	if _, _, err := cs.SealRequest("m", make([]byte, MaxQueryArgsSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
}

func TestSessionOversizedResponseFallback(t *testing.T) {
	cs, ws := openTestSession(t, testNow().Add(time.Minute))
	env, counter, _ := cs.SealRequest("get", nil)
	r, err := ws.OpenRequest(env, testNow())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.SealResponse(make([]byte, MaxResponseSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	resp, err := r.SealResponse([]byte("too large"))
	if err != nil {
		t.Fatalf("a refused oversized response blocked the fallback: %v", err)
	}
	if pt, err := cs.OpenResponse(resp, counter); err != nil || string(pt) != "too large" {
		t.Fatal(pt, err)
	}
}

func TestSessionCounterExhausted(t *testing.T) {
	cs, _ := openTestSession(t, testNow().Add(time.Minute))
	cs.last.Store(math.MaxUint64 - 1)
	if _, c, err := cs.SealRequest("get", nil); err != nil || c != math.MaxUint64 {
		t.Fatal(c, err)
	}
	if _, _, err := cs.SealRequest("get", nil); !errors.Is(err, ErrExpired) {
		t.Fatalf("counter wrapped: %v", err)
	}
}

func TestSessionFormatRedacts(t *testing.T) {
	cs, ws := openTestSession(t, testNow().Add(time.Minute))
	secrets := []string{hex.EncodeToString(ws.keys.reqKey[:]), hex.EncodeToString(ws.keys.respKey[:])}
	for _, v := range []any{cs, ws} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(out, s[:16]) {
					t.Fatalf("%s of %T prints a key: %s", verb, v, out)
				}
			}
		}
	}
}

// FuzzOpenSessionRequest feeds arbitrary requests to a worker session:
// no panic, and whatever it accepts decodes canonically.
func FuzzOpenSessionRequest(f *testing.F) {
	cs, ws := openTestSession(f, testNow().Add(time.Minute))
	for _, m := range []string{"get", "balance_of"} {
		env, _, err := cs.SealRequest(m, []byte(`{"a":1}`))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(env)
	}
	f.Add([]byte{1, 6})
	f.Fuzz(func(t *testing.T, env []byte) {
		r, err := ws.OpenRequest(env, testNow())
		if err != nil {
			return
		}
		pt, err := encodeSessionRequest(r.ContractID, r.Method, r.Args)
		if err != nil || len(pt) != len(env)-sessionHeaderSize-gcmTagSize {
			t.Fatalf("accepted request does not re-encode: %v", err)
		}
	})
}

// FuzzOpenSessionResponse feeds arbitrary responses to a client session.
func FuzzOpenSessionResponse(f *testing.F) {
	cs, ws := openTestSession(f, testNow().Add(time.Minute))
	env, counter, _ := cs.SealRequest("get", nil)
	r, err := ws.OpenRequest(env, testNow())
	if err != nil {
		f.Fatal(err)
	}
	resp, _ := r.SealResponse([]byte(`{"ok":true,"result":1}`))
	f.Add(resp)
	f.Add(env)
	f.Fuzz(func(t *testing.T, b []byte) {
		pt, err := cs.OpenResponse(b, counter)
		if err == nil && len(pt) != len(b)-sessionHeaderSize-gcmTagSize {
			t.Fatal("accepted response of inconsistent length")
		}
	})
}

func BenchmarkSessionRoundTrip(b *testing.B) {
	cs, ws := openTestSession(b, testNow().Add(time.Minute))
	resp := bytes.Repeat([]byte("r"), 64)
	b.ReportAllocs()
	for b.Loop() {
		env, c, err := cs.SealRequest("get_count", nil)
		if err != nil {
			b.Fatal(err)
		}
		r, err := ws.OpenRequest(env, testNow())
		if err != nil {
			b.Fatal(err)
		}
		out, err := r.SealResponse(resp)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cs.OpenResponse(out, c); err != nil {
			b.Fatal(err)
		}
	}
}
