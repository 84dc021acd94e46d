package executor

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/worker/answer"
)

// Query sessions (crypto/envelope session.go, docs/contracts.md
// "Sessions"): a caller opens one with a sealed query of method
// SessionMethod and then sends queries under it with SessionQuery, which
// costs the worker AES-GCM instead of an X-Wing decapsulation and a
// signature verification per query.

// SessionMethod is the sealed-query method that opens a query session.
// Arguments: {} (or none) or {"lifetime_s": n}; the answer's result is
// {"session": "<32 hex digits>", "expires": <Unix seconds>}.
const SessionMethod = answer.SessionMethod

// DefaultSessionTableSize is the default bound on open sessions (≈ 300
// bytes each, so ≈ 30 MB when full).
const DefaultSessionTableSize = 100_000

// ErrNoSession: the session query names a session this worker does not
// hold — never opened here (sessions are bound to their worker), evicted,
// expired, or lost in a restart. The client opens a new session. It is
// distinct from ErrBadEnvelope so that the client can be told to reopen
// rather than that its request is broken.
var ErrNoSession = errors.New("executor: unknown or expired query session")

// sessionTable holds the open sessions, bounded. Lookups take a read
// lock only; opening a session takes the write lock to insert and evict.
//
// Eviction is by expiry: expired sessions go first, and when the table is
// full of live ones the session closest to its expiry is dropped (and its
// keys wiped). Forgetting a session early is safe — its keys go with it,
// so nothing can be replayed under it — and costs its client one sealed
// query to reopen. Expiry order needs no bookkeeping on the query path,
// unlike LRU, whose move-to-front would serialize every query on the
// table's write lock.
type sessionTable struct {
	mu       sync.RWMutex
	capacity int
	byID     map[envelope.SessionID]*envelope.WorkerSession
	byExpiry sessionHeap
}

type sessionEntry struct {
	expiry int64
	id     envelope.SessionID
}

// sessionHeap is a min-heap of sessions by expiry.
type sessionHeap []sessionEntry

func (h sessionHeap) Len() int           { return len(h) }
func (h sessionHeap) Less(i, j int) bool { return h[i].expiry < h[j].expiry }
func (h sessionHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sessionHeap) Push(x any)        { *h = append(*h, x.(sessionEntry)) }
func (h *sessionHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

func newSessionTable(capacity int) *sessionTable {
	if capacity <= 0 {
		capacity = DefaultSessionTableSize
	}
	return &sessionTable{capacity: capacity, byID: map[envelope.SessionID]*envelope.WorkerSession{}}
}

// add inserts ws, first dropping expired sessions and, if still full, the
// one closest to expiry.
func (t *sessionTable) add(ws *envelope.WorkerSession, now time.Time) {
	n := now.Unix()
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.byExpiry) > 0 && (t.byExpiry[0].expiry <= n || len(t.byID) >= t.capacity) {
		e := heap.Pop(&t.byExpiry).(sessionEntry)
		if old := t.byID[e.id]; old != nil {
			old.Close()
			delete(t.byID, e.id)
		}
	}
	t.byID[ws.ID()] = ws
	heap.Push(&t.byExpiry, sessionEntry{expiry: ws.Expiry().Unix(), id: ws.ID()})
}

// get returns the session with id, or nil.
func (t *sessionTable) get(id envelope.SessionID) *envelope.WorkerSession {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.byID[id]
}

// Sessions returns the number of sessions held (including expired ones
// not yet evicted).
func (e *Executor) Sessions() int {
	e.sessions.mu.RLock()
	defer e.sessions.mu.RUnlock()
	return len(e.sessions.byID)
}

// sessionResult is the result of a SessionMethod query.
type sessionResult = answer.Session

// openSession answers a SessionMethod query: it checks the contract is
// ready here (so a client fails over to a replica at once rather than at
// its first session query), derives the session from the query's HPKE
// context, bound to its caller and contract, and returns the session id
// inside the sealed response — the only place it appears, so only the
// caller learns it.
func (e *Executor) openSession(q *envelope.VerifiedQuery, sealer *envelope.ResponseSealer, now time.Time) (Response, error) {
	c, refusal := e.lockReady(q.ContractID)
	if c == nil {
		return refusal, nil
	}
	c.mu.RUnlock()
	maxLife := int64(envelope.MaxQueryLifetime / time.Second)
	life := maxLife
	if len(bytes.TrimSpace(q.Args)) > 0 {
		var a struct {
			Lifetime *int64 `json:"lifetime_s"`
		}
		d := json.NewDecoder(bytes.NewReader(q.Args))
		d.DisallowUnknownFields()
		if err := d.Decode(&a); err != nil || d.More() || (a.Lifetime != nil && *a.Lifetime < 1) {
			return fail(CodeInvalid, `arguments must be {} or {"lifetime_s": n} with n ≥ 1`), nil
		}
		if a.Lifetime != nil {
			// Longer requests are cut to the maximum; the answer's
			// "expires" says what the client got.
			life = min(*a.Lifetime, maxLife)
		}
	}
	var id envelope.SessionID
	_, _ = rand.Read(id[:]) // never fails since Go 1.24
	secret, err := sealer.SessionSecret()
	if err != nil {
		return Response{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	expiry := time.Unix(now.Unix()+life, 0)
	ws, err := envelope.NewWorkerSession(secret, id, q.Caller, q.ContractID, expiry)
	clear(secret)
	if err != nil {
		return Response{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	e.sessions.add(ws, now)
	res, _ := json.Marshal(sessionResult{Session: hex.EncodeToString(id[:]), Expires: expiry.Unix()})
	return Response{OK: true, Result: res}, nil
}

// SessionQuery answers a query sent under a session with a response
// sealed under the session: the same answers as Query (contract calls as
// the session's caller, receipts with ReceiptMethod), without per-query
// public-key work. A request for a session this worker does not hold, or
// one that expired, is ErrNoSession (open a new one); a tampered,
// replayed or malformed request ErrBadEnvelope; a host failure
// ErrUnavailable.
func (e *Executor) SessionQuery(ctx context.Context, env []byte, now time.Time) ([]byte, error) {
	start := time.Now()
	outcome := "refused"
	defer func() {
		if e.metrics != nil {
			e.metrics.Query("session_"+outcome, time.Since(start))
		}
	}()
	id, _, err := envelope.ParseSessionRequest(env)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEnvelope, err)
	}
	ws := e.sessions.get(id)
	if ws == nil {
		outcome = "unknown"
		return nil, fmt.Errorf("%w: %w", ErrNoSession, envelope.ErrUnknownSession)
	}
	req, err := ws.OpenRequest(env, now)
	switch {
	case errors.Is(err, envelope.ErrUnknownSession), errors.Is(err, envelope.ErrExpired):
		outcome = "unknown"
		return nil, fmt.Errorf("%w: %w", ErrNoSession, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrBadEnvelope, err)
	}
	var resp Response
	if req.Method == SessionMethod {
		resp = fail(CodeInvalid, "sessions are opened with a sealed query, not inside a session")
	} else {
		q := &envelope.VerifiedQuery{Caller: ws.Caller(), ContractID: req.ContractID, Nonce: sessionQueryNonce(id, req.Counter),
			Method: req.Method, Args: req.Args}
		if resp, err = e.answer(ctx, q); err != nil {
			outcome = "unavailable"
			return nil, err
		}
	}
	outcome = answerOutcome(resp)
	return sealAnswer(resp, req.SealResponse)
}

// sessionQueryNonce stands in for a sealed query's random nonce where the
// query path needs one (the seed of the call's randomness): unique per
// (session, counter), and as unpredictable as the session id.
func sessionQueryNonce(id envelope.SessionID, counter uint64) [envelope.QueryNonceSize]byte {
	h := sha256.New()
	h.Write([]byte("veil/session-query-nonce/v1"))
	h.Write(id[:])
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], counter)
	h.Write(c[:])
	var sum [sha256.Size]byte
	return [envelope.QueryNonceSize]byte(h.Sum(sum[:0]))
}
