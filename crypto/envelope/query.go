package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hpke"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/veil-network/veil/crypto/keys"
)

// Domain strings of queries.
const (
	// QueryDomain prefixes the message a caller signs for a query:
	// QueryDomain || SHA-256(worker HPKE public key) || canonical request.
	QueryDomain = "veil/query-request/v1\x00"
	// QueryInfo is the HPKE info of queries.
	QueryInfo = "veil/query/v1"
	// ResponseExportLabel is the HPKE exporter context of the response
	// secret.
	ResponseExportLabel = "veil/query-response/v1"
)

// MaxQueryLifetime is the furthest ahead a query's expiry may be. It is
// the window a worker must remember nonces for (ReplayCache), so it bounds
// that memory; ten minutes covers clock skew and slow links with room.
const MaxQueryLifetime = 10 * time.Minute

// ResponseNonceSize is the size of the random nonce a worker puts in front
// of each response, max(Nn, Nk) of AES-256-GCM as in Oblivious HTTP.
const ResponseNonceSize = 32

// queryFixedSize is scheme(1) + caller(32) + contract(32) + nonce(16) +
// expiry(8) + method length(2) + args length(4).
const queryFixedSize = 1 + accountSize + ContractIDSize + QueryNonceSize + 8 + 2 + 4

const maxQueryPlaintext = queryFixedSize + MaxMethodSize + MaxQueryArgsSize + signatureSize

// responseHeaderSize is version(1) + kind(1) + response nonce.
const responseHeaderSize = 2 + ResponseNonceSize

// QueryRequest is a read-only call as the client writes it. SealQuery adds
// the caller (from the signer) and a fresh nonce.
type QueryRequest struct {
	ContractID [ContractIDSize]byte
	Method     string
	Args       []byte
	// Expiry is when the worker must stop accepting the request, in
	// whole Unix seconds (sub-second parts are dropped). It must be at
	// most MaxQueryLifetime after the worker's clock.
	Expiry time.Time
}

// VerifiedQuery is a query whose envelope decrypted, whose signature
// verified and whose expiry is within the window. Its nonce has NOT been
// checked against replays: pass it to a ReplayCache.
type VerifiedQuery struct {
	Caller     keys.PublicKey
	ContractID [ContractIDSize]byte
	Nonce      [QueryNonceSize]byte
	Expiry     time.Time
	Method     string
	Args       []byte
	Signature  []byte
	// Encoded is the canonical request encoding that was signed.
	Encoded []byte
}

// EncodeQuery returns the canonical encoding of a query request:
//
//	scheme(1) caller(32) contract_id(32) nonce(16) expiry(u64 BE, Unix s)
//	method_len(u16 BE) method args_len(u32 BE) args
func EncodeQuery(caller keys.PublicKey, req QueryRequest, nonce [QueryNonceSize]byte) ([]byte, error) {
	if err := checkMethodArgs(req.Method, req.Args, MaxQueryArgsSize); err != nil {
		return nil, err
	}
	exp := req.Expiry.Unix()
	if req.Expiry.IsZero() || exp <= 0 {
		return nil, fmt.Errorf("%w: expiry not set", ErrExpired)
	}
	out := make([]byte, 0, queryFixedSize+len(req.Method)+len(req.Args)+signatureSize)
	out, err := appendCaller(out, caller)
	if err != nil {
		return nil, err
	}
	out = append(out, req.ContractID[:]...)
	out = append(out, nonce[:]...)
	out = binary.BigEndian.AppendUint64(out, uint64(exp))
	out = appendMethod(out, req.Method)
	return appendArgs(out, req.Args), nil
}

// QuerySigningMessage returns the message a caller signs: QueryDomain ||
// SHA-256(worker HPKE public key) || encoded. Binding the worker's key
// means a worker that decrypts a request cannot re-seal it to another
// worker and have that one answer on the caller's behalf.
func QuerySigningMessage(workerFingerprint [32]byte, encoded []byte) []byte {
	m := make([]byte, 0, len(QueryDomain)+len(workerFingerprint)+len(encoded))
	m = append(m, QueryDomain...)
	m = append(m, workerFingerprint[:]...)
	return append(m, encoded...)
}

// QueryContext is the client's state for one query: what it needs to open
// the response. Keep it until the response arrives; it holds a secret.
type QueryContext struct {
	secret []byte // exported response secret
	enc    []byte
	// sender is kept so that SessionSecret can export on demand: a
	// query that never opens a session pays nothing for it.
	sender *hpke.Sender
	nonce  [QueryNonceSize]byte
	expiry time.Time
}

// Format prints the context without its secret, whatever the verb, so a
// logged QueryContext cannot leak the response key.
func (q QueryContext) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "envelope.QueryContext{nonce: %x, expiry: %d, secret: redacted}", q.nonce, q.expiry.Unix())
}

// Nonce returns the request's nonce.
func (q *QueryContext) Nonce() [QueryNonceSize]byte { return q.nonce }

// Expiry returns the request's expiry.
func (q *QueryContext) Expiry() time.Time { return q.expiry }

// SealQuery signs req with signer, adding a fresh random 16-byte nonce,
// and seals it to the worker's registered HPKE key. It returns the
// envelope and the context that opens the response.
func SealQuery(workerPub hpke.PublicKey, req QueryRequest, signer keys.Signer) ([]byte, *QueryContext, error) {
	if signer == nil {
		return nil, nil, fmt.Errorf("%w: nil signer", ErrInvalidKey)
	}
	fp, err := recipientFingerprint(workerPub)
	if err != nil {
		return nil, nil, err
	}
	var nonce [QueryNonceSize]byte
	_, _ = rand.Read(nonce[:]) // never fails since Go 1.24
	enc, err := EncodeQuery(signer.Public(), req, nonce)
	if err != nil {
		return nil, nil, err
	}
	pt, err := signedPlaintext(signer, "query", enc, QuerySigningMessage(fp, enc))
	if err != nil {
		return nil, nil, err
	}
	defer clear(pt)
	s, err := seal(workerPub, fp, KindQuery, []byte(QueryInfo), pt)
	if err != nil {
		return nil, nil, err
	}
	secret, err := s.sender.Export(ResponseExportLabel, aes256KeySize)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: export response secret: %w", err)
	}
	// enc is copied: the caller owns the envelope and may reuse its buffer.
	return s.env, &QueryContext{secret: secret, enc: bytes.Clone(s.enc), sender: s.sender, nonce: nonce, expiry: time.Unix(req.Expiry.Unix(), 0)}, nil
}

// ResponseSealer seals a worker's response(s) to one query, so that only
// the requester can read them.
type ResponseSealer struct {
	secret []byte
	enc    []byte
	// recipient is kept so that SessionSecret can export on demand.
	recipient *hpke.Recipient
}

// Format prints the sealer without its secret, whatever the verb.
func (s ResponseSealer) Format(f fmt.State, _ rune) {
	fmt.Fprint(f, "envelope.ResponseSealer{secret: redacted}")
}

// OpenQuery opens a query envelope with the worker's HPKE private key and
// checks, in order: the header (version, kind, suite, key id), decryption,
// the encoding, the expiry window (now < expiry <= now+MaxQueryLifetime)
// and the caller's signature over the request and this worker's key. It
// returns the request and the sealer for its response. The caller must
// then reject replays: ReplayCache.Add(q, now).
func OpenQuery(workerPriv hpke.PrivateKey, env []byte, now time.Time) (*VerifiedQuery, *ResponseSealer, error) {
	o, err := open(workerPriv, KindQuery, []byte(QueryInfo), env, maxQueryPlaintext)
	if err != nil {
		return nil, nil, err
	}
	q, caller, err := decodeSignedQuery(o.pt)
	if err != nil {
		return nil, nil, err
	}
	if err := checkExpiry(q.Expiry, now); err != nil {
		return nil, nil, err
	}
	if !caller.Verify(QuerySigningMessage(o.fingerprint, q.Encoded), q.Signature) {
		return nil, nil, fmt.Errorf("%w: query by %v", ErrBadSignature, q.Caller)
	}
	secret, err := o.recipient.Export(ResponseExportLabel, aes256KeySize)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: export response secret: %w", err)
	}
	// enc is copied: the caller owns the envelope and may reuse its buffer.
	return q, &ResponseSealer{secret: secret, enc: bytes.Clone(o.enc), recipient: o.recipient}, nil
}

// checkExpiry enforces now < expiry <= now + MaxQueryLifetime, in whole
// seconds (the wire resolution).
func checkExpiry(expiry, now time.Time) error {
	e, n := expiry.Unix(), now.Unix()
	if e <= n {
		return fmt.Errorf("%w: expiry %d, now %d", ErrExpired, e, n)
	}
	if e-n > int64(MaxQueryLifetime/time.Second) {
		return fmt.Errorf("%w: expiry %d is %ds ahead, limit %ds", ErrExpiryTooFar, e, e-n, int64(MaxQueryLifetime/time.Second))
	}
	return nil
}

// DecodeSignedQuery decodes a query plaintext (canonical request ||
// 64-byte signature) without verifying the signature or the expiry.
func DecodeSignedQuery(pt []byte) (*VerifiedQuery, error) {
	q, _, err := decodeSignedQuery(pt)
	return q, err
}

// decodeSignedQuery is DecodeSignedQuery also returning the parsed caller
// key, which OpenQuery verifies the signature with.
func decodeSignedQuery(pt []byte) (*VerifiedQuery, keys.VerifyingKey, error) {
	d := decoder{b: pt}
	var q VerifiedQuery
	caller := d.caller()
	q.Caller = caller.Public()
	copy(q.ContractID[:], d.bytes(ContractIDSize, "contract id"))
	copy(q.Nonce[:], d.bytes(QueryNonceSize, "nonce"))
	exp := d.u64("expiry")
	q.Method = d.method()
	q.Args = d.args(MaxQueryArgsSize)
	q.Signature = d.bytes(signatureSize, "signature")
	if d.err != nil {
		return nil, keys.VerifyingKey{}, d.err
	}
	if len(d.b) != 0 {
		return nil, keys.VerifyingKey{}, fmt.Errorf("%w: %d trailing bytes after the signature", ErrMalformed, len(d.b))
	}
	if exp == 0 || exp > math.MaxInt64 {
		return nil, keys.VerifyingKey{}, fmt.Errorf("%w: expiry %d out of range", ErrMalformed, exp)
	}
	q.Expiry = time.Unix(int64(exp), 0)
	q.Encoded = pt[: len(pt)-signatureSize : len(pt)-signatureSize]
	return &q, caller, nil
}

// Response layout:
//
//	0  1   version (FormatVersion)
//	1  1   kind (KindResponse)
//	2  32  response nonce (random)
//	34 …   AES-256-GCM ciphertext, tag last; associated data = bytes 0..2
//
// Key schedule (Oblivious HTTP, RFC 9458 §4.4, with Veil's labels):
//
//	secret = Export("veil/query-response/v1", 32)
//	prk    = HKDF-Extract(salt = enc || response_nonce, secret)
//	key    = HKDF-Expand(prk, "key", 32)
//	nonce  = HKDF-Expand(prk, "nonce", 12)
//
// The random response nonce makes every response's (key, nonce) pair
// fresh even if a worker answers the same request twice — for instance a
// replay after a restart emptied its ReplayCache — so AES-GCM's nonce is
// never reused under one key.

// responseAEAD derives the AEAD and nonce of one response.
func responseAEAD(secret, enc, responseNonce []byte) (cipher.AEAD, []byte, error) {
	salt := make([]byte, 0, len(enc)+len(responseNonce))
	salt = append(append(salt, enc...), responseNonce...)
	prk, err := hkdf.Extract(sha256.New, secret, salt)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: response extract: %w", err)
	}
	defer clear(prk)
	key, err := hkdf.Expand(sha256.New, prk, "key", aes256KeySize)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: response key: %w", err)
	}
	defer clear(key)
	nonce, err := hkdf.Expand(sha256.New, prk, "nonce", gcmNonceSize)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: response nonce: %w", err)
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, nil, fmt.Errorf("envelope: response cipher: %w", err)
	}
	return aead, nonce, nil
}

// newGCM returns AES-256-GCM under key: the AEAD of responses and
// session messages.
func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Seal encrypts a response for the requester.
func (s *ResponseSealer) Seal(plaintext []byte) ([]byte, error) {
	if len(plaintext) > MaxResponseSize {
		return nil, fmt.Errorf("%w: response of %d bytes, limit %d", ErrTooLarge, len(plaintext), MaxResponseSize)
	}
	out := make([]byte, responseHeaderSize, responseHeaderSize+len(plaintext)+gcmTagSize)
	out[0] = FormatVersion
	out[1] = byte(KindResponse)
	_, _ = rand.Read(out[2:responseHeaderSize]) // never fails since Go 1.24
	aead, nonce, err := responseAEAD(s.secret, s.enc, out[2:responseHeaderSize])
	if err != nil {
		return nil, err
	}
	return aead.Seal(out, nonce, plaintext, out[:2]), nil
}

// OpenResponse decrypts a response to this query.
func (q *QueryContext) OpenResponse(resp []byte) ([]byte, error) {
	if len(resp) < responseHeaderSize+gcmTagSize {
		return nil, fmt.Errorf("%w: response of %d bytes, need at least %d", ErrTruncated, len(resp), responseHeaderSize+gcmTagSize)
	}
	if n := len(resp) - responseHeaderSize - gcmTagSize; n > MaxResponseSize {
		return nil, fmt.Errorf("%w: response of %d bytes, limit %d", ErrTooLarge, n, MaxResponseSize)
	}
	if resp[0] != FormatVersion {
		return nil, fmt.Errorf("%w %d (want %d)", ErrUnsupportedVersion, resp[0], FormatVersion)
	}
	if Kind(resp[1]) != KindResponse {
		return nil, fmt.Errorf("%w: got %v, want %v", ErrWrongKind, Kind(resp[1]), KindResponse)
	}
	aead, nonce, err := responseAEAD(q.secret, q.enc, resp[2:responseHeaderSize])
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, nonce, resp[responseHeaderSize:], resp[:2])
	if err != nil {
		return nil, fmt.Errorf("%w: response authentication failed", ErrDecrypt)
	}
	return pt, nil
}
