package attest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/google/go-tdx-guest/pcs"
)

// verifyDCAP runs Intel's quote verification (QVL, "4.1.2.4") for an SGX or
// TDX quote. The order follows Intel's: structure, certificate chains and
// collateral integrity, revocation, platform binding, QE report, QE identity,
// quote signature, and only then the TCB evaluation, so that
// ErrTCBLevelNotFound always means "authentic, but of an unsupported TCB".
func (v *Verifier) verifyDCAP(kind Kind, raw, collateral []byte, now time.Time) (*Result, error) {
	q, err := parseQuote(raw)
	if err != nil {
		return nil, err
	}
	quoteKind := KindSGX
	if q.teeType == teeTypeTDX {
		quoteKind = KindTDX
	}
	if quoteKind != kind {
		return nil, fmt.Errorf("%w: evidence declared %s but the quote is %s", ErrKindMismatch, kind, quoteKind)
	}
	if string(q.qeVendorID[:]) != intelQEVendorID {
		return nil, fmt.Errorf("%w: QE vendor ID %x is not Intel's", ErrUnsupported, q.qeVendorID[:])
	}
	if len(collateral) == 0 {
		return nil, fmt.Errorf("%w: %s quotes need collateral (TCB info, QE identity and their issuer chains)", ErrCollateralFormat, kind)
	}
	col, err := ParseDCAPCollateral(collateral)
	if err != nil {
		return nil, err
	}

	// PCK certificate chain from the quote's certification data (type 5).
	pck, pckCA, err := v.verifyPCKChain(q, now)
	if err != nil {
		return nil, err
	}

	// TCB info and QE identity: issuer chains, signatures, validity windows.
	tcbSigner, err := v.verifyIssuerChain(col.TCBInfoIssuerChain, "TCB info issuer chain", tcbSigningCN, now)
	if err != nil {
		return nil, err
	}
	if err := verifyRawECDSA(tcbSigner.PublicKey, []byte(col.TCBInfo), col.TCBInfoSignature, "TCB info"); err != nil {
		return nil, err
	}
	var tcbInfo pcs.TcbInfo
	if err := json.Unmarshal([]byte(col.TCBInfo), &tcbInfo); err != nil {
		return nil, fmt.Errorf("%w: TCB info JSON: %w", ErrCollateralFormat, err)
	}
	if err := checkWindow("TCB info", tcbInfo.IssueDate, tcbInfo.NextUpdate, now); err != nil {
		return nil, err
	}
	// PCS signs TCB info and QE identity with the same certificate, so the
	// chains are usually identical text: verify it once.
	qeSigner := tcbSigner
	if col.QEIdentityIssuerChain != col.TCBInfoIssuerChain {
		if qeSigner, err = v.verifyIssuerChain(col.QEIdentityIssuerChain, "QE identity issuer chain", tcbSigningCN, now); err != nil {
			return nil, err
		}
	}
	if err := verifyRawECDSA(qeSigner.PublicKey, []byte(col.QEIdentity), col.QEIdentitySignature, "QE identity"); err != nil {
		return nil, err
	}
	var qeID pcs.EnclaveIdentity
	if err := json.Unmarshal([]byte(col.QEIdentity), &qeID); err != nil {
		return nil, fmt.Errorf("%w: QE identity JSON: %w", ErrCollateralFormat, err)
	}
	if err := checkWindow("QE identity", qeID.IssueDate, qeID.NextUpdate, now); err != nil {
		return nil, err
	}

	// Revocation, when the collateral carries CRLs.
	if err := v.checkRevocation(col, pck, pckCA, []*x509.Certificate{tcbSigner, qeSigner}, now); err != nil {
		return nil, err
	}

	// The collateral must describe this platform and this TEE.
	ext, err := pckExtensions(pck)
	if err != nil {
		return nil, err
	}
	if err := checkTCBInfoMatches(q, &tcbInfo, ext); err != nil {
		return nil, err
	}
	if q.td != nil {
		if err := checkTDXModule(q, &tcbInfo); err != nil {
			return nil, err
		}
	}

	// The QE report is signed by the PCK key and binds the attestation key.
	pckKey, ok := pck.PublicKey.(*ecdsa.PublicKey)
	if !ok || pckKey.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%w: PCK certificate key is not ECDSA P-256", ErrCertChain)
	}
	if !verifyRS(pckKey, q.qeReport.raw, q.qeReportSignature[:]) {
		return nil, fmt.Errorf("%w: QE report is not signed by the PCK certificate's key", ErrQEReportSignature)
	}
	binding := sha256.New()
	binding.Write(q.attestationKey[:])
	binding.Write(q.qeAuthData)
	if !bytes.Equal(binding.Sum(nil), q.qeReport.reportData[:32]) {
		return nil, fmt.Errorf("%w: QE report data is not SHA-256(attestation key || QE authentication data)", ErrQEReportData)
	}

	// The quoting enclave is Intel's.
	qeLevel, err := checkQEIdentity(q, &qeID)
	if err != nil {
		return nil, err
	}

	// The quote is signed by the attestation key.
	attKey, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, q.attestationKey[:]...))
	if err != nil {
		return nil, fmt.Errorf("%w: attestation key is not a P-256 point: %w", ErrQuoteSignature, err)
	}
	if !verifyRS(attKey, q.signed, q.signature[:]) {
		return nil, fmt.Errorf("%w: quote header and body are not signed by the attestation key", ErrQuoteSignature)
	}

	// Everything is authentic; now rate the platform.
	status, advisories, below, err := evaluateTCB(q, &tcbInfo, ext, qeLevel)
	if err != nil {
		return nil, err
	}
	res := &Result{Kind: kind, TCBStatus: status, AdvisoryIDs: advisories, TCBBelowEveryLevel: below}
	if q.sgx != nil {
		r := q.sgx
		res.ReportData = r.reportData
		res.Debug = r.attributes[0]&sgxAttributeDebug != 0
		res.SGX = &SGXMeasurement{
			MREnclave: r.mrEnclave, MRSigner: r.mrSigner, ISVProdID: r.isvProdID, ISVSVN: r.isvSVN,
			Attributes: r.attributes, MiscSelect: binary.LittleEndian.Uint32(r.miscSelect[:]), CPUSVN: r.cpuSVN,
			ConfigID: r.configID, ConfigSVN: r.configSVN, ISVExtProdID: r.isvExtProdID, ISVFamilyID: r.isvFamilyID,
		}
	} else {
		r := q.td
		res.ReportData = r.reportData
		res.Debug = r.tdAttributes[0]&tdAttributeDebug != 0
		res.TDX = &TDXMeasurement{
			MRTD: r.mrTD, RTMR: r.rtmr, TDAttributes: r.tdAttributes, XFAM: r.xfam,
			MRConfigID: r.mrConfigID, MROwner: r.mrOwner, MROwnerConfig: r.mrOwnerConfig,
			MRSeam: r.mrSeam, MRSignerSeam: r.mrSignerSeam, SeamAttributes: r.seamAttributes,
			TEETCBSVN: r.teeTCBSVN, TD15: r.td15, TEETCBSVN2: r.teeTCBSVN2, MRServiceTD: r.mrServiceTD,
		}
	}
	return res, nil
}

// verifyPCKChain checks the PCK certificate chain embedded in the quote and
// returns the PCK (leaf) certificate and its issuing CA.
func (v *Verifier) verifyPCKChain(q *dcapQuote, now time.Time) (pck, ca *x509.Certificate, err error) {
	if q.certDataType != certDataPCKCertChain {
		name := map[uint16]string{
			certDataPPIDCleartext: "cleartext PPID",
			certDataPPIDRSA2048:   "PPID encrypted with RSA-2048",
			certDataPPIDRSA3072:   "PPID encrypted with RSA-3072",
		}[q.certDataType]
		if name == "" {
			name = "unknown"
		}
		return nil, nil, fmt.Errorf("%w: the quote carries certification data type %d (%s) instead of the PCK certificate chain (type 5); "+
			"configure the quote provider (e.g. PCCS/QCNL) to embed the PCK chain", ErrCertChain, q.certDataType, name)
	}
	certs, err := parsePEMCertificates(q.certData, "PCK certificate chain", ErrCertChain)
	if err != nil {
		return nil, nil, err
	}
	if len(certs) != 3 {
		return nil, nil, fmt.Errorf("%w: PCK certificate chain has %d certificates, want 3 (PCK, PCK CA, root)", ErrCertChain, len(certs))
	}
	if err := v.verifyChain(certs, "PCK certificate chain", now); err != nil {
		return nil, nil, err
	}
	if !strings.Contains(certs[0].Subject.CommonName, "SGX PCK Certificate") {
		return nil, nil, fmt.Errorf("%w: leaf %q is not an SGX PCK certificate", ErrCertChain, certs[0].Subject.CommonName)
	}
	return certs[0], certs[1], nil
}

// verifyIssuerChain checks a collateral issuer chain (signer first, root
// optional and last) and returns its signer, whose common name must contain
// signerCN: a genuine Intel certificate of another role (say, a PCK CA)
// must not be able to sign TCB info.
func (v *Verifier) verifyIssuerChain(pemChain, what, signerCN string, now time.Time) (*x509.Certificate, error) {
	certs, err := parsePEMCertificates([]byte(pemChain), what, ErrCertChain)
	if err != nil {
		return nil, err
	}
	if err := v.verifyChain(certs, what, now); err != nil {
		return nil, err
	}
	if !strings.Contains(certs[0].Subject.CommonName, signerCN) {
		return nil, fmt.Errorf("%w: %s is signed by %q, not an %q certificate", ErrCertChain, what, certs[0].Subject.CommonName, signerCN)
	}
	return certs[0], nil
}

// Common names Intel gives its collateral signers.
const (
	tcbSigningCN = "Intel SGX TCB Signing"
	pckCACN      = "Intel SGX PCK"
)

// verifyChain verifies certs (leaf first) up to the embedded Intel SGX Root
// CA at time now. A root included in certs is accepted only if it is the
// embedded one, and every supplied certificate must be part of the verified
// chain, so no unchecked certificate rides along.
func (v *Verifier) verifyChain(certs []*x509.Certificate, what string, now time.Time) error {
	chain := certs
	if last := certs[len(certs)-1]; bytes.Equal(last.RawIssuer, last.RawSubject) {
		if !last.Equal(v.intelRoot) {
			return fmt.Errorf("%w: %s ends in root %q which is not the Intel SGX Root CA this build trusts", ErrCertChain, what, last.Subject.CommonName)
		}
		chain = certs[:len(certs)-1]
	}
	if len(chain) == 0 {
		return fmt.Errorf("%w: %s holds only the root certificate", ErrCertChain, what)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	verified, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         v.intelRoots,
		Intermediates: inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return fmt.Errorf("%w: %s at %s: %w", ErrCertExpired, what, now.UTC().Format(time.RFC3339), err)
		}
		return fmt.Errorf("%w: %s: %w", ErrCertChain, what, err)
	}
	for _, vc := range verified {
		if len(vc) != len(chain)+1 {
			continue
		}
		same := true
		for i, c := range chain {
			if !vc[i].Equal(c) {
				same = false
				break
			}
		}
		if same {
			return nil
		}
	}
	return fmt.Errorf("%w: %s: the supplied certificates do not form a single path to the root", ErrCertChain, what)
}

// checkRevocation checks the CRLs the collateral carries: the root CA CRL
// against every intermediate CA in use, the PCK CRL against the PCK
// certificate. Both must be signed by the right CA and current at now.
func (v *Verifier) checkRevocation(col *DCAPCollateral, pck, pckCA *x509.Certificate, signers []*x509.Certificate, now time.Time) error {
	var crlChainCA *x509.Certificate
	if col.PCKCRLIssuerChain != "" {
		certs, err := parsePEMCertificates([]byte(col.PCKCRLIssuerChain), "PCK CRL issuer chain", ErrCertChain)
		if err != nil {
			return err
		}
		// Usually it is the quote's own PCK CA (and the root), verified
		// moments ago; anything else is verified in full.
		same := certs[0].Equal(pckCA) && (len(certs) == 1 || (len(certs) == 2 && certs[1].Equal(v.intelRoot)))
		if !same {
			if err := v.verifyChain(certs, "PCK CRL issuer chain", now); err != nil {
				return err
			}
			if !strings.Contains(certs[0].Subject.CommonName, pckCACN) {
				return fmt.Errorf("%w: PCK CRL issuer chain is for %q, not a PCK CA", ErrCertChain, certs[0].Subject.CommonName)
			}
			crlChainCA = certs[0]
		}
	}
	if col.RootCACRL != "" {
		crl, err := parseCRL(col.RootCACRL, "root CA CRL", v.intelRoot, now)
		if err != nil {
			return err
		}
		cas := append([]*x509.Certificate{pckCA}, signers...)
		if crlChainCA != nil {
			cas = append(cas, crlChainCA)
		}
		for _, c := range cas {
			if err := notRevoked(crl, c, "root CA CRL"); err != nil {
				return err
			}
		}
	}
	if col.PCKCRL != "" {
		crl, err := parseCRL(col.PCKCRL, "PCK CRL", pckCA, now)
		if err != nil {
			return err
		}
		if err := notRevoked(crl, pck, "PCK CRL"); err != nil {
			return err
		}
	}
	return nil
}

// parseCRL decodes a hex DER CRL and checks its issuer, signature and window.
func parseCRL(hexDER, what string, issuer *x509.Certificate, now time.Time) (*x509.RevocationList, error) {
	der, err := decodeHexField(hexDER, what)
	if err != nil {
		return nil, err
	}
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCRL, what, err)
	}
	if !bytes.Equal(crl.RawIssuer, issuer.RawSubject) {
		return nil, fmt.Errorf("%w: %s is issued by %q, expected %q", ErrCRL, what, crl.Issuer.CommonName, issuer.Subject.CommonName)
	}
	if err := crl.CheckSignatureFrom(issuer); err != nil {
		return nil, fmt.Errorf("%w: %s signature: %w", ErrCRL, what, err)
	}
	if err := checkWindow(what, crl.ThisUpdate, crl.NextUpdate, now); err != nil {
		return nil, err
	}
	return crl, nil
}

func notRevoked(crl *x509.RevocationList, c *x509.Certificate, what string) error {
	if !bytes.Equal(crl.RawIssuer, c.RawIssuer) {
		return nil // a CRL only speaks for certificates of its own issuer
	}
	for _, e := range crl.RevokedCertificateEntries {
		if e.SerialNumber != nil && e.SerialNumber.Cmp(c.SerialNumber) == 0 {
			return fmt.Errorf("%w: %q (serial %x) is listed in the %s since %s", ErrRevoked,
				c.Subject.CommonName, c.SerialNumber, what, e.RevocationTime.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// checkWindow enforces issue ≤ now ≤ next (a zero next means no end).
func checkWindow(what string, issue, next, now time.Time) error {
	if now.Before(issue) {
		return fmt.Errorf("%w: %s issued %s, after %s", ErrCollateralNotYetValid, what,
			issue.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	if !next.IsZero() && now.After(next) {
		return fmt.Errorf("%w: %s next update was due %s, before %s", ErrCollateralExpired, what,
			next.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

// verifyRawECDSA checks a hex raw r||s P-256 signature of SHA-256(msg).
func verifyRawECDSA(pub any, msg []byte, sigHex, what string) error {
	key, ok := pub.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return fmt.Errorf("%w: %s signer key is not ECDSA P-256", ErrCertChain, what)
	}
	sig, err := decodeHexField(sigHex, what+" signature")
	if err != nil {
		return err
	}
	if len(sig) != 64 {
		return fmt.Errorf("%w: %s signature is %d bytes, want 64 (raw r||s)", ErrCollateralFormat, what, len(sig))
	}
	if !verifyRS(key, msg, sig) {
		return fmt.Errorf("%w: %s is not signed by its issuer chain's signer", ErrCollateralSignature, what)
	}
	return nil
}

// verifyRS checks a raw 64-byte r||s ECDSA P-256 signature of SHA-256(msg).
func verifyRS(key *ecdsa.PublicKey, msg, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	digest := sha256.Sum256(msg)
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(key, digest[:], r, s)
}

// pckInfo is what the verifier needs from the PCK certificate's SGX
// extensions (OID 1.2.840.113741.1.13.1).
type pckInfo struct {
	fmspc  []byte
	pceID  []byte
	comps  [16]byte // SGX TCB component SVNs 1..16
	pceSVN uint16
}

// pckExtensions extracts FMSPC, PCE ID and the TCB from the PCK certificate
// with go-tdx-guest's parser, then insists that each is present.
func pckExtensions(pck *x509.Certificate) (*pckInfo, error) {
	ext, err := pcs.PckCertificateExtensions(pck)
	if err != nil {
		return nil, fmt.Errorf("%w: PCK certificate SGX extensions: %w", ErrCertChain, err)
	}
	fmspc, err := hex.DecodeString(ext.FMSPC)
	if err != nil || len(fmspc) != 6 {
		return nil, fmt.Errorf("%w: PCK certificate lacks a 6-byte FMSPC", ErrCertChain)
	}
	pceID, err := hex.DecodeString(ext.PCEID)
	if err != nil || len(pceID) != 2 {
		return nil, fmt.Errorf("%w: PCK certificate lacks a 2-byte PCE ID", ErrCertChain)
	}
	if len(ext.TCB.CPUSvnComponents) != 16 {
		return nil, fmt.Errorf("%w: PCK certificate lacks the 16 SGX TCB components", ErrCertChain)
	}
	info := &pckInfo{fmspc: fmspc, pceID: pceID, pceSVN: ext.TCB.PCESvn}
	copy(info.comps[:], ext.TCB.CPUSvnComponents)
	return info, nil
}

// checkTCBInfoMatches: the TCB info is for this TEE (4.1.2.4.9) and this
// platform (FMSPC, PCE ID; 4.1.2.4.10). Intel publishes FMSPCs in upper
// case while PCK certificates hold bytes, so FMSPC and PCE ID are compared
// as decoded bytes, which is case-insensitive (go-tdx-guest compares the
// hex strings and so rejects genuine collateral written in upper case).
func checkTCBInfoMatches(q *dcapQuote, ti *pcs.TcbInfo, ext *pckInfo) error {
	if ti.Version != 3 {
		return fmt.Errorf("%w: TCB info version %d (only version 3, from PCS API v4, is supported)", ErrUnsupported, ti.Version)
	}
	wantID := "SGX"
	if q.td != nil {
		wantID = "TDX"
	}
	if ti.ID != wantID {
		return fmt.Errorf("%w: TCB info id %q for a %s quote", ErrTCBInfoMismatch, ti.ID, wantID)
	}
	if ti.TcbType != 0 {
		return fmt.Errorf("%w: TCB info tcbType %d (only 0 is defined)", ErrUnsupported, ti.TcbType)
	}
	fmspc, err := hex.DecodeString(ti.Fmspc)
	if err != nil {
		return fmt.Errorf("%w: TCB info fmspc %q is not hex", ErrCollateralFormat, ti.Fmspc)
	}
	if !bytes.Equal(fmspc, ext.fmspc) {
		return fmt.Errorf("%w: TCB info is for FMSPC %X, the PCK certificate has %X", ErrTCBInfoMismatch, fmspc, ext.fmspc)
	}
	pceID, err := hex.DecodeString(ti.PceID)
	if err != nil {
		return fmt.Errorf("%w: TCB info pceId %q is not hex", ErrCollateralFormat, ti.PceID)
	}
	if !bytes.Equal(pceID, ext.pceID) {
		return fmt.Errorf("%w: TCB info is for PCE ID %X, the PCK certificate has %X", ErrTCBInfoMismatch, pceID, ext.pceID)
	}
	return nil
}

// checkTDXModule compares the TDX module that produced the TD report with
// the module identity of the TCB info (4.1.2.4.11): MRSIGNERSEAM must equal
// the expected signer and SEAMATTRIBUTES the expected attributes under mask.
// A module with a major version above zero is described by the matching
// tdxModuleIdentities entry ("TDX_<version>").
func checkTDXModule(q *dcapQuote, ti *pcs.TcbInfo) error {
	mrSigner := ti.TdxModule.Mrsigner.Bytes
	attrs := ti.TdxModule.Attributes.Bytes
	mask := ti.TdxModule.AttributesMask.Bytes
	if version := q.td.teeTCBSVN[1]; q.version > 3 && version > 0 {
		if len(ti.TdxModuleIdentities) == 0 {
			return fmt.Errorf("%w: TDX module version %d but the TCB info lists no tdxModuleIdentities", ErrTCBInfoMismatch, version)
		}
		id := findTDXModuleIdentity(ti, version)
		if id == nil {
			return fmt.Errorf("%w: no TDX module identity TDX_%02X in the TCB info", ErrTDXModuleMismatch, version)
		}
		mrSigner, attrs, mask = id.Mrsigner.Bytes, id.Attributes.Bytes, id.AttributesMask.Bytes
	}
	if !bytes.Equal(mrSigner, q.td.mrSignerSeam[:]) {
		return fmt.Errorf("%w: MRSIGNERSEAM %x, TCB info expects %x", ErrTDXModuleMismatch, q.td.mrSignerSeam[:], mrSigner)
	}
	if len(attrs) != len(q.td.seamAttributes) || len(mask) != len(q.td.seamAttributes) {
		return fmt.Errorf("%w: TCB info TDX module attributes/mask must be 8 bytes", ErrCollateralFormat)
	}
	for i, b := range q.td.seamAttributes {
		if b&mask[i] != attrs[i]&mask[i] {
			return fmt.Errorf("%w: SEAMATTRIBUTES %x, TCB info expects %x under mask %x", ErrTDXModuleMismatch, q.td.seamAttributes[:], attrs, mask)
		}
	}
	return nil
}

// findTDXModuleIdentity finds "TDX_%02X" (ids compared case-insensitively,
// as Intel's QVL does).
func findTDXModuleIdentity(ti *pcs.TcbInfo, version byte) *pcs.TdxModuleIdentity {
	want := fmt.Sprintf("TDX_%02X", version)
	for i := range ti.TdxModuleIdentities {
		if strings.EqualFold(ti.TdxModuleIdentities[i].ID, want) {
			return &ti.TdxModuleIdentities[i]
		}
	}
	return nil
}

// checkQEIdentity matches the QE report against the QE identity
// (4.1.2.4.14-15, 4.1.2.9.5-10) and returns the QE's TCB level, or nil when
// no level covers its ISVSVN (reported later as ErrTCBLevelNotFound, once
// the quote signature is known to be good).
func checkQEIdentity(q *dcapQuote, id *pcs.EnclaveIdentity) (*pcs.TcbLevel, error) {
	wantID := "QE"
	if q.td != nil {
		wantID = "TD_QE"
	}
	if id.ID != wantID || id.Version != 2 {
		return nil, fmt.Errorf("%w: QE identity %q version %d, a %s quote needs %q version 2",
			ErrQEIdentityMismatch, id.ID, id.Version, map[bool]string{true: "TDX", false: "SGX"}[q.td != nil], wantID)
	}
	rep := &q.qeReport
	misc, miscMask := id.Miscselect.Bytes, id.MiscselectMask.Bytes
	if len(misc) != 4 || len(miscMask) != 4 {
		return nil, fmt.Errorf("%w: QE identity miscselect/miscselectMask must be 4 bytes", ErrCollateralFormat)
	}
	for i := range misc {
		if rep.miscSelect[i]&miscMask[i] != misc[i] {
			return nil, fmt.Errorf("%w: QE MISCSELECT %x does not match %x under mask %x", ErrQEIdentityMismatch, rep.miscSelect[:], misc, miscMask)
		}
	}
	attrs, attrMask := id.Attributes.Bytes, id.AttributesMask.Bytes
	if len(attrs) != 16 || len(attrMask) != 16 {
		return nil, fmt.Errorf("%w: QE identity attributes/attributesMask must be 16 bytes", ErrCollateralFormat)
	}
	for i := range attrs {
		if rep.attributes[i]&attrMask[i] != attrs[i] {
			return nil, fmt.Errorf("%w: QE ATTRIBUTES %x do not match %x under mask %x", ErrQEIdentityMismatch, rep.attributes[:], attrs, attrMask)
		}
	}
	if len(id.Mrsigner.Bytes) != 0 && !bytes.Equal(id.Mrsigner.Bytes, rep.mrSigner[:]) {
		return nil, fmt.Errorf("%w: QE MRSIGNER %x, expected %x", ErrQEIdentityMismatch, rep.mrSigner[:], id.Mrsigner.Bytes)
	}
	if rep.isvProdID != id.IsvProdID {
		return nil, fmt.Errorf("%w: QE ISVPRODID %d, expected %d", ErrQEIdentityMismatch, rep.isvProdID, id.IsvProdID)
	}
	for i := range id.TcbLevels {
		if uint32(rep.isvSVN) >= id.TcbLevels[i].Tcb.Isvsvn {
			return &id.TcbLevels[i], nil
		}
	}
	return nil, nil
}
