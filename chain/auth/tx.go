// Package auth authenticates transactions: envelope decoding, signature
// verification over the exact body bytes, chain id, nonces, expiry and fees.
package auth

import (
	"crypto/sha256"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keys"
	txv1 "github.com/veil-network/veil/gen/veil/tx/v1"
)

// SignDomain prefixes the body bytes in every transaction signature, so a
// transaction signature can never be replayed as another kind of signed
// Veil message (egress, query, attestation statement), whose domains differ.
const SignDomain = "veil/tx/v1\x00"

// SignBytes is the exact message a transaction's signature covers.
func SignBytes(body []byte) []byte {
	out := make([]byte, 0, len(SignDomain)+len(body))
	return append(append(out, SignDomain...), body...)
}

// Hash is the transaction hash used everywhere (CometBFT's tx hash: SHA-256
// of the raw envelope bytes).
func Hash(raw []byte) [32]byte { return sha256.Sum256(raw) }

// Tx is a decoded, not yet authenticated transaction.
type Tx struct {
	Raw    []byte
	Hash   [32]byte
	Scheme keys.Scheme
	PubKey keys.PublicKey
	Sig    []byte
	// BodyBytes are the body exactly as carried and signed.
	BodyBytes []byte
	Body      *txv1.TxBody
	Sender    types.AccountID
	Fee       types.Amount
	Msgs      []types.Msg
}

// SignedBytes is what the signature must verify over.
func (t *Tx) SignedBytes() []byte { return SignBytes(t.BodyBytes) }

// Limits bound decoding work before any signature check.
type Limits struct {
	MaxTxBytes   int
	MaxMessages  int
	MaxMemoBytes int
}

func schemeOf(s txv1.SignatureScheme) (keys.Scheme, error) {
	switch s {
	case txv1.SignatureScheme_SIGNATURE_SCHEME_SR25519:
		return keys.SchemeSr25519, nil
	case txv1.SignatureScheme_SIGNATURE_SCHEME_ED25519:
		return keys.SchemeEd25519, nil
	}
	return "", types.Errf(types.CodeUnsupportedScheme, "unsupported signature scheme %d", int32(s))
}

// SchemeToProto maps a key scheme to the envelope enum.
func SchemeToProto(s keys.Scheme) (txv1.SignatureScheme, error) {
	switch s {
	case keys.SchemeSr25519:
		return txv1.SignatureScheme_SIGNATURE_SCHEME_SR25519, nil
	case keys.SchemeEd25519:
		return txv1.SignatureScheme_SIGNATURE_SCHEME_ED25519, nil
	}
	return 0, fmt.Errorf("unsupported scheme %q", s)
}

// Decode parses and statically validates a transaction: sizes, envelope
// fields, scheme, sender binding, fee syntax, memo and messages. It does not
// verify the signature or touch state.
func Decode(raw []byte, lim Limits, router *types.Router) (*Tx, error) {
	if lim.MaxTxBytes > 0 && len(raw) > lim.MaxTxBytes {
		return nil, types.Errf(types.CodeTxTooLarge, "transaction has %d bytes, limit %d", len(raw), lim.MaxTxBytes)
	}
	if len(raw) == 0 {
		return nil, types.Errf(types.CodeTxDecode, "empty transaction")
	}
	var env txv1.Tx
	if err := proto.Unmarshal(raw, &env); err != nil {
		return nil, types.Errf(types.CodeTxDecode, "malformed transaction envelope: %v", err)
	}
	scheme, err := schemeOf(env.GetScheme())
	if err != nil {
		return nil, err
	}
	if len(env.GetPublicKey()) != 32 {
		return nil, types.Errf(types.CodeTxDecode, "public key has %d bytes, want 32", len(env.GetPublicKey()))
	}
	if len(env.GetSignature()) != 64 {
		return nil, types.Errf(types.CodeInvalidSignature, "signature has %d bytes, want 64", len(env.GetSignature()))
	}
	var body txv1.TxBody
	if err := proto.Unmarshal(env.GetBody(), &body); err != nil {
		return nil, types.Errf(types.CodeTxDecode, "malformed transaction body: %v", err)
	}
	sender, err := types.AccountFromBytes(body.GetSender())
	if err != nil {
		return nil, types.Errf(types.CodeTxDecode, "sender: %v", err)
	}
	if string(sender[:]) != string(env.GetPublicKey()) {
		return nil, types.Errf(types.CodeSenderMismatch, "signing public key is not the sender's account id")
	}
	fee, err := types.ParseAmount(body.GetFee())
	if err != nil {
		return nil, types.Errf(types.CodeInsufficientFee, "fee: %v", err)
	}
	if lim.MaxMemoBytes > 0 && len(body.GetMemo()) > lim.MaxMemoBytes {
		return nil, types.Errf(types.CodeMemoTooLarge, "memo has %d bytes, limit %d", len(body.GetMemo()), lim.MaxMemoBytes)
	}
	if len(body.GetMessages()) == 0 {
		return nil, types.Errf(types.CodeNoMessages, "transaction carries no messages")
	}
	if lim.MaxMessages > 0 && len(body.GetMessages()) > lim.MaxMessages {
		return nil, types.Errf(types.CodeTooManyMessages, "transaction carries %d messages, limit %d", len(body.GetMessages()), lim.MaxMessages)
	}
	msgs := make([]types.Msg, len(body.GetMessages()))
	for i, a := range body.GetMessages() {
		if msgs[i], err = router.Decode(a); err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
	}
	var pk keys.PublicKey
	pk.Scheme = scheme
	copy(pk.Key[:], env.GetPublicKey())
	return &Tx{
		Raw: raw, Hash: Hash(raw), Scheme: scheme, PubKey: pk, Sig: env.GetSignature(),
		BodyBytes: env.GetBody(), Body: &body, Sender: sender, Fee: fee, Msgs: msgs,
	}, nil
}

// VerifySignature checks the transaction's signature on its own.
func (t *Tx) VerifySignature() error {
	if !t.PubKey.Verify(t.SignedBytes(), t.Sig) {
		return types.Errf(types.CodeInvalidSignature, "signature does not verify for sender %s", t.Sender.Hex())
	}
	return nil
}

// VerifyBatch verifies many transactions' signatures at once (batch
// verification is ~2x cheaper per signature for ed25519 and sr25519) and
// returns, per transaction, nil or its error.
func VerifyBatch(txs []*Tx) []error {
	errs := make([]error, len(txs))
	if len(txs) == 0 {
		return errs
	}
	bv := keys.NewBatchVerifier()
	for _, t := range txs {
		// A malformed entry (an sr25519 key that is no curve point) is
		// recorded as invalid; Verify reports it with the others.
		_ = bv.Add(t.PubKey, t.SignedBytes(), t.Sig)
	}
	all, valid := bv.Verify()
	if all {
		return errs
	}
	for i, ok := range valid {
		if !ok {
			errs[i] = types.Errf(types.CodeInvalidSignature, "signature does not verify for sender %s", txs[i].Sender.Hex())
		}
	}
	return errs
}

// Encode builds a signed transaction from a body and a signer.
func Encode(body *txv1.TxBody, signer keys.Signer) ([]byte, error) {
	bodyBytes, err := proto.MarshalOptions{Deterministic: true}.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("marshal tx body: %w", err)
	}
	sig, err := signer.Sign(SignBytes(bodyBytes))
	if err != nil {
		return nil, fmt.Errorf("sign tx: %w", err)
	}
	pub := signer.Public()
	scheme, err := SchemeToProto(pub.Scheme)
	if err != nil {
		return nil, err
	}
	raw, err := proto.Marshal(&txv1.Tx{Body: bodyBytes, Scheme: scheme, PublicKey: pub.Key[:], Signature: sig})
	if err != nil {
		return nil, fmt.Errorf("marshal tx: %w", err)
	}
	return raw, nil
}
