package envelope

import (
	"encoding/binary"
	"fmt"

	"github.com/veil-network/veil/crypto/keys"
)

// Field limits. They bound what a decoder allocates and what a worker
// spends on one envelope, and are checked both when sealing (so an honest
// client learns early) and when opening (so a hostile one cannot exceed
// them).
const (
	// MaxMethodSize bounds a method name (bytes).
	MaxMethodSize = 128
	// MaxCommandArgsSize bounds a command's arguments. Commands are stored
	// on chain by every node, so this is kept small.
	MaxCommandArgsSize = 64 << 10
	// MaxQueryArgsSize bounds a query's arguments.
	MaxQueryArgsSize = 64 << 10
	// MaxResponseSize bounds a query response's plaintext.
	MaxResponseSize = 4 << 20
)

// Sizes of fixed fields.
const (
	// ContractIDSize is the size of a contract id.
	ContractIDSize = 32
	// QueryNonceSize is the size of a query's fresh nonce.
	QueryNonceSize = 16
	signatureSize  = keys.SignatureSize
	accountSize    = keys.PublicKeySize
)

// Scheme bytes, equal to the SignatureScheme enum of veil.tx.v1 so that
// the same number means the same scheme everywhere.
const (
	schemeByteSr25519 = 1
	schemeByteEd25519 = 2
)

func schemeToByte(s keys.Scheme) (byte, error) {
	switch s {
	case keys.SchemeSr25519:
		return schemeByteSr25519, nil
	case keys.SchemeEd25519:
		return schemeByteEd25519, nil
	}
	return 0, fmt.Errorf("%w: %w %q", ErrInvalidKey, keys.ErrUnknownScheme, s)
}

func schemeFromByte(b byte) (keys.Scheme, error) {
	switch b {
	case schemeByteSr25519:
		return keys.SchemeSr25519, nil
	case schemeByteEd25519:
		return keys.SchemeEd25519, nil
	}
	return "", fmt.Errorf("%w: %w: scheme byte %d", ErrMalformed, keys.ErrUnknownScheme, b)
}

// validMethod checks a method name: 1..MaxMethodSize bytes of printable
// ASCII without space. Method names are identifiers; excluding control
// bytes, spaces and non-ASCII keeps them unambiguous in logs and UIs and
// leaves no room for look-alike names.
func validMethod(m string) error {
	if len(m) == 0 {
		return fmt.Errorf("%w: empty", ErrInvalidMethod)
	}
	if len(m) > MaxMethodSize {
		return fmt.Errorf("%w: %w: %d bytes, limit %d", ErrInvalidMethod, ErrTooLarge, len(m), MaxMethodSize)
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("%w: byte %d is 0x%02x (want printable ASCII)", ErrInvalidMethod, i, c)
		}
	}
	return nil
}

// checkMethodArgs checks a request's method name and that its args are at
// most limit bytes: what every encoder checks before writing.
func checkMethodArgs(method string, args []byte, limit int) error {
	if err := validMethod(method); err != nil {
		return err
	}
	if len(args) > limit {
		return fmt.Errorf("%w: args of %d bytes, limit %d", ErrTooLarge, len(args), limit)
	}
	return nil
}

// decoder reads the fixed layouts. The first error sticks; later reads
// return zero values, so a decode function checks d.err once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) bytes(n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.b) < n {
		d.fail(fmt.Errorf("%w: %s needs %d bytes, %d left", ErrMalformed, what, n, len(d.b)))
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *decoder) byte1(what string) byte {
	if b := d.bytes(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16(what string) uint16 {
	if b := d.bytes(2, what); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32(what string) uint32 {
	if b := d.bytes(4, what); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64(what string) uint64 {
	if b := d.bytes(8, what); b != nil {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// method reads a u16-length-prefixed method name and validates it.
func (d *decoder) method() string {
	n := d.u16("method length")
	if d.err != nil {
		return ""
	}
	if int(n) > MaxMethodSize {
		d.fail(fmt.Errorf("%w: %w: method of %d bytes, limit %d", ErrInvalidMethod, ErrTooLarge, n, MaxMethodSize))
		return ""
	}
	b := d.bytes(int(n), "method")
	if d.err != nil {
		return ""
	}
	m := string(b)
	if err := validMethod(m); err != nil {
		d.fail(err)
		return ""
	}
	return m
}

// args reads u32-length-prefixed arguments of at most limit bytes. The
// length is checked against the limit before anything is sliced.
func (d *decoder) args(limit int) []byte {
	n := d.u32("args length")
	if d.err != nil {
		return nil
	}
	if uint64(n) > uint64(limit) {
		d.fail(fmt.Errorf("%w: args of %d bytes, limit %d", ErrTooLarge, n, limit))
		return nil
	}
	return d.bytes(int(n), "args")
}

// caller reads the scheme byte and 32-byte account and parses the public
// key once (keys.VerifyingKey: the signature is then verified with the
// decoded key, not decoded again). For sr25519 the bytes must be a canonical
// Ristretto point; a key that is not cannot have signed anything, so it
// is a bad signature.
func (d *decoder) caller() keys.VerifyingKey {
	sb := d.byte1("scheme")
	raw := d.bytes(accountSize, "caller")
	if d.err != nil {
		return keys.VerifyingKey{}
	}
	scheme, err := schemeFromByte(sb)
	if err != nil {
		d.fail(err)
		return keys.VerifyingKey{}
	}
	ck, err := keys.ParseVerifyingKey(scheme, raw)
	if err != nil {
		d.fail(fmt.Errorf("%w: caller key: %w", ErrBadSignature, err))
		return keys.VerifyingKey{}
	}
	return ck
}

// appendCaller writes scheme byte || account.
func appendCaller(dst []byte, pk keys.PublicKey) ([]byte, error) {
	sb, err := schemeToByte(pk.Scheme)
	if err != nil {
		return nil, err
	}
	dst = append(dst, sb)
	return append(dst, pk.Key[:]...), nil
}

func appendMethod(dst []byte, m string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(m)))
	return append(dst, m...)
}

func appendArgs(dst, args []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(args)))
	return append(dst, args...)
}
