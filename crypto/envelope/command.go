package envelope

import (
	"bytes"
	"crypto/hpke"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/veil-network/veil/crypto/keys"
)

// Domain strings of commands.
const (
	// CallDomain prefixes the canonical call bytes in the message the caller
	// signs. The NUL ends the tag, so no other Veil signing domain (all are
	// "veil/…" strings) can be a prefix of it or share a message with it.
	CallDomain = "veil/contract-call/v1\x00"
	// CommandInfo is the HPKE info prefix of commands; the 32-byte contract
	// id follows it, binding the key schedule to the recipient contract.
	CommandInfo = "veil/command/v1"
)

// callFixedSize is scheme(1) + caller(32) + contract(32) + nonce(8) +
// method length(2) + args length(4).
const callFixedSize = 1 + accountSize + ContractIDSize + 8 + 2 + 4

// maxCommandPlaintext bounds a command's plaintext: the call with maximal
// fields and the signature.
const maxCommandPlaintext = callFixedSize + MaxMethodSize + MaxCommandArgsSize + signatureSize

// Call is a contract call as the caller writes it. The caller is the
// signer passed to SealCommand, so it cannot disagree with the signature.
type Call struct {
	// ContractID is the contract the call is for (and sealed to).
	ContractID [ContractIDSize]byte
	// Nonce is the caller's per-contract call counter; the executor
	// accepts only nonces above the caller's last accepted one
	// (NonceTracker).
	Nonce uint64
	// Method names the contract entry point: 1..MaxMethodSize bytes of
	// printable ASCII.
	Method string
	// Args is the method's argument bytes (the contract's own encoding),
	// at most MaxCommandArgsSize.
	Args []byte
}

// VerifiedCall is a call whose envelope decrypted, whose signature
// verified and whose contract id is the opener's. Its nonce has NOT been
// checked: the executor does that with its NonceTracker, in chain order.
type VerifiedCall struct {
	Caller     keys.PublicKey
	ContractID [ContractIDSize]byte
	Nonce      uint64
	Method     string
	Args       []byte
	// Signature is the caller's signature over CallDomain || Encoded.
	Signature []byte
	// Encoded is the canonical call encoding that was signed.
	Encoded []byte

	// key is Caller parsed for verification while decoding (see
	// CallerKey).
	key keys.VerifyingKey
}

// CallerKey returns Caller parsed for verification: the key the decoder
// already parsed (and checked) from the call's bytes, so a verifier that
// batches signatures (keys.BatchVerifier.AddKey) does not decode an
// sr25519 point a second time. Like Caller, it is unauthenticated in a
// DecryptCommand result until the signature verifies. A VerifiedCall
// built by hand, or whose Caller was changed after decoding, gets Caller
// parsed now (the zero VerifyingKey, which verifies nothing, if Caller is
// not a valid key), so the key always matches Caller.
func (vc *VerifiedCall) CallerKey() keys.VerifyingKey {
	if vc.key.Public() == vc.Caller {
		return vc.key
	}
	k, err := keys.ParseVerifyingKey(vc.Caller.Scheme, vc.Caller.Key[:])
	if err != nil {
		return keys.VerifyingKey{}
	}
	return k
}

// EncodeCall returns the canonical encoding of a call by caller:
//
//	scheme(1) caller(32) contract_id(32) nonce(u64 BE) method_len(u16 BE)
//	method args_len(u32 BE) args
//
// It is exported for the test vectors and for other implementations'
// tests; SealCommand uses it.
func EncodeCall(caller keys.PublicKey, call Call) ([]byte, error) {
	if err := checkMethodArgs(call.Method, call.Args, MaxCommandArgsSize); err != nil {
		return nil, err
	}
	out := make([]byte, 0, callFixedSize+len(call.Method)+len(call.Args)+signatureSize)
	out, err := appendCaller(out, caller)
	if err != nil {
		return nil, err
	}
	out = append(out, call.ContractID[:]...)
	out = binary.BigEndian.AppendUint64(out, call.Nonce)
	out = appendMethod(out, call.Method)
	return appendArgs(out, call.Args), nil
}

// CallSigningMessage returns the message a caller signs for a call's
// canonical encoding: CallDomain || encoded.
func CallSigningMessage(encoded []byte) []byte {
	return append([]byte(CallDomain), encoded...)
}

// signedPlaintext signs msg, the signing message of the canonical encoding
// enc (of a call or a query: what names it in errors), with signer and
// returns the envelope plaintext enc || signature, reusing enc's spare
// capacity. msg holds the plaintext request and is cleared; the caller
// clears the result.
func signedPlaintext(signer keys.Signer, what string, enc, msg []byte) ([]byte, error) {
	sig, err := signer.Sign(msg)
	clear(msg)
	if err != nil {
		clear(enc)
		return nil, fmt.Errorf("envelope: sign %s: %w", what, err)
	}
	if len(sig) != signatureSize {
		clear(enc)
		return nil, fmt.Errorf("envelope: signer returned %d-byte signature, want %d", len(sig), signatureSize)
	}
	return append(enc, sig...), nil
}

// commandInfo returns the HPKE info of commands to a contract.
func commandInfo(contractID [ContractIDSize]byte) []byte {
	return append([]byte(CommandInfo), contractID[:]...)
}

// SealCommand signs call with signer and seals the signed call to the
// contract's HPKE public key. The result is the envelope a PushCommand
// transaction carries. Signing happens inside the encryption so that the
// chain, which sees only the envelope, learns neither the caller nor the
// call, while the contract learns both with proof.
func SealCommand(contractPub hpke.PublicKey, call Call, signer keys.Signer) ([]byte, error) {
	if signer == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrInvalidKey)
	}
	fp, err := recipientFingerprint(contractPub)
	if err != nil {
		return nil, err
	}
	enc, err := EncodeCall(signer.Public(), call)
	if err != nil {
		return nil, err
	}
	pt, err := signedPlaintext(signer, "call", enc, CallSigningMessage(enc))
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	s, err := seal(contractPub, fp, KindCommand, commandInfo(call.ContractID), pt)
	if err != nil {
		return nil, err
	}
	return s.env, nil
}

// OpenCommand opens a command envelope addressed to contract contractID,
// whose HPKE private key is contractPriv. It checks, in order: the header
// (version, kind, suite, that the envelope names this key), decryption
// (which also binds the contract id through the HPKE info), the call's
// encoding, that the call is for contractID, and the caller's signature.
// Nonce replay is the executor's check (NonceTracker), because only it
// knows the order in which the chain delivered commands.
func OpenCommand(contractPriv hpke.PrivateKey, contractID [ContractIDSize]byte, env []byte) (*VerifiedCall, error) {
	vc, err := DecryptCommand(contractPriv, contractID, env)
	if err != nil {
		return nil, err
	}
	if !vc.key.Verify(CallSigningMessage(vc.Encoded), vc.Signature) {
		return nil, fmt.Errorf("%w: call by %v", ErrBadSignature, vc.Caller)
	}
	return vc, nil
}

// DecryptCommand is OpenCommand without its last step, the caller's
// signature: every other check, in the same order with the same errors.
// It exists for an executor that verifies many calls' signatures as one
// batch (keys.BatchVerifier) before trusting any of them; the result's
// Caller is unauthenticated until CallSigningMessage(Encoded) verifies
// against Signature; verify it with CallerKey, the key already parsed
// from the call.
func DecryptCommand(contractPriv hpke.PrivateKey, contractID [ContractIDSize]byte, env []byte) (*VerifiedCall, error) {
	o, err := open(contractPriv, KindCommand, commandInfo(contractID), env, maxCommandPlaintext)
	if err != nil {
		return nil, err
	}
	vc, err := DecodeSignedCall(o.pt)
	if err != nil {
		return nil, err
	}
	if vc.ContractID != contractID {
		return nil, fmt.Errorf("%w: call names %x, opened by %x", ErrWrongContract, vc.ContractID, contractID)
	}
	return vc, nil
}

// DecodeSignedCall decodes a command plaintext (canonical call ||
// 64-byte signature) without verifying the signature. The encoding must
// be exact: no trailing bytes, lengths within limits, a valid method.
// The caller key is parsed once, here (VerifiedCall.CallerKey).
func DecodeSignedCall(pt []byte) (*VerifiedCall, error) {
	d := decoder{b: pt}
	var vc VerifiedCall
	vc.key = d.caller()
	vc.Caller = vc.key.Public()
	copy(vc.ContractID[:], d.bytes(ContractIDSize, "contract id"))
	vc.Nonce = d.u64("nonce")
	vc.Method = d.method()
	vc.Args = d.args(MaxCommandArgsSize)
	vc.Signature = d.bytes(signatureSize, "signature")
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes after the signature", ErrMalformed, len(d.b))
	}
	vc.Encoded = pt[: len(pt)-signatureSize : len(pt)-signatureSize]
	return &vc, nil
}

// NonceTracker is the executor's per-caller command nonce state for ONE
// contract. Rule: strictly increasing — a call is accepted iff its nonce is
// greater than the caller's last accepted nonce (any nonce, 0 included, is
// accepted as a caller's first). Gaps are allowed.
//
// Why strictly increasing rather than exactly-next: the chain cannot read
// encrypted commands, so it cannot reject a bad nonce before inclusion; a
// command lost or delayed in transit (fee too low, relayed by another
// submitter and ordered later) would, under exactly-next, leave the caller
// stuck until it learned which nonce the contract expects. Allowing gaps
// lets clients use any increasing counter (e.g. a timestamp) with no state
// query. The cost: a command ordered after a later-nonce command of the
// same caller is rejected — callers needing strict ordering wait for
// finality between commands.
//
// Callers are identified by their 32-byte account (the SS58 address), not
// by (scheme, key): the same account must not get two nonce sequences.
// A NonceTracker is deterministic (its state depends only on the sequence
// of Accept calls) and not safe for concurrent use: the executor applies
// commands one at a time in chain order.
type NonceTracker struct {
	contract [ContractIDSize]byte
	last     map[[accountSize]byte]uint64
}

// NonceEntry is one caller's last accepted nonce, for snapshots.
type NonceEntry struct {
	Caller [accountSize]byte
	Nonce  uint64
}

// NewNonceTracker returns an empty tracker for contract id.
func NewNonceTracker(contractID [ContractIDSize]byte) *NonceTracker {
	return &NonceTracker{contract: contractID, last: make(map[[accountSize]byte]uint64)}
}

// RestoreNonceTracker rebuilds a tracker from a snapshot (Entries). Entries
// must be sorted by caller without duplicates — the form Entries returns —
// so that a snapshot has exactly one encoding.
func RestoreNonceTracker(contractID [ContractIDSize]byte, entries []NonceEntry) (*NonceTracker, error) {
	t := NewNonceTracker(contractID)
	for i, e := range entries {
		if i > 0 && bytes.Compare(entries[i-1].Caller[:], e.Caller[:]) >= 0 {
			return nil, fmt.Errorf("%w: nonce snapshot entry %d out of order or duplicated", ErrMalformed, i)
		}
		t.last[e.Caller] = e.Nonce
	}
	return t, nil
}

// Check reports whether nonce would be accepted for caller, without
// recording it.
func (t *NonceTracker) Check(caller keys.PublicKey, nonce uint64) error {
	if last, ok := t.last[caller.Key]; ok && nonce <= last {
		return fmt.Errorf("%w: nonce %d of %v not above last accepted %d", ErrReplay, nonce, caller, last)
	}
	return nil
}

// Accept checks a verified call against the tracker (its contract, then
// its nonce) and records the nonce.
func (t *NonceTracker) Accept(vc *VerifiedCall) error {
	if vc.ContractID != t.contract {
		return fmt.Errorf("%w: call names %x, tracker is for %x", ErrWrongContract, vc.ContractID, t.contract)
	}
	if err := t.Check(vc.Caller, vc.Nonce); err != nil {
		return err
	}
	t.last[vc.Caller.Key] = vc.Nonce
	return nil
}

// Last returns caller's last accepted nonce.
func (t *NonceTracker) Last(caller keys.PublicKey) (uint64, bool) {
	n, ok := t.last[caller.Key]
	return n, ok
}

// Len returns the number of callers tracked.
func (t *NonceTracker) Len() int { return len(t.last) }

// Entries returns the state sorted by caller: deterministic, for
// snapshots and state hashing.
func (t *NonceTracker) Entries() []NonceEntry {
	out := make([]NonceEntry, 0, len(t.last))
	for c, n := range t.last {
		out = append(out, NonceEntry{Caller: c, Nonce: n})
	}
	slices.SortFunc(out, func(a, b NonceEntry) int { return bytes.Compare(a.Caller[:], b.Caller[:]) })
	return out
}
