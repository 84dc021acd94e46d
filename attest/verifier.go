package attest

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/google/go-sev-guest/verify/trust"
)

// intelSGXRootCAFingerprint is the SHA-256 of the DER of intelSGXRootCAPEM,
// checked when a Verifier is built so an edit of the PEM cannot go unnoticed.
const intelSGXRootCAFingerprint = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3"

// Verifier checks evidence offline. It holds the parsed trust anchors (Intel
// SGX Root CA; AMD ARK/ASK/ASVK per product line) so each verification does
// not re-parse them; it holds no other state and is safe for concurrent use.
type Verifier struct {
	intelRoot  *x509.Certificate
	intelRoots *x509.CertPool
	// sevRoots maps an AMD product line ("Milan", "Genoa", "Turin") to its
	// ARK and the ASK (VCEK issuer) and ASVK (VLEK issuer) it certifies.
	sevRoots map[string]*trust.ProductCerts
}

// sevProductLines lists the product lines whose AMD roots go-sev-guest
// embeds, with their VCEK and VLEK CA bundles.
func sevProductLines() []struct {
	name       string
	vcek, vlek []byte
} {
	return []struct {
		name       string
		vcek, vlek []byte
	}{
		{"Milan", trust.AskArkMilanVcekBytes, trust.AskArkMilanVlekBytes},
		{"Genoa", trust.AskArkGenoaVcekBytes, trust.AskArkGenoaVlekBytes},
		{"Turin", trust.AskArkTurinVcekBytes, trust.AskArkTurinVlekBytes},
	}
}

// NewVerifier parses the embedded trust anchors. It panics only if the
// Intel root compiled into the binary is corrupt, which tests rule out.
func NewVerifier() *Verifier {
	block, _ := pem.Decode([]byte(intelSGXRootCAPEM))
	if block == nil {
		panic("attest: embedded Intel SGX Root CA is not PEM")
	}
	if sum := sha256.Sum256(block.Bytes); hex.EncodeToString(sum[:]) != intelSGXRootCAFingerprint {
		panic("attest: embedded Intel SGX Root CA does not match its fingerprint")
	}
	root, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		panic(fmt.Sprintf("attest: parse embedded Intel SGX Root CA: %v", err))
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)

	// AMD bundles that fail to parse (go-sev-guest v0.15.0 ships a Turin
	// VLEK bundle with trailing bytes) leave that product line or key kind
	// unsupported rather than breaking every other verification.
	sev := map[string]*trust.ProductCerts{}
	for _, pl := range sevProductLines() {
		pc := &trust.ProductCerts{}
		if err := pc.FromKDSCertBytes(pl.vcek); err != nil || pc.Ark == nil || pc.Ask == nil {
			continue
		}
		vlek := &trust.ProductCerts{}
		if err := vlek.FromKDSCertBytes(pl.vlek); err == nil && vlek.Ark != nil && vlek.Ark.Equal(pc.Ark) {
			pc.Asvk = vlek.Asvk
		}
		sev[pl.name] = pc
	}
	return &Verifier{intelRoot: root, intelRoots: pool, sevRoots: sev}
}

// Verify checks that ev is genuine TEE evidence, valid at now, given the
// collateral, and that it satisfies policy. It is deterministic: it reads no
// clock, no network and no file, so every validator given the same inputs
// (now = block time) reaches the same result. On failure the error wraps one
// of the Err* sentinels of this package.
func (v *Verifier) Verify(ev Evidence, collateral []byte, policy Policy, now time.Time) (*Result, error) {
	if now.IsZero() {
		// crypto/x509 and go-sev-guest read the wall clock when handed a
		// zero time, which would make the verdict depend on the validator.
		return nil, fmt.Errorf("%w: the verification time must be set (the chain passes the block time)", ErrUnsupported)
	}
	if policy.ReportData != nil && len(policy.ReportData) != 64 {
		return nil, fmt.Errorf("%w: policy report data must be 64 bytes, got %d", ErrReportDataMismatch, len(policy.ReportData))
	}
	var (
		res *Result
		err error
	)
	switch ev.Kind {
	case KindSGX, KindTDX:
		res, err = v.verifyDCAP(ev.Kind, ev.Quote, collateral, now)
	case KindSEVSNP:
		res, err = v.verifySEVSNP(ev.Quote, collateral, now)
	case KindSimulated:
		if !policy.AllowSimulated {
			return nil, fmt.Errorf("%w: the chain does not accept simulated TEEs (genesis allow_simulated_tee is false)", ErrSimulatedNotAllowed)
		}
		res, err = verifySimulated(ev.Quote, collateral)
	default:
		return nil, fmt.Errorf("%w: evidence kind %q", ErrUnsupported, ev.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("verify %s evidence: %w", ev.Kind, err)
	}
	if err := applyPolicy(res, policy); err != nil {
		return nil, fmt.Errorf("verify %s evidence: %w", ev.Kind, err)
	}
	return res, nil
}

// applyPolicy judges an authenticated result against the parts of the
// policy that are not about authenticity.
func applyPolicy(res *Result, policy Policy) error {
	if res.Debug && !policy.AllowDebug {
		return fmt.Errorf("%w: the TEE runs in debug mode, its memory is readable by the host", ErrDebugNotAllowed)
	}
	if policy.ReportData != nil {
		return res.CheckReportData(policy.ReportData)
	}
	return nil
}
