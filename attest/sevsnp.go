package attest

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-sev-guest/abi"
	"github.com/google/go-sev-guest/kds"
	spb "github.com/google/go-sev-guest/proto/sevsnp"
	"github.com/google/go-sev-guest/validate"
	"github.com/google/go-sev-guest/verify"
	"github.com/google/go-sev-guest/verify/trust"
)

// sevReportSize is the size of an SEV-SNP ATTESTATION_REPORT.
const sevReportSize = abi.ReportSize

// SEVSNPCollateral supplies the certificates an SEV-SNP report needs when its
// evidence does not carry them in the extended-report certificate table:
// the VCEK (or VLEK) that signed the report, and optionally the AMD ASK/ASVK
// and ARK (accepted only if they are the AMD roots this build embeds) and
// AMD's CRL for the product line. Certificates are PEM, the CRL hex DER.
type SEVSNPCollateral struct {
	VCEK string `json:"vcek,omitempty"`
	VLEK string `json:"vlek,omitempty"`
	ASK  string `json:"ask,omitempty"`
	ARK  string `json:"ark,omitempty"`
	CRL  string `json:"crl,omitempty"`
}

// Marshal encodes the collateral in its canonical JSON layout.
func (c *SEVSNPCollateral) Marshal() ([]byte, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encode SEV-SNP collateral: %w", err)
	}
	return b, nil
}

// ParseSEVSNPCollateral decodes SEV-SNP collateral strictly; empty input is
// valid and means "everything is in the evidence".
func ParseSEVSNPCollateral(data []byte) (*SEVSNPCollateral, error) {
	c := &SEVSNPCollateral{}
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	fields, err := strictStringObject(data, "SEV-SNP collateral")
	if err != nil {
		return nil, err
	}
	err = assignFields(fields, map[string]*string{
		"vcek": &c.VCEK, "vlek": &c.VLEK, "ask": &c.ASK, "ark": &c.ARK, "crl": &c.CRL,
	}, "SEV-SNP collateral")
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Certificate-table GUIDs of the SEV-SNP extended report (GHCB spec).
const (
	guidVCEK = "63da758d-e664-4564-adc5-f4b93be8accd"
	guidVLEK = "a8074bc2-a25a-483e-aae6-39c045a0b8a1"
	guidASK  = "4ab7b379-bbac-4fe4-a02f-05aef327c782"
	guidARK  = "c0b406a4-a803-4952-9743-3fb6014cd0ae"
)

// parseCertTable parses the GHCB certificate table that may follow the
// report (header of 24-byte {GUID, offset, length} entries ended by an
// all-zero entry, then the blobs). It is written here rather than taken from
// go-sev-guest's abi.CertTable because that one can be driven into a slice
// panic by an offset+length overflow, and a verifier run by every validator
// must turn hostile input into an error, never a crash.
func parseCertTable(data []byte) (*spb.CertificateChain, error) {
	chain := &spb.CertificateChain{Extras: map[string][]byte{}}
	type entry struct {
		guid        string
		offset, len uint64
	}
	var entries []entry
	pos := 0
	for {
		if len(data)-pos < 24 {
			return nil, fmt.Errorf("%w: SEV-SNP certificate table header is not terminated", ErrEvidenceFormat)
		}
		e := data[pos : pos+24]
		pos += 24
		off := uint64(binary.LittleEndian.Uint32(e[16:]))
		n := uint64(binary.LittleEndian.Uint32(e[20:]))
		if off == 0 && n == 0 && bytes.Equal(e[:16], make([]byte, 16)) {
			break
		}
		g := hex.EncodeToString(e[:16])
		guid := g[0:8] + "-" + g[8:12] + "-" + g[12:16] + "-" + g[16:20] + "-" + g[20:32]
		entries = append(entries, entry{guid: guid, offset: off, len: n})
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.offset < uint64(pos) || e.offset+e.len > uint64(len(data)) {
			return nil, fmt.Errorf("%w: SEV-SNP certificate table entry %s points outside the table (offset %d, length %d, table %d bytes)",
				ErrEvidenceFormat, e.guid, e.offset, e.len, len(data))
		}
		if seen[e.guid] {
			return nil, fmt.Errorf("%w: SEV-SNP certificate table lists %s twice", ErrEvidenceFormat, e.guid)
		}
		seen[e.guid] = true
		blob := bytes.Clone(data[e.offset : e.offset+e.len])
		switch e.guid {
		case guidVCEK:
			chain.VcekCert = blob
		case guidVLEK:
			chain.VlekCert = blob
		case guidASK:
			chain.AskCert = blob
		case guidARK:
			chain.ArkCert = blob
		default:
			chain.Extras[e.guid] = blob
		}
	}
	return chain, nil
}

// singleCertDER returns the DER of the one certificate in a PEM field.
func singleCertDER(pemText, what string) ([]byte, error) {
	certs, err := parsePEMCertificates([]byte(pemText), what, ErrCollateralFormat)
	if err != nil {
		return nil, err
	}
	if len(certs) != 1 {
		return nil, fmt.Errorf("%w: %s must hold one certificate, has %d", ErrCollateralFormat, what, len(certs))
	}
	return certs[0].Raw, nil
}

// mergeCert fills a chain slot from the collateral; a certificate present in
// both places must be the same one.
func mergeCert(slot *[]byte, pemText, what string) error {
	if pemText == "" {
		return nil
	}
	der, err := singleCertDER(pemText, "collateral "+what)
	if err != nil {
		return err
	}
	if len(*slot) != 0 && !bytes.Equal(*slot, der) {
		return fmt.Errorf("%w: collateral %s differs from the one in the evidence's certificate table", ErrCertChain, what)
	}
	*slot = der
	return nil
}

// verifySEVSNP checks an SEV-SNP report with go-sev-guest's verify package,
// offline: certificate fetching disabled, "now" supplied, trust anchored in
// the AMD roots embedded in go-sev-guest (per Verifier, fresh per call so no
// CRL cache carries state between verifications). Then go-sev-guest's
// validate package checks that the VCEK certifies exactly the reported TCB
// and chip, and Veil judges only the debug bit.
func (v *Verifier) verifySEVSNP(raw, collateral []byte, now time.Time) (res *Result, err error) {
	defer func() {
		// go-sev-guest parses attacker-supplied bytes; a panic in it must not
		// take a validator down.
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("%w: SEV-SNP evidence made the parser fail: %v", ErrEvidenceFormat, p)
		}
	}()
	if len(raw) < sevReportSize {
		return nil, fmt.Errorf("%w: SEV-SNP report is %d bytes, want at least %d", ErrEvidenceFormat, len(raw), sevReportSize)
	}
	reportBytes := raw[:sevReportSize]
	if err := abi.ValidateReportFormat(reportBytes); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsupported, err)
	}
	report, err := abi.ReportToProto(reportBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: SEV-SNP report: %w", ErrEvidenceFormat, err)
	}
	chain := &spb.CertificateChain{Extras: map[string][]byte{}}
	if len(raw) > sevReportSize {
		if chain, err = parseCertTable(raw[sevReportSize:]); err != nil {
			return nil, err
		}
	}
	col, err := ParseSEVSNPCollateral(collateral)
	if err != nil {
		return nil, err
	}
	for _, m := range []struct {
		slot *[]byte
		pem  string
		name string
	}{{&chain.VcekCert, col.VCEK, "VCEK"}, {&chain.VlekCert, col.VLEK, "VLEK"}, {&chain.AskCert, col.ASK, "ASK"}, {&chain.ArkCert, col.ARK, "ARK"}} {
		if err := mergeCert(m.slot, m.pem, m.name); err != nil {
			return nil, err
		}
	}

	info, err := abi.ParseSignerInfo(report.GetSignerInfo())
	if err != nil {
		return nil, fmt.Errorf("%w: SEV-SNP signer info: %w", ErrEvidenceFormat, err)
	}
	var ekDER []byte
	keyName := ""
	switch info.SigningKey {
	case abi.VcekReportSigner:
		ekDER, keyName = chain.GetVcekCert(), "vcek"
	case abi.VlekReportSigner:
		ekDER, keyName = chain.GetVlekCert(), "vlek"
	default:
		return nil, fmt.Errorf("%w: SEV-SNP report signed by %v", ErrUnsupported, info.SigningKey)
	}
	if len(ekDER) == 0 {
		return nil, fmt.Errorf("%w: no %s certificate in the evidence or the collateral", ErrCertChain, strings.ToUpper(keyName))
	}
	ek, err := x509.ParseCertificate(ekDER)
	if err != nil {
		return nil, fmt.Errorf("%w: %s certificate: %w", ErrCertChain, strings.ToUpper(keyName), err)
	}
	productLine, err := sevProductLine(report, ek, info.SigningKey)
	if err != nil {
		return nil, err
	}
	pc := v.sevRoots[productLine]
	if pc == nil {
		return nil, fmt.Errorf("%w: no AMD roots for product line %q", ErrUnsupported, productLine)
	}
	if err := sameAsEmbedded(chain.GetArkCert(), pc.Ark, "ARK"); err != nil {
		return nil, err
	}
	ica := pc.Ask
	if info.SigningKey == abi.VlekReportSigner {
		ica = pc.Asvk
	}
	if err := sameAsEmbedded(chain.GetAskCert(), ica, "ASK/ASVK"); err != nil {
		return nil, err
	}
	if col.CRL != "" {
		if err := checkSEVCRL(col.CRL, pc.Ark, []*x509.Certificate{ica, ek}, now); err != nil {
			return nil, err
		}
	}

	roots := map[string][]*trust.AMDRootCerts{
		productLine: {{ProductLine: productLine, Product: productLine, ProductCerts: pc}},
	}
	att := &spb.Attestation{Report: report, CertificateChain: chain}
	opts := &verify.Options{DisableCertFetching: true, Now: now, TrustedRoots: roots}
	if err := verify.SnpAttestation(att, opts); err != nil {
		// go-sev-guest reports chain and signature failures alike; tell a
		// forged report apart from a broken or stale chain.
		if sigErr := verify.SnpReportSignature(reportBytes, ek); sigErr != nil {
			return nil, fmt.Errorf("%w: SEV-SNP report: %w", ErrQuoteSignature, sigErr)
		}
		if ek.NotAfter.Before(now) || ek.NotBefore.After(now) {
			return nil, fmt.Errorf("%w: %s certificate valid %s to %s: %w", ErrCertExpired, strings.ToUpper(keyName),
				ek.NotBefore.UTC().Format(time.RFC3339), ek.NotAfter.UTC().Format(time.RFC3339), err)
		}
		return nil, fmt.Errorf("%w: %w", ErrCertChain, err)
	}
	// Judge nothing but consistency here (policy bits are reported, debug is
	// judged by Verify): every capability is "allowed".
	vopts := &validate.Options{
		GuestPolicy: abi.SnpPolicy{
			ABIMajor: 0, ABIMinor: 0, SMT: true, MigrateMA: true, Debug: true, CXLAllowed: true,
		},
		PermitProvisionalFirmware: true,
	}
	if err := validate.SnpAttestation(att, vopts); err != nil {
		return nil, fmt.Errorf("%w: SEV-SNP report and %s certificate disagree: %w", ErrTCBInfoMismatch, strings.ToUpper(keyName), err)
	}

	pol, err := abi.ParseSnpPolicy(report.GetPolicy())
	if err != nil {
		return nil, fmt.Errorf("%w: SEV-SNP guest policy: %w", ErrEvidenceFormat, err)
	}
	m := &SEVSNPMeasurement{
		Version: report.GetVersion(), Policy: report.GetPolicy(), GuestSVN: report.GetGuestSvn(),
		VMPL: report.GetVmpl(), ReportedTCB: report.GetReportedTcb(), SigningKey: keyName,
	}
	copy(m.Measurement[:], report.GetMeasurement())
	copy(m.HostData[:], report.GetHostData())
	copy(m.FamilyID[:], report.GetFamilyId())
	copy(m.ImageID[:], report.GetImageId())
	copy(m.IDKeyDigest[:], report.GetIdKeyDigest())
	copy(m.AuthorKeyDigest[:], report.GetAuthorKeyDigest())
	copy(m.ChipID[:], report.GetChipId())
	res = &Result{Kind: KindSEVSNP, TCBStatus: TCBNotEvaluated, AdvisoryIDs: []string{}, Debug: pol.Debug, SEVSNP: m}
	copy(res.ReportData[:], report.GetReportData())
	return res, nil
}

// sevProductLine determines the AMD product line: from the report's CPUID
// (report version 3 and later) or else from the endorsement certificate.
func sevProductLine(report *spb.Report, ek *x509.Certificate, key abi.ReportSigner) (string, error) {
	if fms := report.GetCpuid1EaxFms(); fms != 0 {
		if pl := kds.ProductLineFromFms(fms); pl != "" && pl != "Unknown" {
			return pl, nil
		}
	}
	exts, err := kds.CertificateExtensions(ek, key)
	if err != nil {
		return "", fmt.Errorf("%w: endorsement certificate extensions: %w", ErrCertChain, err)
	}
	product, err := kds.ParseProductName(exts.ProductName, key)
	if err != nil {
		return "", fmt.Errorf("%w: endorsement certificate product %q: %w", ErrCertChain, exts.ProductName, err)
	}
	return kds.ProductLine(product), nil
}

// sameAsEmbedded accepts a supplied AMD CA certificate only if it is the one
// this build trusts.
func sameAsEmbedded(der []byte, embedded *x509.Certificate, what string) error {
	if len(der) == 0 {
		return nil
	}
	if embedded == nil || !bytes.Equal(der, embedded.Raw) {
		return fmt.Errorf("%w: supplied %s is not the AMD certificate this build trusts", ErrCertChain, what)
	}
	return nil
}

// checkSEVCRL checks AMD's product CRL (signed by the ARK): issuer,
// signature, validity window at now, and that none of certs is listed. The
// CRL speaks only for certificates the ARK issued (the ASK/ASVK); AMD
// supersedes VCEKs with new TCB versions instead of revoking them.
func checkSEVCRL(hexDER string, ark *x509.Certificate, certs []*x509.Certificate, now time.Time) error {
	if ark == nil {
		return fmt.Errorf("%w: no ARK to check the CRL against", ErrCRL)
	}
	crl, err := parseCRL(hexDER, "AMD CRL", ark, now)
	if err != nil {
		return err
	}
	for _, c := range certs {
		if c == nil {
			continue
		}
		if err := notRevoked(crl, c, "AMD CRL"); err != nil {
			return err
		}
	}
	return nil
}
