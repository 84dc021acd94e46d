package envelope

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/veil-network/veil/crypto/keys"
)

// Query sessions.
//
// A sealed query costs the worker an X-Wing decapsulation and a signature
// verification (≈ 250 µs of CPU together), which caps a core at a few
// thousand queries per second however cheap the contract call is. A query
// session pays that once: the caller opens it with an ordinary sealed,
// signed query (method "veil.session"), the worker answers with a random
// session id inside the sealed response, and both sides derive symmetric
// keys from the opening query's HPKE context. Later queries under the
// session are AES-256-GCM only.
//
// Why this is as strong as a sealed query:
//
//   - Confidentiality and integrity: only the caller (holder of the HPKE
//     sender context) and the worker (holder of the private key) can
//     export the session secret; the session id arrives inside the sealed
//     response, which only the caller can open.
//   - Caller authentication: the worker accepted the opening query
//     because the caller signed it (over the worker's key fingerprint, so
//     it is bound to this worker); every later request authenticates
//     under keys only that caller shares with this worker, so the worker
//     attributes it to the same caller.
//   - Binding: the keys are derived with the session id and the contract
//     id, so a session serves only the contract it was opened for
//     (requests naming another contract are ErrWrongContract) and a
//     session id from one worker is unknown at any other.
//   - Replays: every request carries a counter that must be new (see
//     SessionWindow); a response is sealed under a separate,
//     direction-specific key with the request's counter, so it can be
//     neither replayed as a request nor matched to another request.
//   - Nonce uniqueness: the AEAD nonce is a per-direction IV XOR the
//     counter. The client never reuses a counter; the worker seals at
//     most one response per accepted counter. A replayed opening query
//     (possible after a worker restart emptied its replay cache) yields a
//     new random session id and so new keys, never old (key, nonce)
//     pairs.
//
// Layout of a session request (KindSessionQuery) and response
// (KindSessionResponse):
//
//	0  1   version (FormatVersion)
//	1  1   kind (6 request, 7 response)
//	2  16  session id
//	18 8   counter (u64 BE, ≥ 1)
//	26 …   AES-256-GCM ciphertext, tag last; associated data = bytes 0..26
//
// The request plaintext is contract_id(32) || method_len(u16 BE) || method
// || args_len(u32 BE) || args, the encodings of the signed query's fields.
// The response plaintext is the same as a sealed query's.
//
// Key schedule:
//
//	secret  = HPKE Export(opening query context, "veil/query-session/v1", 32)
//	prk     = HKDF-Extract(salt = "veil/query-session/v1" || session_id, secret)
//	k_req   = HKDF-Expand(prk, "request key"   || contract_id, 32)
//	iv_req  = HKDF-Expand(prk, "request iv"    || contract_id, 12)
//	k_resp  = HKDF-Expand(prk, "response key"  || contract_id, 32)
//	iv_resp = HKDF-Expand(prk, "response iv"   || contract_id, 12)
//	nonce   = iv XOR (0x00000000 || counter)              (as TLS 1.3)

// SessionExportLabel is the HPKE exporter context of the session secret.
// It differs from ResponseExportLabel, so the session secret and the
// opening query's response secret are independent.
const SessionExportLabel = "veil/query-session/v1"

// SessionIDSize is the size of a session id, chosen at random by the
// worker.
const SessionIDSize = 16

// SessionWindow is how far below the highest accepted counter a request
// may still be accepted (once). Concurrent requests of one client can
// overtake each other on the way to the worker; a 64-counter window (one
// machine word of bitmap, as IPsec's anti-replay window) absorbs that
// without letting any counter be accepted twice. A request more than 64
// below the highest accepted counter is refused (ErrReplay): the client
// retries it with a new counter.
const SessionWindow = 64

// sessionHeaderSize is version(1) + kind(1) + session id(16) + counter(8).
const sessionHeaderSize = 2 + SessionIDSize + 8

// maxSessionRequestPlaintext is contract id + method and args with their
// lengths.
const maxSessionRequestPlaintext = ContractIDSize + 2 + MaxMethodSize + 4 + MaxQueryArgsSize

// ErrUnknownSession: the session id names no session this worker holds
// (never opened here, evicted, closed, or the worker restarted), or the
// message belongs to another session. The client opens a new session.
var ErrUnknownSession = errors.New("unknown query session")

// SessionID identifies a session at its worker.
type SessionID [SessionIDSize]byte

// sessionKeys are one session's raw keys. They are wiped on Close; an
// AEAD is built per message (≈ 0.3 µs), so no expanded key schedule
// outlives a request.
type sessionKeys struct {
	reqKey, respKey [aes256KeySize]byte
	reqIV, respIV   [gcmNonceSize]byte
}

func (k *sessionKeys) wipe() {
	clear(k.reqKey[:])
	clear(k.respKey[:])
	clear(k.reqIV[:])
	clear(k.respIV[:])
}

// cipher returns a copy of the keys of the direction whose messages are
// of kind (KindSessionQuery or KindSessionResponse).
func (k *sessionKeys) cipher(kind Kind) sessionCipher {
	if kind == KindSessionResponse {
		return sessionCipher{kind: kind, key: k.respKey, iv: k.respIV}
	}
	return sessionCipher{kind: kind, key: k.reqKey, iv: k.reqIV}
}

// deriveSessionKeys runs the key schedule above.
func deriveSessionKeys(secret []byte, id SessionID, contract [ContractIDSize]byte) (sessionKeys, error) {
	var k sessionKeys
	if len(secret) != aes256KeySize {
		return k, fmt.Errorf("%w: session secret of %d bytes, want %d", ErrInvalidKey, len(secret), aes256KeySize)
	}
	salt := make([]byte, 0, len(SessionExportLabel)+SessionIDSize)
	salt = append(append(salt, SessionExportLabel...), id[:]...)
	prk, err := hkdf.Extract(sha256.New, secret, salt)
	if err != nil {
		return k, fmt.Errorf("envelope: session extract: %w", err)
	}
	defer clear(prk)
	for _, o := range []struct {
		dst   []byte
		label string
	}{{k.reqKey[:], "request key"}, {k.reqIV[:], "request iv"}, {k.respKey[:], "response key"}, {k.respIV[:], "response iv"}} {
		b, err := hkdf.Expand(sha256.New, prk, o.label+string(contract[:]), len(o.dst))
		if err != nil {
			k.wipe()
			return k, fmt.Errorf("envelope: session %s: %w", o.label, err)
		}
		copy(o.dst, b)
		clear(b)
	}
	return k, nil
}

// sessionCipher is one message's copy of its direction's key and IV,
// taken under the session's lock so that the lock is never held while
// encrypting or decrypting. seal and open wipe it.
type sessionCipher struct {
	kind Kind
	key  [aes256KeySize]byte
	iv   [gcmNonceSize]byte
}

func (c *sessionCipher) wipe() {
	clear(c.key[:])
	clear(c.iv[:])
}

// aead returns AES-256-GCM under the key and the nonce of counter.
func (c *sessionCipher) aead(counter uint64) (cipher.AEAD, [gcmNonceSize]byte, error) {
	nonce := c.iv
	var ctr [8]byte
	binary.BigEndian.PutUint64(ctr[:], counter)
	subtle.XORBytes(nonce[gcmNonceSize-8:], nonce[gcmNonceSize-8:], ctr[:])
	aead, err := newGCM(c.key[:])
	if err != nil {
		return nil, nonce, fmt.Errorf("envelope: session cipher: %w", err)
	}
	return aead, nonce, nil
}

// seal encrypts pt as the message of session id with counter.
func (c *sessionCipher) seal(id SessionID, counter uint64, pt []byte) ([]byte, error) {
	defer c.wipe()
	aead, nonce, err := c.aead(counter)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, sessionHeaderSize+len(pt)+gcmTagSize)
	out = append(out, FormatVersion, byte(c.kind))
	out = append(out, id[:]...)
	out = binary.BigEndian.AppendUint64(out, counter)
	return aead.Seal(out, nonce[:], pt, out[:sessionHeaderSize]), nil
}

// open authenticates and decrypts msg, whose header parseSession checked
// and whose counter is counter.
func (c *sessionCipher) open(msg []byte, counter uint64) ([]byte, error) {
	defer c.wipe()
	aead, nonce, err := c.aead(counter)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce[:], msg[sessionHeaderSize:], msg[:sessionHeaderSize])
	if err != nil {
		what := "request"
		if c.kind == KindSessionResponse {
			what = "response"
		}
		return nil, fmt.Errorf("%w: session %s authentication failed", ErrDecrypt, what)
	}
	return pt, nil
}

// parseSession checks a session message's header and lengths (no key
// needed): version, kind, a non-zero counter, a tag present and a
// plaintext of at most maxPT bytes.
func parseSession(msg []byte, kind Kind, maxPT int) (SessionID, uint64, error) {
	if len(msg) < sessionHeaderSize+gcmTagSize {
		return SessionID{}, 0, fmt.Errorf("%w: %v of %d bytes, need at least %d", ErrTruncated, kind, len(msg), sessionHeaderSize+gcmTagSize)
	}
	if msg[0] != FormatVersion {
		return SessionID{}, 0, fmt.Errorf("%w %d (want %d)", ErrUnsupportedVersion, msg[0], FormatVersion)
	}
	if Kind(msg[1]) != kind {
		return SessionID{}, 0, fmt.Errorf("%w: got %v, want %v", ErrWrongKind, Kind(msg[1]), kind)
	}
	if n := len(msg) - sessionHeaderSize - gcmTagSize; n > maxPT {
		return SessionID{}, 0, fmt.Errorf("%w: %v plaintext of %d bytes exceeds %d", ErrTooLarge, kind, n, maxPT)
	}
	id := SessionID(msg[2 : 2+SessionIDSize])
	counter := binary.BigEndian.Uint64(msg[2+SessionIDSize : sessionHeaderSize])
	if counter == 0 {
		return SessionID{}, 0, fmt.Errorf("%w: session counter 0 (counters start at 1)", ErrMalformed)
	}
	return id, counter, nil
}

// ParseSessionRequest reads a session request's id and counter, checking
// its header and lengths but nothing that needs a key. A worker uses the
// id to find the session, then calls WorkerSession.OpenRequest.
func ParseSessionRequest(env []byte) (SessionID, uint64, error) {
	return parseSession(env, KindSessionQuery, maxSessionRequestPlaintext)
}

// encodeSessionRequest returns the request plaintext.
func encodeSessionRequest(contract [ContractIDSize]byte, method string, args []byte) ([]byte, error) {
	if err := checkMethodArgs(method, args, MaxQueryArgsSize); err != nil {
		return nil, err
	}
	out := make([]byte, 0, ContractIDSize+2+len(method)+4+len(args))
	out = append(out, contract[:]...)
	out = appendMethod(out, method)
	return appendArgs(out, args), nil
}

// SessionRequest is an authenticated, fresh request under a session. The
// caller is the session's (WorkerSession.Caller).
type SessionRequest struct {
	Counter    uint64
	ContractID [ContractIDSize]byte
	Method     string
	Args       []byte

	session *WorkerSession
	sealed  bool
}

// decodeSessionRequest decodes a request plaintext exactly.
func decodeSessionRequest(pt []byte) (*SessionRequest, error) {
	d := decoder{b: pt}
	var r SessionRequest
	copy(r.ContractID[:], d.bytes(ContractIDSize, "contract id"))
	r.Method = d.method()
	r.Args = d.args(MaxQueryArgsSize)
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the args", ErrMalformed, len(d.b))
	}
	return &r, nil
}

// SessionSecret exports the session secret of this query's HPKE context
// (SessionExportLabel). The client calls it after the worker's response
// to a "veil.session" query names the session id. The result is a secret:
// pass it to NewClientSession and clear it.
func (q *QueryContext) SessionSecret() ([]byte, error) {
	if q.sender == nil {
		return nil, fmt.Errorf("%w: query context without an HPKE context", ErrInvalidKey)
	}
	s, err := q.sender.Export(SessionExportLabel, aes256KeySize)
	if err != nil {
		return nil, fmt.Errorf("envelope: export session secret: %w", err)
	}
	return s, nil
}

// SessionSecret exports the session secret of the opened query's HPKE
// context, the worker's side of QueryContext.SessionSecret. The result is
// a secret: pass it to NewWorkerSession and clear it.
func (s *ResponseSealer) SessionSecret() ([]byte, error) {
	if s.recipient == nil {
		return nil, fmt.Errorf("%w: response sealer without an HPKE context", ErrInvalidKey)
	}
	sec, err := s.recipient.Export(SessionExportLabel, aes256KeySize)
	if err != nil {
		return nil, fmt.Errorf("envelope: export session secret: %w", err)
	}
	return sec, nil
}

// session is what both sides of a session hold: its id, contract and
// expiry, and its keys until Close.
type session struct {
	id       SessionID
	contract [ContractIDSize]byte
	expiry   int64 // Unix seconds

	mu     sync.Mutex // guards keys and closed (and WorkerSession's window)
	keys   sessionKeys
	closed bool
}

// ID returns the session id.
func (s *session) ID() SessionID { return s.id }

// ContractID returns the contract the session serves.
func (s *session) ContractID() [ContractIDSize]byte { return s.contract }

// Expiry returns when the session stops being accepted, by the worker's
// clock (the client holds the expiry the worker announced).
func (s *session) Expiry() time.Time { return time.Unix(s.expiry, 0) }

// Close wipes the session's keys; later calls fail with
// ErrUnknownSession. Messages being encrypted or decrypted finish with
// their copy of the keys.
func (s *session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys.wipe()
	s.closed = true
}

// format prints the session as name without its keys.
func (s *session) format(f fmt.State, name string) {
	fmt.Fprintf(f, "envelope.%s{id: %x, contract: %x, expiry: %d, keys: redacted}", name, s.id, s.contract[:8], s.expiry)
}

// checkID refuses a message of another session. (Ids travel in clear;
// they are compared in constant time all the same.)
func (s *session) checkID(id SessionID, kind Kind) error {
	if subtle.ConstantTimeCompare(id[:], s.id[:]) != 1 {
		return fmt.Errorf("%w: %v of session %x, this session is %x", ErrUnknownSession, kind, id[:4], s.id[:4])
	}
	return nil
}

// cipherLocked returns a copy of the keys for messages of kind, or
// ErrUnknownSession once the session is closed. s.mu is held.
func (s *session) cipherLocked(kind Kind) (sessionCipher, error) {
	if s.closed {
		return sessionCipher{}, fmt.Errorf("%w: session closed", ErrUnknownSession)
	}
	return s.keys.cipher(kind), nil
}

// cipher is cipherLocked under the lock.
func (s *session) cipher(kind Kind) (sessionCipher, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cipherLocked(kind)
}

// WorkerSession is the worker's side of a session: the keys, the caller
// who opened it, its contract, its expiry, and the replay window. It is
// safe for concurrent use; its mutex is held only to check and record
// counters and to copy keys, never while decrypting. Close wipes its keys.
type WorkerSession struct {
	session
	caller keys.PublicKey
	hi     uint64 // highest accepted counter (0: none yet)
	window uint64 // bit i: counter hi-i accepted
}

// NewWorkerSession derives a session's keys from secret (from
// ResponseSealer.SessionSecret of the opening query) for the session id
// the worker chose, the opening query's caller and contract, and the
// session's expiry. secret is not retained.
func NewWorkerSession(secret []byte, id SessionID, caller keys.PublicKey, contract [ContractIDSize]byte, expiry time.Time) (*WorkerSession, error) {
	k, err := deriveSessionKeys(secret, id, contract)
	if err != nil {
		return nil, err
	}
	return &WorkerSession{session: session{id: id, contract: contract, expiry: expiry.Unix(), keys: k}, caller: caller}, nil
}

// Format prints the session without its keys, whatever the verb.
func (s *WorkerSession) Format(f fmt.State, _ rune) { s.format(f, "WorkerSession") }

// Caller returns the account that signed the opening query: the caller
// of every query under the session.
func (s *WorkerSession) Caller() keys.PublicKey { return s.caller }

// checkLocked refuses a counter already accepted or too far below the
// highest accepted one to tell.
func (s *WorkerSession) checkLocked(counter uint64) error {
	if counter > s.hi {
		return nil
	}
	d := s.hi - counter
	if d >= SessionWindow {
		return fmt.Errorf("%w: session counter %d is more than %d below the highest accepted %d", ErrReplay, counter, SessionWindow, s.hi)
	}
	if s.window&(1<<d) != 0 {
		return fmt.Errorf("%w: session counter %d already accepted", ErrReplay, counter)
	}
	return nil
}

// acceptLocked records counter, which checkLocked allowed.
func (s *WorkerSession) acceptLocked(counter uint64) {
	if counter > s.hi {
		if shift := counter - s.hi; shift >= SessionWindow {
			s.window = 1
		} else {
			s.window = s.window<<shift | 1
		}
		s.hi = counter
		return
	}
	s.window |= 1 << (s.hi - counter)
}

// OpenRequest authenticates and decrypts a session request and records
// its counter. In order it checks: the header (version, kind, lengths,
// counter ≥ 1), the session id (ErrUnknownSession if another session's),
// expiry (now < expiry, else ErrExpired), the counter against the window
// (ErrReplay), decryption (ErrDecrypt), the encoding, and the contract id
// (ErrWrongContract). A counter is recorded only once the request
// authenticated, so a forger cannot move the window.
func (s *WorkerSession) OpenRequest(env []byte, now time.Time) (*SessionRequest, error) {
	id, counter, err := ParseSessionRequest(env)
	if err != nil {
		return nil, err
	}
	if err := s.checkID(id, KindSessionQuery); err != nil {
		return nil, err
	}
	if n := now.Unix(); n >= s.expiry {
		return nil, fmt.Errorf("%w: query session expired at %d, now %d", ErrExpired, s.expiry, n)
	}
	s.mu.Lock()
	c, err := s.cipherLocked(KindSessionQuery)
	if err == nil {
		err = s.checkLocked(counter)
	}
	s.mu.Unlock()
	if err != nil {
		c.wipe()
		return nil, err
	}
	pt, err := c.open(env, counter)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	// Checked again: a concurrent copy of this request may have been
	// accepted meanwhile, or the window moved past it.
	if err := s.checkLocked(counter); err != nil {
		s.mu.Unlock()
		clear(pt)
		return nil, err
	}
	s.acceptLocked(counter)
	s.mu.Unlock()

	r, err := decodeSessionRequest(pt)
	if err != nil {
		clear(pt)
		return nil, err
	}
	if r.ContractID != s.contract {
		clear(pt)
		return nil, fmt.Errorf("%w: session request names contract %x, the session serves %x", ErrWrongContract, r.ContractID[:8], s.contract[:8])
	}
	r.Counter = counter
	r.session = s
	return r, nil
}

// SealResponse encrypts the response to this request under the session's
// response key and the request's counter. It succeeds at most once per
// request, so the worker can never seal two responses under one (key,
// nonce); a response over MaxResponseSize fails before anything is
// encrypted, so a shorter error response may then be sealed instead. A
// SessionRequest is not safe for concurrent use.
func (r *SessionRequest) SealResponse(plaintext []byte) ([]byte, error) {
	if r.session == nil {
		return nil, fmt.Errorf("%w: request not opened by a session", ErrInvalidKey)
	}
	if len(plaintext) > MaxResponseSize {
		return nil, fmt.Errorf("%w: response of %d bytes, limit %d", ErrTooLarge, len(plaintext), MaxResponseSize)
	}
	if r.sealed {
		return nil, errors.New("envelope: session response already sealed for this request")
	}
	c, err := r.session.cipher(KindSessionResponse)
	if err != nil {
		return nil, err
	}
	out, err := c.seal(r.session.id, r.Counter, plaintext)
	if err != nil {
		return nil, err
	}
	r.sealed = true
	return out, nil
}

// ClientSession is the caller's side of a session. It hands out counters
// (safe for concurrent use) and opens responses. Close wipes its keys.
type ClientSession struct {
	session
	last atomic.Uint64 // last counter handed out
}

// NewClientSession derives the caller's side of a session from secret
// (QueryContext.SessionSecret of the opening query), the session id and
// expiry the worker returned, and the contract the opening query named.
// secret is not retained.
func NewClientSession(secret []byte, id SessionID, contract [ContractIDSize]byte, expiry time.Time) (*ClientSession, error) {
	k, err := deriveSessionKeys(secret, id, contract)
	if err != nil {
		return nil, err
	}
	return &ClientSession{session: session{id: id, contract: contract, expiry: expiry.Unix(), keys: k}}, nil
}

// Format prints the session without its keys, whatever the verb.
func (s *ClientSession) Format(f fmt.State, _ rune) { s.format(f, "ClientSession") }

// nextCounter hands out a fresh counter, never the same one twice (so
// the client never reuses an AEAD nonce), and fails once the counter
// space is exhausted rather than wrap.
func (s *ClientSession) nextCounter() (uint64, error) {
	for {
		c := s.last.Load()
		if c == math.MaxUint64 {
			return 0, fmt.Errorf("%w: query session counter exhausted; open a new session", ErrExpired)
		}
		if s.last.CompareAndSwap(c, c+1) {
			return c + 1, nil
		}
	}
}

// SealRequest encrypts a query of method with args to the session's
// contract. It returns the request and its counter, which OpenResponse
// needs.
func (s *ClientSession) SealRequest(method string, args []byte) ([]byte, uint64, error) {
	pt, err := encodeSessionRequest(s.contract, method, args)
	if err != nil {
		return nil, 0, err
	}
	defer clear(pt)
	c, err := s.cipher(KindSessionQuery)
	if err != nil {
		return nil, 0, err
	}
	counter, err := s.nextCounter()
	if err != nil {
		c.wipe()
		return nil, 0, err
	}
	out, err := c.seal(s.id, counter, pt)
	if err != nil {
		return nil, 0, err
	}
	return out, counter, nil
}

// OpenResponse decrypts the response to the request sent with counter.
// A response to another request or session, or a request reflected back,
// fails (ErrDecrypt, ErrWrongKind or ErrUnknownSession).
func (s *ClientSession) OpenResponse(resp []byte, counter uint64) ([]byte, error) {
	id, c, err := parseSession(resp, KindSessionResponse, MaxResponseSize)
	if err != nil {
		return nil, err
	}
	if err := s.checkID(id, KindSessionResponse); err != nil {
		return nil, err
	}
	if c != counter {
		return nil, fmt.Errorf("%w: response to request %d, expected %d", ErrDecrypt, c, counter)
	}
	sc, err := s.cipher(KindSessionResponse)
	if err != nil {
		return nil, err
	}
	return sc.open(resp, counter)
}
