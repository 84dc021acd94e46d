package keys

import (
	"crypto/rand"
	"fmt"

	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	voisr "github.com/oasisprotocol/curve25519-voi/primitives/sr25519"
)

// minBatch is the smallest number of ed25519 signatures for which the batch
// equation is used; a single signature is cheaper to check directly, and
// from two on curve25519-voi's batch is faster (docs/benchmarks.md).
const minBatch = 2

// BatchVerifier checks many signatures at once, e.g. all transactions of a
// block. Entries of both schemes may be mixed. ed25519 entries are batched
// with curve25519-voi, and so are sr25519 entries (see verifySr25519). The
// zero value is ready to use. A BatchVerifier is not safe for concurrent
// use.
//
// The result is exactly that of calling PublicKey.Verify on every entry (up
// to the negligible 2^-128 false-accept chance inherent in random-linear-
// combination batching): when a batch fails, the entries of that scheme are
// re-checked one by one, so valid reports precisely which signatures failed.
// ed25519 uses ZIP-215 rules in both paths, whose cofactored equation is what
// makes batch and single verification agree.
type BatchVerifier struct {
	entries []batchEntry
}

type batchEntry struct {
	pub PublicKey
	msg []byte
	sig []byte
	// bad is set when Add already knows the entry is invalid (malformed).
	bad bool
	// Decoded sr25519 values, kept so Verify does not decode twice.
	srPub *voisr.PublicKey
	srSig *voisr.Signature
}

// NewBatchVerifier returns an empty BatchVerifier.
func NewBatchVerifier() *BatchVerifier { return &BatchVerifier{} }

// Len returns the number of entries added.
func (b *BatchVerifier) Len() int { return len(b.entries) }

// Add queues the signature sig of msg by pub. msg and sig are retained, not
// copied, and must not be modified until Verify returns.
//
// Every call adds exactly one entry, so valid[i] of Verify always refers to
// the i-th Add. A non-nil error means the entry is malformed (unknown scheme,
// wrong signature length, undecodable key or signature): it is still
// recorded, as invalid, and the caller may ignore the error and rely on
// Verify's result.
func (b *BatchVerifier) Add(pub PublicKey, msg, sig []byte) error {
	return b.add(batchEntry{pub: pub, msg: msg, sig: sig})
}

// AddKey is Add for a key parsed with ParseVerifyingKey: the same entry,
// error and verdict as Add(k.Public(), msg, sig), without decoding an
// sr25519 key again (a field square root, ≈ 8 µs: a quarter of what an
// sr25519 signature costs in a batch, see BenchmarkVerify's batch-parsed
// cases). The executor parses each command's caller
// key while decoding the call (envelope.DecryptCommand) and adds it here.
// The zero VerifyingKey is recorded as invalid, as Add records the zero
// PublicKey.
func (b *BatchVerifier) AddKey(k VerifyingKey, msg, sig []byte) error {
	return b.add(batchEntry{pub: k.pub, msg: msg, sig: sig, srPub: k.sr})
}

func (b *BatchVerifier) add(e batchEntry) error {
	err := e.prepare()
	e.bad = err != nil
	b.entries = append(b.entries, e)
	return err
}

// prepare checks an entry and decodes its sr25519 values, in the order
// that fixes which error a malformed entry reports: signature length,
// scheme, key, signature. An entry from AddKey arrives with its sr25519
// key decoded (srPub set), which ParseVerifyingKey did with the checks
// decodeSr25519Public makes here.
func (e *batchEntry) prepare() error {
	if len(e.sig) != SignatureSize {
		return fmt.Errorf("batch entry: %w, got %d", ErrSignatureLength, len(e.sig))
	}
	switch e.pub.Scheme {
	case SchemeSr25519:
		if e.srPub == nil {
			pk, err := decodeSr25519Public(e.pub.Key)
			if err != nil {
				return fmt.Errorf("batch entry: %w: %v", ErrInvalidPublic, err)
			}
			e.srPub = pk
		}
		s, err := decodeSr25519Signature(e.sig)
		if err != nil {
			return fmt.Errorf("batch entry: malformed sr25519 signature: %w", err)
		}
		e.srSig = s
		return nil
	case SchemeEd25519:
		// curve25519-voi decodes while adding to its own batch.
		return nil
	default:
		return fmt.Errorf("batch entry: %w %q", ErrUnknownScheme, e.pub.Scheme)
	}
}

// Verify checks all entries. allValid is true iff every entry is valid (so
// an empty batch is valid); valid[i] is the result for the i-th Add. Verify
// does not reset the batch.
func (b *BatchVerifier) Verify() (allValid bool, valid []bool) {
	valid = make([]bool, len(b.entries))
	var sr, ed []int
	for i := range b.entries {
		e := &b.entries[i]
		switch {
		case e.bad:
		case e.pub.Scheme == SchemeSr25519:
			sr = append(sr, i)
		case e.pub.Scheme == SchemeEd25519:
			ed = append(ed, i)
		}
	}
	b.verifySr25519(sr, valid)
	b.verifyEd25519(ed, valid)
	allValid = true
	for _, ok := range valid {
		allValid = allValid && ok
	}
	return allValid, valid
}

// verifySr25519 batch-verifies the sr25519 entries at idx with
// curve25519-voi (random linear combination; coefficients from crypto/rand)
// and falls back to single verification to say which entries failed.
// (go-schnorrkel's own batch verifier was about twice as slow as its single
// verification; see BenchmarkSchnorrkelVerifyBatch.)
func (b *BatchVerifier) verifySr25519(idx []int, valid []bool) {
	if len(idx) < minBatch {
		for _, i := range idx {
			e := &b.entries[i]
			valid[i] = e.srPub.Verify(voiSubstrateTranscript(e.msg), e.srSig)
		}
		return
	}
	bv := voisr.NewBatchVerifierWithCapacity(len(idx))
	for _, i := range idx {
		e := &b.entries[i]
		bv.Add(e.srPub, voiSubstrateTranscript(e.msg), e.srSig)
	}
	_, res := bv.Verify(rand.Reader)
	for j, i := range idx {
		valid[i] = res[j]
	}
}

// verifyEd25519 batch-verifies the ed25519 entries at idx with curve25519-voi
// under ZIP-215. voi's Verify itself falls back to checking each entry when
// the batch equation fails.
func (b *BatchVerifier) verifyEd25519(idx []int, valid []bool) {
	if len(idx) < minBatch {
		for _, i := range idx {
			e := &b.entries[i]
			valid[i] = verifyEd25519(e.pub.Key, e.msg, e.sig)
		}
		return
	}
	bv := voied.NewBatchVerifierWithCapacity(len(idx))
	opts := zip215()
	for _, i := range idx {
		e := &b.entries[i]
		bv.AddWithOptions(e.pub.Key[:], e.msg, e.sig, opts)
	}
	_, res := bv.Verify(nil) // nil: crypto/rand supplies the batch scalars
	for k, i := range idx {
		valid[i] = res[k]
	}
}
