package client

// Query sessions: many encrypted queries to one worker for the price of
// one sealed query (docs/envelopes.md "Query sessions"). A sealed query
// costs the worker an X-Wing decapsulation and a signature check
// (≈ 250 µs of CPU); a query under a session costs it AES-GCM only, so a
// client sending many queries to one contract should use a session.

import (
	"context"
	"crypto/hpke"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keys"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/worker/answer"
)

// QuerySessionMethod is the sealed-query method that opens a session.
const QuerySessionMethod = answer.SessionMethod

// sessionRenewMargin: a session this close to its expiry is replaced
// before use rather than risk the worker refusing it in flight.
const sessionRenewMargin = 5 * time.Second

// QuerySessionConfig says where and as whom a session queries.
type QuerySessionConfig struct {
	// Worker is the worker's ContractService.
	Worker workerv1connect.ContractServiceClient
	// WorkerKey is the worker's registered HPKE key, from the chain's
	// registry (never from the worker itself): the opening query is
	// sealed to it and signed over its fingerprint, which binds the
	// session to this worker.
	WorkerKey hpke.PublicKey
	// Signer is the caller of every query under the session.
	Signer keys.Signer
	// Contract is the only contract the session serves.
	Contract ContractID
	// Lifetime is the session lifetime to ask for (0 or more than
	// envelope.MaxQueryLifetime: the maximum, which the worker grants).
	Lifetime time.Duration
	// QueryLifetime is the expiry of the sealed opening query (default
	// 60 s, at most envelope.MaxQueryLifetime).
	QueryLifetime time.Duration
}

// QuerySession queries one contract on one worker as one signer under a
// query session, opening it on first use and opening a new one
// transparently when it expires or the worker no longer knows it (evicted,
// restarted). Safe for concurrent use; keep fewer than
// envelope.SessionWindow (64) queries of one session in flight, or the
// oldest may be refused as replays.
type QuerySession struct {
	cfg QuerySessionConfig
	// opening is a one-slot semaphore: one open at a time, and waiting
	// for it respects the caller's context.
	opening chan struct{}

	mu     sync.Mutex
	cur    *envelope.ClientSession
	closed bool
}

// NewQuerySession returns a session that opens on its first query.
func NewQuerySession(cfg QuerySessionConfig) (*QuerySession, error) {
	if cfg.Worker == nil || cfg.WorkerKey == nil || cfg.Signer == nil {
		return nil, errors.New("query session: worker, worker key and signer are required")
	}
	return &QuerySession{cfg: cfg, opening: make(chan struct{}, 1)}, nil
}

// OpenQuerySession opens a session now (one sealed query), so that
// failures such as a contract not ready on the worker show at once.
func OpenQuerySession(ctx context.Context, cfg QuerySessionConfig) (*QuerySession, error) {
	s, err := NewQuerySession(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Open(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Open opens a new session now, replacing the current one.
func (s *QuerySession) Open(ctx context.Context) error {
	select {
	case s.opening <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.opening }()
	_, err := s.openLocked(ctx)
	return err
}

// Expiry is the current session's expiry by the worker's clock (zero if
// none is open).
func (s *QuerySession) Expiry() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return time.Time{}
	}
	return s.cur.Expiry()
}

// Close wipes the current session's keys; later queries fail.
func (s *QuerySession) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur != nil {
		s.cur.Close()
		s.cur = nil
	}
	s.closed = true
}

// live returns the current session if it can still be used.
func (s *QuerySession) live() (*envelope.ClientSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("query session closed")
	}
	if s.cur != nil && time.Until(s.cur.Expiry()) > sessionRenewMargin {
		return s.cur, nil
	}
	return nil, nil
}

// session returns a live session, opening one if needed.
func (s *QuerySession) session(ctx context.Context) (*envelope.ClientSession, error) {
	if cur, err := s.live(); cur != nil || err != nil {
		return cur, err
	}
	select {
	case s.opening <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.opening }()
	if cur, err := s.live(); cur != nil || err != nil {
		return cur, err // another goroutine opened one meanwhile
	}
	return s.openLocked(ctx)
}

// drop forgets cur if it is still the current session. It does not wipe
// it: queries in flight under it still need its keys to read their
// answers; the keys go with the garbage collector.
func (s *QuerySession) drop(cur *envelope.ClientSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == cur {
		s.cur = nil
	}
}

// openLocked runs the opening sealed query. Callers hold s.opening.
func (s *QuerySession) openLocked(ctx context.Context) (*envelope.ClientSession, error) {
	args := []byte("{}")
	if l := s.cfg.Lifetime; l > 0 && l < envelope.MaxQueryLifetime {
		args = fmt.Appendf(nil, `{"lifetime_s":%d}`, max(int64(l/time.Second), 1))
	}
	env, qctx, err := envelope.SealQuery(s.cfg.WorkerKey, envelope.QueryRequest{ContractID: s.cfg.Contract, Method: QuerySessionMethod,
		Args: args, Expiry: time.Now().Add(queryLifetime(s.cfg.QueryLifetime))}, s.cfg.Signer)
	if err != nil {
		return nil, fmt.Errorf("open query session: seal: %w", err)
	}
	resp, err := s.cfg.Worker.Query(ctx, connect.NewRequest(&workerv1.ContractQueryRequest{Envelope: env}))
	if err != nil {
		return nil, fmt.Errorf("open query session: %w", err)
	}
	pt, err := qctx.OpenResponse(resp.Msg.GetResponse())
	if err != nil {
		return nil, fmt.Errorf("open query session: open response: %w", err)
	}
	raw, err := answer.Decode(pt)
	if err != nil {
		return nil, err // a *ContractError, e.g. not_ready
	}
	var r answer.Session
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("open query session: malformed answer: %w", err)
	}
	id, err := hex.DecodeString(r.Session)
	if err != nil || len(id) != envelope.SessionIDSize || r.Expires <= 0 {
		return nil, fmt.Errorf("open query session: malformed answer (session %q, expires %d)", r.Session, r.Expires)
	}
	secret, err := qctx.SessionSecret()
	if err != nil {
		return nil, fmt.Errorf("open query session: %w", err)
	}
	defer clear(secret)
	cs, err := envelope.NewClientSession(secret, envelope.SessionID(id), s.cfg.Contract, time.Unix(r.Expires, 0))
	if err != nil {
		return nil, fmt.Errorf("open query session: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		cs.Close()
		return nil, errors.New("query session closed")
	}
	s.cur = cs
	return cs, nil
}

// Query runs a read-only method under the session, as the signer. The
// result and the errors are those of Contracts.Query: the method's JSON
// (null when it returns nothing), a *ContractError for a refusal by the
// contract, other errors for transport failures. A session the worker
// no longer holds (gRPC/Connect NotFound) or an exhausted one is
// replaced and the query sent once more.
func (s *QuerySession) Query(ctx context.Context, method string, args []byte) (json.RawMessage, error) {
	for attempt := 0; ; attempt++ {
		cur, err := s.session(ctx)
		if err != nil {
			return nil, err
		}
		env, counter, err := cur.SealRequest(method, args)
		if err != nil {
			if errors.Is(err, envelope.ErrExpired) && attempt == 0 { // counter space exhausted
				s.drop(cur)
				continue
			}
			return nil, fmt.Errorf("session query: seal: %w", err)
		}
		resp, err := s.cfg.Worker.SessionQuery(ctx, connect.NewRequest(&workerv1.SessionQueryRequest{Envelope: env}))
		if err != nil {
			if connect.CodeOf(err) == connect.CodeNotFound && attempt == 0 {
				// Unauthenticated, so possibly forged — but reopening
				// costs only a sealed query, and the new session is as
				// safe as the old.
				s.drop(cur)
				continue
			}
			return nil, fmt.Errorf("session query: %w", err)
		}
		pt, err := cur.OpenResponse(resp.Msg.GetResponse(), counter)
		if err != nil {
			return nil, fmt.Errorf("session query: open response: %w", err)
		}
		return answer.Decode(pt)
	}
}

// QuerySessions caches one QuerySession per (signer, worker, contract),
// for a client that queries repeatedly (Contracts.query). The zero value
// is ready to use; safe for concurrent use.
type QuerySessions struct {
	// Max bounds the cached sessions (default 1024); past it the cache
	// is emptied and refilled as needed (a session costs one sealed
	// query to reopen).
	Max int

	mu sync.Mutex
	m  map[querySessionKey]*QuerySession
}

type querySessionKey struct {
	signer   keys.PublicKey
	worker   string // identity, lower-case hex
	contract ContractID
}

// Get returns the cached session for cfg's signer and contract at the
// worker with identity workerIdentity (hex), creating it (unopened) if
// needed. cfg.Worker and cfg.WorkerKey must be that worker's.
func (c *QuerySessions) Get(workerIdentity string, cfg QuerySessionConfig) (*QuerySession, error) {
	if cfg.Signer == nil {
		return nil, errors.New("query session: signer is required")
	}
	k := querySessionKey{signer: cfg.Signer.Public(), worker: normHex(workerIdentity), contract: cfg.Contract}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.m[k]; s != nil {
		return s, nil
	}
	s, err := NewQuerySession(cfg)
	if err != nil {
		return nil, err
	}
	limit := c.Max
	if limit <= 0 {
		limit = 1024
	}
	if c.m == nil || len(c.m) >= limit {
		// Not closed: a goroutine may be querying under one of them;
		// the dropped sessions stay usable by their holders.
		c.m = map[querySessionKey]*QuerySession{}
	}
	c.m[k] = s
	return s, nil
}

// Query runs method under the cached session for (cfg.Signer,
// workerIdentity, cfg.Contract).
func (c *QuerySessions) Query(ctx context.Context, workerIdentity string, cfg QuerySessionConfig, method string, args []byte) (json.RawMessage, error) {
	s, err := c.Get(workerIdentity, cfg)
	if err != nil {
		return nil, err
	}
	return s.Query(ctx, method, args)
}

// Close closes every cached session.
func (c *QuerySessions) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m = nil
}
