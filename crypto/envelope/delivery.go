package envelope

import (
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/veil-network/veil/crypto/keyderiv"
)

// Key deliveries: the two envelopes through which secrets of the key
// hierarchy travel on chain (decision 9).
//
//   - Master-key handover (KindMasterKeyHandover): a gatekeeper hands its
//     master-key history — every (epoch, secret) pair it holds — to another
//     gatekeeper, sealed to that gatekeeper's registered HPKE key. Carried
//     by veil.contracts.v1 MasterKeyHandover / MasterKeyDelivery.
//   - Contract key (KindContractKey): a gatekeeper hands one contract's
//     secrets (keyderiv.ContractSecrets) to a worker assigned to the
//     contract, sealed to the worker's registered HPKE key. Carried by
//     ContractKeyHandover / ContractKeyDelivery.
//
// Both use the envelope layout and HPKE suite of commands and queries, with
// their own kind byte and an HPKE info that binds everything the chain
// routes the delivery by: the recipient's identity (not only its HPKE key,
// so a delivery cannot be credited to another worker that happens to
// share a key), the epoch, and for contract keys the contract id. A
// delivery replayed to another recipient, contract or epoch fails
// decryption.
//
// There is no sender signature inside (HPKE base mode, like commands and
// queries): the chain authenticates the sender — it accepts a handover or
// a contract-key publication only as egress signed by a registered
// gatekeeper — and the recipient reads the forwarded delivery from its own
// topic with proofs against a verified block.
const (
	// MasterKeyHandoverInfo is the HPKE info prefix of master-key
	// handovers; recipient identity (32 bytes) and latest epoch (u64 BE)
	// follow.
	MasterKeyHandoverInfo = "veil/master-key-handover/v1"
	// ContractKeyInfo is the HPKE info prefix of contract-key deliveries;
	// contract id (32), recipient identity (32) and epoch (u64 BE) follow.
	ContractKeyInfo = "veil/contract-key/v1"
	// IdentitySize is the size of a worker identity (ed25519 public key).
	IdentitySize = 32
	// MaxHandoverEpochs bounds the epochs in one handover. Rotations are
	// governance actions (a handful per year); the bound only stops a
	// hostile plaintext from making the opener allocate much.
	MaxHandoverEpochs = 1024
	// historyEntrySize is epoch (8) + secret (32).
	historyEntrySize = 8 + keyderiv.SecretSize
	// maxHistoryPlaintext is count (4) + MaxHandoverEpochs entries.
	maxHistoryPlaintext = 4 + MaxHandoverEpochs*historyEntrySize
)

// ErrInvalidHistory: the history passed to SealMasterKeyHistory is empty,
// too long, not strictly increasing, holds an all-zero secret, or does
// not end at latestEpoch.
var ErrInvalidHistory = errors.New("invalid master-key history")

// masterKeyHandoverInfo returns the HPKE info of a handover to recipient
// whose newest epoch is latestEpoch.
func masterKeyHandoverInfo(recipient [IdentitySize]byte, latestEpoch uint64) []byte {
	info := make([]byte, 0, len(MasterKeyHandoverInfo)+IdentitySize+8)
	info = append(info, MasterKeyHandoverInfo...)
	info = append(info, recipient[:]...)
	return binary.BigEndian.AppendUint64(info, latestEpoch)
}

// contractKeyInfo returns the HPKE info of a delivery of contract's
// secrets at epoch to recipient.
func contractKeyInfo(recipient, contract [IdentitySize]byte, epoch uint64) []byte {
	info := make([]byte, 0, len(ContractKeyInfo)+ContractIDSize+IdentitySize+8)
	info = append(info, ContractKeyInfo...)
	info = append(info, contract[:]...)
	info = append(info, recipient[:]...)
	return binary.BigEndian.AppendUint64(info, epoch)
}

// checkHistory validates a history for latestEpoch: 1..MaxHandoverEpochs
// entries, strictly increasing epochs, the last one latestEpoch, no
// all-zero secret. wrap is the sentinel to report with.
func checkHistory(entries []keyderiv.EpochSecret, latestEpoch uint64, wrap error) error {
	if len(entries) == 0 {
		return fmt.Errorf("%w: no epochs", wrap)
	}
	if len(entries) > MaxHandoverEpochs {
		return fmt.Errorf("%w: %w: %d epochs, limit %d", wrap, ErrTooLarge, len(entries), MaxHandoverEpochs)
	}
	for i := range entries {
		e := &entries[i]
		if i > 0 && e.Epoch <= entries[i-1].Epoch {
			return fmt.Errorf("%w: epoch %d follows %d (epochs must strictly increase)", wrap, e.Epoch, entries[i-1].Epoch)
		}
		if keyderiv.IsZeroSecret(&e.Secret) {
			return fmt.Errorf("%w: epoch %d: %w", wrap, e.Epoch, keyderiv.ErrZeroSecret)
		}
	}
	if last := entries[len(entries)-1].Epoch; last != latestEpoch {
		return fmt.Errorf("%w: newest epoch is %d, latest_epoch is %d", wrap, last, latestEpoch)
	}
	return nil
}

// encodeMasterKeyHistory returns the handover plaintext:
//
//	count(u32 BE) || count × (epoch(u64 BE) || secret(32))
//
// The caller clears the result.
func encodeMasterKeyHistory(entries []keyderiv.EpochSecret, latestEpoch uint64) ([]byte, error) {
	if err := checkHistory(entries, latestEpoch, ErrInvalidHistory); err != nil {
		return nil, err
	}
	pt := make([]byte, 0, 4+len(entries)*historyEntrySize)
	pt = binary.BigEndian.AppendUint32(pt, uint32(len(entries)))
	for _, e := range entries {
		pt = binary.BigEndian.AppendUint64(pt, e.Epoch)
		pt = append(pt, e.Secret[:]...)
	}
	return pt, nil
}

// decodeMasterKeyHistory decodes a handover plaintext for latestEpoch. It
// accepts only what encodeMasterKeyHistory produces (exact length, the
// same checks), and copies the secrets out of pt.
func decodeMasterKeyHistory(pt []byte, latestEpoch uint64) ([]keyderiv.EpochSecret, error) {
	d := decoder{b: pt}
	n := d.u32("epoch count")
	if d.err != nil {
		return nil, d.err
	}
	if n == 0 || n > MaxHandoverEpochs {
		return nil, fmt.Errorf("%w: %d epochs (want 1..%d)", ErrMalformed, n, MaxHandoverEpochs)
	}
	if uint64(len(d.b)) != uint64(n)*historyEntrySize {
		return nil, fmt.Errorf("%w: %d epochs need %d bytes, %d left", ErrMalformed, n, uint64(n)*historyEntrySize, len(d.b))
	}
	out := make([]keyderiv.EpochSecret, n)
	for i := range out {
		out[i].Epoch = d.u64("epoch")
		copy(out[i].Secret[:], d.bytes(keyderiv.SecretSize, "secret"))
	}
	if d.err == nil {
		d.err = checkHistory(out, latestEpoch, ErrMalformed)
	}
	if d.err != nil {
		keyderiv.WipeEpochSecrets(out)
		return nil, d.err
	}
	return out, nil
}

// SealMasterKeyHistory seals a master-key history to a gatekeeper: its
// registered HPKE key recipientPub and its identity recipient. entries
// must be in strictly increasing epoch order and end at latestEpoch (the
// value the MasterKeyHandover message carries in clear, so the chain can
// forward one delivery per (recipient, latest epoch)). The secrets are
// read, not retained; the plaintext buffer is cleared before returning.
func SealMasterKeyHistory(recipientPub hpke.PublicKey, recipient [IdentitySize]byte, latestEpoch uint64, entries []keyderiv.EpochSecret) ([]byte, error) {
	fp, err := recipientFingerprint(recipientPub)
	if err != nil {
		return nil, err
	}
	pt, err := encodeMasterKeyHistory(entries, latestEpoch)
	if err != nil {
		return nil, err
	}
	return sealDelivery(recipientPub, fp, KindMasterKeyHandover, masterKeyHandoverInfo(recipient, latestEpoch), pt)
}

// OpenMasterKeyHistory opens a master-key handover addressed to this
// gatekeeper (identity recipient, registered HPKE key priv) with the
// latest epoch the carrying message names. A handover sealed for another
// identity or epoch fails with ErrDecrypt; one sealed to another key with
// ErrWrongRecipient. The result is in strictly increasing epoch order,
// ends at latestEpoch, and must be wiped by the caller
// (keyderiv.WipeEpochSecrets).
func OpenMasterKeyHistory(priv hpke.PrivateKey, recipient [IdentitySize]byte, latestEpoch uint64, sealed []byte) ([]keyderiv.EpochSecret, error) {
	pt, err := openDelivery("master-key handover", priv, KindMasterKeyHandover, masterKeyHandoverInfo(recipient, latestEpoch), sealed, maxHistoryPlaintext)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	out, err := decodeMasterKeyHistory(pt, latestEpoch)
	if err != nil {
		return nil, fmt.Errorf("envelope: master-key handover: %w", err)
	}
	return out, nil
}

// SealContractSecrets seals contract's secrets of master-key epoch to an
// assigned worker: its registered HPKE key recipientPub and its identity
// recipient. The plaintext is s.MarshalBinary() (128 bytes), cleared
// before returning.
func SealContractSecrets(recipientPub hpke.PublicKey, recipient, contract [IdentitySize]byte, epoch uint64, s *keyderiv.ContractSecrets) ([]byte, error) {
	fp, err := recipientFingerprint(recipientPub)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, fmt.Errorf("%w: nil contract secrets", ErrInvalidKey)
	}
	pt, err := s.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return sealDelivery(recipientPub, fp, KindContractKey, contractKeyInfo(recipient, contract, epoch), pt)
}

// OpenContractSecrets opens a contract-key delivery addressed to this
// worker (identity recipient, registered HPKE key priv) for contract at
// epoch, as the carrying ContractKeyDelivery names them. A delivery
// sealed for another identity, contract or epoch fails with ErrDecrypt;
// one sealed to another key with ErrWrongRecipient. The caller wipes the
// result.
func OpenContractSecrets(priv hpke.PrivateKey, recipient, contract [IdentitySize]byte, epoch uint64, sealed []byte) (*keyderiv.ContractSecrets, error) {
	pt, err := openDelivery("contract-key delivery", priv, KindContractKey, contractKeyInfo(recipient, contract, epoch), sealed, keyderiv.ContractSecretsSize)
	if err != nil {
		return nil, err
	}
	defer clear(pt)
	s, err := keyderiv.UnmarshalContractSecrets(pt)
	if err != nil {
		return nil, fmt.Errorf("envelope: contract-key delivery: %w: %w", ErrMalformed, err)
	}
	return s, nil
}

// sealDelivery seals the secret plaintext pt of a delivery of kind to
// pub (fingerprint fp) with info, then clears pt.
func sealDelivery(pub hpke.PublicKey, fp [32]byte, kind Kind, info, pt []byte) ([]byte, error) {
	defer clear(pt)
	s, err := seal(pub, fp, kind, info, pt)
	if err != nil {
		return nil, err
	}
	return s.env, nil
}

// openDelivery opens a delivery of kind (what names it in errors) and
// returns its plaintext, which the caller clears. A decryption failure of
// a well-formed delivery sealed to the right key almost always means the
// binding differs (another recipient identity, contract or epoch), which
// the error says, since HPKE cannot tell that apart from tampering.
func openDelivery(what string, priv hpke.PrivateKey, kind Kind, info, env []byte, maxPT int) ([]byte, error) {
	o, err := open(priv, kind, info, env, maxPT)
	if errors.Is(err, ErrDecrypt) {
		return nil, fmt.Errorf("envelope: %s: %w (sealed for another recipient identity, contract or epoch, or modified)", what, err)
	}
	if err != nil {
		return nil, fmt.Errorf("envelope: %s: %w", what, err)
	}
	return o.pt, nil
}
