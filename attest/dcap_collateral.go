package attest

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// DCAPCollateral is the collateral of an SGX or TDX quote as fetched from
// Intel PCS (or a PCCS) by the relayer. JSON layout: one object with string
// fields; TCB info and QE identity are the exact signed JSON texts, the
// signatures are hex raw r||s ECDSA P-256 over SHA-256 of those texts, the
// issuer chains are PEM (signer first, root last) and the CRLs hex DER.
type DCAPCollateral struct {
	TCBInfo               string `json:"tcb_info"`
	TCBInfoSignature      string `json:"tcb_info_signature"`
	TCBInfoIssuerChain    string `json:"tcb_info_issuer_chain"`
	QEIdentity            string `json:"qe_identity"`
	QEIdentitySignature   string `json:"qe_identity_signature"`
	QEIdentityIssuerChain string `json:"qe_identity_issuer_chain"`
	// Optional revocation data. When present it is checked; when absent the
	// chain trusts certificates until they expire.
	PCKCRLIssuerChain string `json:"pck_crl_issuer_chain,omitempty"`
	RootCACRL         string `json:"root_ca_crl,omitempty"`
	PCKCRL            string `json:"pck_crl,omitempty"`
}

// Marshal encodes the collateral in its canonical JSON layout.
func (c *DCAPCollateral) Marshal() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode DCAP collateral: %w", err)
	}
	return b, nil
}

// ParseDCAPCollateral decodes collateral strictly: exact (case-sensitive)
// field names, every value a string, no unknown or missing required field.
// encoding/json alone matches names case-insensitively and ignores unknown
// fields, which would let two different byte strings mean the same thing.
func ParseDCAPCollateral(data []byte) (*DCAPCollateral, error) {
	fields, err := strictStringObject(data, "DCAP collateral")
	if err != nil {
		return nil, err
	}
	c := &DCAPCollateral{}
	targets := map[string]*string{
		"tcb_info":                 &c.TCBInfo,
		"tcb_info_signature":       &c.TCBInfoSignature,
		"tcb_info_issuer_chain":    &c.TCBInfoIssuerChain,
		"qe_identity":              &c.QEIdentity,
		"qe_identity_signature":    &c.QEIdentitySignature,
		"qe_identity_issuer_chain": &c.QEIdentityIssuerChain,
		"pck_crl_issuer_chain":     &c.PCKCRLIssuerChain,
		"root_ca_crl":              &c.RootCACRL,
		"pck_crl":                  &c.PCKCRL,
	}
	if err := assignFields(fields, targets, "DCAP collateral"); err != nil {
		return nil, err
	}
	for _, name := range []string{"tcb_info", "tcb_info_signature", "tcb_info_issuer_chain",
		"qe_identity", "qe_identity_signature", "qe_identity_issuer_chain"} {
		if *targets[name] == "" {
			return nil, fmt.Errorf("%w: DCAP collateral lacks %q", ErrCollateralFormat, name)
		}
	}
	return c, nil
}

// strictStringObject decodes a JSON object whose values are all strings,
// rejecting duplicate keys and trailing data.
func strictStringObject(data []byte, what string) (map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not JSON: %w", ErrCollateralFormat, what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: %s must be a JSON object", ErrCollateralFormat, what)
	}
	out := map[string]string{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrCollateralFormat, what, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s: object key expected", ErrCollateralFormat, what)
		}
		// Token returns a JSON string already unescaped; any other token
		// (number, literal, nested object or array) is refused.
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %s field %q: %w", ErrCollateralFormat, what, key, err)
		}
		val, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: %s field %q must be a string", ErrCollateralFormat, what, key)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%w: %s has field %q twice", ErrCollateralFormat, what, key)
		}
		out[key] = val
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCollateralFormat, what, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: %s has data after the JSON object", ErrCollateralFormat, what)
	}
	return out, nil
}

// assignFields copies known fields into targets and rejects unknown ones
// (reported in sorted order so the error text is deterministic).
func assignFields(fields map[string]string, targets map[string]*string, what string) error {
	var unknown []string
	for k, v := range fields {
		t, ok := targets[k]
		if !ok {
			unknown = append(unknown, k)
			continue
		}
		*t = v
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%w: %s has unknown field(s) %s", ErrCollateralFormat, what, strings.Join(unknown, ", "))
	}
	return nil
}

// decodeHexField decodes a hex collateral field (either case).
func decodeHexField(s, name string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not hex: %w", ErrCollateralFormat, name, err)
	}
	return b, nil
}

const (
	pemCertBegin = "-----BEGIN CERTIFICATE-----"
	pemCertEnd   = "-----END CERTIFICATE-----"
)

// parsePEMCertificates parses a concatenation of PEM certificates strictly:
// only whitespace (and NUL terminators, which quotes append) may surround
// the blocks, headers are not allowed, and the base64 must be canonical.
// encoding/pem silently skips garbage and accepts non-canonical base64, so a
// chain could be altered without changing what it decodes to.
func parsePEMCertificates(data []byte, what string, wrap error) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		rest = bytes.TrimLeft(rest, " \t\r\n\x00")
		if len(rest) == 0 {
			break
		}
		if !bytes.HasPrefix(rest, []byte(pemCertBegin)) {
			return nil, fmt.Errorf("%w: %s: unexpected data outside PEM certificate blocks", wrap, what)
		}
		rest = rest[len(pemCertBegin):]
		end := bytes.Index(rest, []byte(pemCertEnd))
		if end < 0 {
			return nil, fmt.Errorf("%w: %s: unterminated PEM certificate", wrap, what)
		}
		body := rest[:end]
		rest = rest[end+len(pemCertEnd):]
		b64 := make([]byte, 0, len(body))
		for _, c := range body {
			switch c {
			case '\n', '\r':
			default:
				b64 = append(b64, c)
			}
		}
		der := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
		n, err := base64.StdEncoding.Strict().Decode(der, b64)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: bad base64 in PEM certificate %d: %w", wrap, what, len(certs)+1, err)
		}
		cert, err := x509.ParseCertificate(der[:n])
		if err != nil {
			return nil, fmt.Errorf("%w: %s: certificate %d: %w", wrap, what, len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%w: %s contains no certificate", wrap, what)
	}
	return certs, nil
}
