// Package envelope implements Veil's end-to-end encryption layer (decision 8
// of the architecture brief): HPKE (RFC 9180) base mode with the suite
// X-Wing (ML-KEM-768 + X25519) / HKDF-SHA256 / AES-256-GCM, used for
//
//   - commands: a caller's signed contract call, sealed to the contract's
//     HPKE key and carried on chain in a PushCommand transaction
//     (SealCommand, OpenCommand, NonceTracker);
//   - queries: a caller's signed, expiring request sealed to a worker's
//     registered HPKE key, answered with a response sealed under a key
//     exported from the request's HPKE context, as Oblivious HTTP does
//     (SealQuery, OpenQuery, QueryContext, ResponseSealer, ReplayCache).
//
// Envelopes use a fixed binary layout (not protobuf) so that the bytes that
// are authenticated are exactly the bytes on the wire, there is one
// encoding per message, and the browser SDK needs no protobuf runtime to
// build one. Every envelope records its HPKE suite ids so that the suite can
// change later; an envelope naming a suite this version does not implement
// is rejected with ErrUnknownSuite. docs/envelopes.md specifies every byte
// and docs/vectors/envelopes.json holds interoperability vectors.
//
// Randomness: sealing draws the HPKE ephemeral secrets, the query nonce
// and the response nonce from the Go runtime's CSPRNG, and the functions
// take no io.Reader. Since Go 1.26 the crypto packages ignore
// caller-supplied readers (outside the cryptocustomrand GODEBUG), so such
// an argument could not make sealing deterministic and would only mislead;
// tests obtain reproducible ciphertexts with
// testing/cryptotest.SetGlobalRandom instead.
package envelope

import (
	"crypto/hpke"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// FormatVersion is the envelope layout version (byte 0 of every envelope
// and response).
const FormatVersion = 1

// Kind says what an envelope carries. It is part of the authenticated
// header so that a query can never be accepted as a command or the reverse.
type Kind uint8

// The envelope kinds.
const (
	KindCommand  Kind = 1
	KindQuery    Kind = 2
	KindResponse Kind = 3
	// KindMasterKeyHandover carries a gatekeeper's master-key history,
	// sealed to another gatekeeper's registered key (delivery.go).
	KindMasterKeyHandover Kind = 4
	// KindContractKey carries a contract's secrets, sealed to an assigned
	// worker's registered key (delivery.go).
	KindContractKey Kind = 5
	// KindSessionQuery is a query under a query session (session.go).
	KindSessionQuery Kind = 6
	// KindSessionResponse answers a KindSessionQuery.
	KindSessionResponse Kind = 7
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case KindCommand:
		return "command"
	case KindQuery:
		return "query"
	case KindResponse:
		return "response"
	case KindMasterKeyHandover:
		return "master-key-handover"
	case KindContractKey:
		return "contract-key"
	case KindSessionQuery:
		return "session-query"
	case KindSessionResponse:
		return "session-response"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// hpkeEnvelope reports whether envelopes of kind k use the HPKE envelope
// layout (every kind but the response, which is sealed under an exported
// key, and the session kinds, sealed under session keys).
func (k Kind) hpkeEnvelope() bool {
	switch k {
	case KindCommand, KindQuery, KindMasterKeyHandover, KindContractKey:
		return true
	}
	return false
}

// HPKE algorithm identifiers (RFC 9180 registry; X-Wing from
// draft-ietf-hpke-pq).
const (
	KEMXWing        uint16 = 0x647A
	KDFHKDFSHA256   uint16 = 0x0001
	AEADAES256GCM   uint16 = 0x0002
	xwingEncSize           = 1120 // ML-KEM-768 ciphertext (1088) + X25519 point (32)
	xwingPublicSize        = 1216 // ML-KEM-768 encapsulation key (1184) + X25519 point (32)
	gcmTagSize             = 16
	gcmNonceSize           = 12
	aes256KeySize          = 32
)

// Suite is an HPKE ciphersuite: KEM, KDF and AEAD ids.
type Suite struct {
	KEM, KDF, AEAD uint16
}

// DefaultSuite is the suite every envelope is sealed with today: X-Wing,
// HKDF-SHA256, AES-256-GCM (decision 8). X-Wing because command
// ciphertexts stay public on chain forever and must survive a future
// quantum computer; the X25519 half keeps classical security should
// ML-KEM fall.
func DefaultSuite() Suite { return Suite{KEM: KEMXWing, KDF: KDFHKDFSHA256, AEAD: AEADAES256GCM} }

// String prints the ids in hex.
func (s Suite) String() string {
	return fmt.Sprintf("(kem 0x%04x, kdf 0x%04x, aead 0x%04x)", s.KEM, s.KDF, s.AEAD)
}

// suiteParams are the implementations of a supported suite.
type suiteParams struct {
	kdf     hpke.KDF
	aead    hpke.AEAD
	encSize int
}

// params resolves a suite. Only DefaultSuite is implemented; a new suite is
// added here (and in the docs) as one more case.
func (s Suite) params() (suiteParams, error) {
	if s == DefaultSuite() {
		return suiteParams{kdf: hpke.HKDFSHA256(), aead: hpke.AES256GCM(), encSize: xwingEncSize}, nil
	}
	return suiteParams{}, fmt.Errorf("%w %v (supported: %v)", ErrUnknownSuite, s, DefaultSuite())
}

// Errors returned (wrapped) by this package; test with errors.Is. Error
// texts never contain plaintext or key material.
var (
	// ErrTruncated: the envelope ends before its fixed parts do.
	ErrTruncated = errors.New("envelope truncated")
	// ErrTooLarge: the envelope, or a field in it, exceeds its limit.
	ErrTooLarge = errors.New("envelope or field too large")
	// ErrUnsupportedVersion: byte 0 is not FormatVersion.
	ErrUnsupportedVersion = errors.New("unsupported envelope format version")
	// ErrWrongKind: a query where a command was expected, or the reverse.
	ErrWrongKind = errors.New("wrong envelope kind")
	// ErrUnknownSuite: the envelope (or key) names an HPKE suite this
	// version does not implement.
	ErrUnknownSuite = errors.New("unknown HPKE suite")
	// ErrWrongRecipient: the envelope was sealed to another key.
	ErrWrongRecipient = errors.New("envelope sealed to another recipient key")
	// ErrDecrypt: HPKE decryption failed — the ciphertext, encapsulated
	// key or header was modified, or the context (contract id) differs.
	ErrDecrypt = errors.New("envelope decryption failed")
	// ErrMalformed: the header or the decrypted plaintext is not a valid
	// encoding (bad lengths, unknown scheme, trailing bytes).
	ErrMalformed = errors.New("malformed envelope")
	// ErrInvalidMethod: the method name is empty or not printable ASCII.
	ErrInvalidMethod = errors.New("invalid method name")
	// ErrBadSignature: the caller's signature does not verify.
	ErrBadSignature = errors.New("bad caller signature")
	// ErrWrongContract: the signed call names another contract than the
	// one opening it.
	ErrWrongContract = errors.New("call is for another contract")
	// ErrExpired: the query's expiry has passed.
	ErrExpired = errors.New("query expired")
	// ErrExpiryTooFar: the query's expiry is further ahead than
	// MaxQueryLifetime.
	ErrExpiryTooFar = errors.New("query expiry too far in the future")
	// ErrReplay: the command nonce is not above the caller's last one, or
	// the query nonce was already seen.
	ErrReplay = errors.New("replayed request")
	// ErrReplayCacheFull: the replay cache holds Capacity unexpired
	// nonces; the request is refused rather than risk forgetting one.
	ErrReplayCacheFull = errors.New("replay cache full")
	// ErrInvalidKey: a public or private key argument is unusable.
	ErrInvalidKey = errors.New("invalid key")
)

// Fixed layout of the envelope header (see docs/envelopes.md):
//
//	0   1  version (FormatVersion)
//	1   1  kind
//	2   2  KEM id   (big-endian)
//	4   2  KDF id   (big-endian)
//	6   2  AEAD id  (big-endian)
//	8   8  key id: SHA-256(recipient public key)[0:8]
//	16  2  enc length (big-endian), must equal the KEM's Nenc
//	18  …  enc, then the HPKE ciphertext (AEAD output, tag last)
//
// Bytes 0..18 are the AEAD associated data, so every header field is
// authenticated (the suite ids are also bound by HPKE's key schedule).
const (
	headerSize = 18
	// KeyIDSize is the size of the recipient key id in the header.
	KeyIDSize = 8
)

// Header is the clear part of an envelope.
type Header struct {
	Version uint8
	Kind    Kind
	Suite   Suite
	// KeyID names the recipient key: the first 8 bytes of SHA-256 of its
	// serialized public key. It lets a recipient holding several keys (a
	// contract's keys of several master-key epochs) pick the right one,
	// and makes "sealed to another key" a specific error instead of a
	// decryption failure. It reveals only which key, which the transport
	// (the PushCommand's contract, the worker addressed) reveals anyway.
	KeyID [KeyIDSize]byte
	// EncSize is the declared length of the encapsulated key.
	EncSize uint16
}

// ParseHeader decodes and checks an envelope's header: version, a known
// kind, a supported suite, and an enc length matching the suite. It does
// not need a key, so a router or a node can inspect an envelope (e.g. to
// pick a key by KeyID) before decrypting.
func ParseHeader(env []byte) (Header, error) {
	h, _, err := parseHeader(env)
	return h, err
}

// parseHeader is ParseHeader, also returning the suite's parameters.
func parseHeader(env []byte) (Header, suiteParams, error) {
	var h Header
	if len(env) < headerSize {
		return h, suiteParams{}, fmt.Errorf("%w: %d bytes, header needs %d", ErrTruncated, len(env), headerSize)
	}
	h.Version = env[0]
	h.Kind = Kind(env[1])
	h.Suite = Suite{
		KEM:  binary.BigEndian.Uint16(env[2:4]),
		KDF:  binary.BigEndian.Uint16(env[4:6]),
		AEAD: binary.BigEndian.Uint16(env[6:8]),
	}
	copy(h.KeyID[:], env[8:16])
	h.EncSize = binary.BigEndian.Uint16(env[16:18])
	if h.Version != FormatVersion {
		return h, suiteParams{}, fmt.Errorf("%w %d (want %d)", ErrUnsupportedVersion, h.Version, FormatVersion)
	}
	if !h.Kind.hpkeEnvelope() {
		return h, suiteParams{}, fmt.Errorf("%w: %v is not an HPKE envelope kind", ErrWrongKind, h.Kind)
	}
	p, err := h.Suite.params()
	if err != nil {
		return h, suiteParams{}, err
	}
	if int(h.EncSize) != p.encSize {
		return h, suiteParams{}, fmt.Errorf("%w: enc length %d, suite needs %d", ErrMalformed, h.EncSize, p.encSize)
	}
	return h, p, nil
}

// Fingerprint returns SHA-256 of a serialized HPKE public key: the value
// query signatures bind to the worker's key, and whose first KeyIDSize
// bytes are the envelope key id. (The worker package logs the same value
// as hpke_key_sha256.)
func Fingerprint(publicKey []byte) [32]byte { return sha256.Sum256(publicKey) }

// KeyID returns the envelope key id of an HPKE public key.
func KeyID(pub hpke.PublicKey) [KeyIDSize]byte {
	fp := Fingerprint(pub.Bytes())
	return [KeyIDSize]byte(fp[:KeyIDSize])
}

// CachedKey is an HPKE private key together with its public key's
// fingerprint. Opening an envelope compares the envelope's key id with the
// recipient key's; for a bare hpke.PrivateKey that means re-serializing the
// 1216-byte X-Wing public key and hashing it (≈5 µs and 10 KB of garbage
// per envelope), which a worker serving thousands of queries per second
// should not pay. Wrap long-lived keys once with NewCachedKey and pass the
// result wherever an hpke.PrivateKey is expected.
type CachedKey struct {
	hpke.PrivateKey
	fingerprint [32]byte
}

// NewCachedKey wraps k.
func NewCachedKey(k hpke.PrivateKey) (*CachedKey, error) {
	if k == nil {
		return nil, fmt.Errorf("%w: nil private key", ErrInvalidKey)
	}
	if c, ok := k.(*CachedKey); ok {
		return c, nil
	}
	return &CachedKey{PrivateKey: k, fingerprint: Fingerprint(k.PublicKey().Bytes())}, nil
}

// Format prints only the fingerprint, whatever the verb: the wrapped key
// is secret.
func (k CachedKey) Format(f fmt.State, _ rune) {
	fmt.Fprintf(f, "envelope.CachedKey{fingerprint: %x}", k.fingerprint)
}

// Fingerprint returns SHA-256 of the key's serialized public key.
func (k *CachedKey) Fingerprint() [32]byte { return k.fingerprint }

// privateFingerprint returns the fingerprint of a private key's public key,
// cached when the key is a *CachedKey.
func privateFingerprint(k hpke.PrivateKey) [32]byte {
	if c, ok := k.(*CachedKey); ok {
		return c.fingerprint
	}
	return Fingerprint(k.PublicKey().Bytes())
}

// SelectKey returns the candidate whose public key the envelope was sealed
// to (by KeyID), or ErrWrongRecipient. It is how an executor holding a
// contract's keys of several master-key epochs opens commands sealed before
// a rotation.
func SelectKey(env []byte, candidates []hpke.PrivateKey) (hpke.PrivateKey, error) {
	h, err := ParseHeader(env)
	if err != nil {
		return nil, err
	}
	for _, k := range candidates {
		if k == nil {
			continue
		}
		if fp := privateFingerprint(k); [KeyIDSize]byte(fp[:KeyIDSize]) == h.KeyID {
			return k, nil
		}
	}
	return nil, fmt.Errorf("%w: key id %x matches none of %d keys", ErrWrongRecipient, h.KeyID, len(candidates))
}

// recipientFingerprint rejects a recipient key sealing cannot use and
// returns its fingerprint. Every sealer calls it first, before the caller
// is asked to sign anything, and passes the fingerprint to seal.
func recipientFingerprint(pub hpke.PublicKey) ([32]byte, error) {
	if pub == nil {
		return [32]byte{}, fmt.Errorf("%w: nil recipient public key", ErrInvalidKey)
	}
	if id := pub.KEM().ID(); id != DefaultSuite().KEM {
		return [32]byte{}, fmt.Errorf("%w: recipient key has KEM 0x%04x, want 0x%04x", ErrUnknownSuite, id, DefaultSuite().KEM)
	}
	return Fingerprint(pub.Bytes()), nil
}

// sealed is the result of sealing: the envelope and the sender context
// (kept by queries to export the response key).
type sealed struct {
	env    []byte
	enc    []byte // aliases env
	sender *hpke.Sender
}

// seal builds an envelope of kind sealing pt to pub, which
// recipientFingerprint accepted and whose fingerprint is fp, with info.
func seal(pub hpke.PublicKey, fp [32]byte, kind Kind, info, pt []byte) (sealed, error) {
	suite := DefaultSuite()
	p, err := suite.params()
	if err != nil {
		return sealed{}, err
	}
	enc, sender, err := hpke.NewSender(pub, p.kdf, p.aead, info)
	if err != nil {
		return sealed{}, fmt.Errorf("envelope: HPKE setup: %w", err)
	}
	if len(enc) != p.encSize {
		return sealed{}, fmt.Errorf("envelope: HPKE enc is %d bytes, want %d", len(enc), p.encSize)
	}
	env := make([]byte, headerSize, headerSize+len(enc)+len(pt)+gcmTagSize)
	env[0] = FormatVersion
	env[1] = byte(kind)
	binary.BigEndian.PutUint16(env[2:4], suite.KEM)
	binary.BigEndian.PutUint16(env[4:6], suite.KDF)
	binary.BigEndian.PutUint16(env[6:8], suite.AEAD)
	copy(env[8:16], fp[:KeyIDSize])
	binary.BigEndian.PutUint16(env[16:18], uint16(len(enc)))
	aad := env[:headerSize:headerSize]
	env = append(env, enc...)
	ct, err := sender.Seal(aad, pt)
	if err != nil {
		return sealed{}, fmt.Errorf("envelope: HPKE seal: %w", err)
	}
	env = append(env, ct...)
	return sealed{env: env, enc: env[headerSize : headerSize+len(enc)], sender: sender}, nil
}

// opened is the result of opening: plaintext, the recipient context and the
// recipient key's fingerprint.
type opened struct {
	pt          []byte
	enc         []byte // aliases the envelope
	recipient   *hpke.Recipient
	fingerprint [32]byte
}

// envelopeParts is a checked, split envelope.
type envelopeParts struct {
	header Header
	params suiteParams
	aad    []byte // the header bytes
	enc    []byte
	ct     []byte
}

// parseEnvelope checks everything about an envelope of kind that needs no
// key: the header, the kind, and lengths (enc present, tag present,
// plaintext at most maxPT). It does no public-key work, so an envelope
// rejected here costs almost nothing.
func parseEnvelope(env []byte, kind Kind, maxPT int) (envelopeParts, error) {
	h, p, err := parseHeader(env)
	if err != nil {
		return envelopeParts{}, err
	}
	if h.Kind != kind {
		return envelopeParts{}, fmt.Errorf("%w: got %v, want %v", ErrWrongKind, h.Kind, kind)
	}
	body := env[headerSize:]
	if len(body) < p.encSize+gcmTagSize {
		return envelopeParts{}, fmt.Errorf("%w: %d bytes after the header, need at least %d", ErrTruncated, len(body), p.encSize+gcmTagSize)
	}
	if n := len(body) - p.encSize - gcmTagSize; n > maxPT {
		return envelopeParts{}, fmt.Errorf("%w: %v plaintext of %d bytes exceeds %d", ErrTooLarge, kind, n, maxPT)
	}
	return envelopeParts{
		header: h,
		params: p,
		aad:    env[:headerSize:headerSize],
		enc:    body[:p.encSize:p.encSize],
		ct:     body[p.encSize:],
	}, nil
}

// open checks and decrypts an envelope of kind with priv and info. maxPT
// bounds the plaintext size, checked before any public-key work so that an
// oversized envelope costs nothing.
func open(priv hpke.PrivateKey, kind Kind, info, env []byte, maxPT int) (opened, error) {
	if priv == nil {
		return opened{}, fmt.Errorf("%w: nil recipient private key", ErrInvalidKey)
	}
	e, err := parseEnvelope(env, kind, maxPT)
	if err != nil {
		return opened{}, err
	}
	if id := priv.KEM().ID(); id != e.header.Suite.KEM {
		return opened{}, fmt.Errorf("%w: envelope KEM 0x%04x, key KEM 0x%04x", ErrWrongRecipient, e.header.Suite.KEM, id)
	}
	fp := privateFingerprint(priv)
	if [KeyIDSize]byte(fp[:KeyIDSize]) != e.header.KeyID {
		return opened{}, fmt.Errorf("%w: key id %x, this key is %x", ErrWrongRecipient, e.header.KeyID, fp[:KeyIDSize])
	}
	r, err := hpke.NewRecipient(e.enc, priv, e.params.kdf, e.params.aead, info)
	if err != nil {
		// Decapsulation fails only for a malformed X25519 share (the
		// ML-KEM half rejects implicitly); either way the sender's
		// bytes were not a valid encapsulation to this key.
		return opened{}, fmt.Errorf("%w: decapsulation: %v", ErrDecrypt, err)
	}
	pt, err := r.Open(e.aad, e.ct)
	if err != nil {
		return opened{}, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	return opened{pt: pt, enc: e.enc, recipient: r, fingerprint: fp}, nil
}
