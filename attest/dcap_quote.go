package attest

import (
	"encoding/binary"
	"fmt"
)

// Layout constants of Intel DCAP quotes (Intel SGX/TDX DCAP Quoting Library
// API, appendix "Quote format"). All integers are little endian.
const (
	quoteHeaderLen = 48
	sgxReportLen   = 384
	td10ReportLen  = 584
	td15ReportLen  = 648 // TD 1.0 body + TEE_TCB_SVN2 (16) + MRSERVICETD (48)

	teeTypeSGX = 0x00000000
	teeTypeTDX = 0x00000081

	attestationKeyECDSAP256 = 2

	// Certification data types.
	certDataPPIDCleartext = 1
	certDataPPIDRSA2048   = 2
	certDataPPIDRSA3072   = 3
	certDataPCKCertChain  = 5
	certDataQEReportCert  = 6

	// Quote v5 body types.
	bodyTypeSGX  = 1
	bodyTypeTD10 = 2
	bodyTypeTD15 = 3

	// intelQEVendorID is Intel's quoting enclave vendor ID
	// 939A7233-F79C-4CA9-940A-0DB3957F0607, as raw bytes.
	intelQEVendorID = "\x93\x9a\x72\x33\xf7\x9c\x4c\xa9\x94\x0a\x0d\xb3\x95\x7f\x06\x07"
)

// sgxReport is an SGX enclave report body (the ISV enclave of an SGX quote,
// or the quoting enclave of any DCAP quote).
type sgxReport struct {
	raw          []byte
	cpuSVN       [16]byte
	miscSelect   [4]byte // raw little-endian bytes, compared bytewise with masks
	isvExtProdID [16]byte
	attributes   [16]byte
	mrEnclave    [32]byte
	mrSigner     [32]byte
	configID     [64]byte
	isvProdID    uint16
	isvSVN       uint16
	configSVN    uint16
	isvFamilyID  [16]byte
	reportData   [64]byte
}

// sgxAttributeDebug is the DEBUG flag in the first byte of ATTRIBUTES.
const sgxAttributeDebug = 0x02

func parseSGXReport(b []byte) sgxReport {
	var r sgxReport
	r.raw = b
	copy(r.cpuSVN[:], b[0:16])
	copy(r.miscSelect[:], b[16:20])
	copy(r.isvExtProdID[:], b[32:48])
	copy(r.attributes[:], b[48:64])
	copy(r.mrEnclave[:], b[64:96])
	copy(r.mrSigner[:], b[128:160])
	copy(r.configID[:], b[192:256])
	r.isvProdID = binary.LittleEndian.Uint16(b[256:])
	r.isvSVN = binary.LittleEndian.Uint16(b[258:])
	r.configSVN = binary.LittleEndian.Uint16(b[260:])
	copy(r.isvFamilyID[:], b[304:320])
	copy(r.reportData[:], b[320:384])
	return r
}

// tdReport is a TD 1.0 or TD 1.5 quote body.
type tdReport struct {
	teeTCBSVN      [16]byte
	mrSeam         [48]byte
	mrSignerSeam   [48]byte
	seamAttributes [8]byte
	tdAttributes   [8]byte
	xfam           [8]byte
	mrTD           [48]byte
	mrConfigID     [48]byte
	mrOwner        [48]byte
	mrOwnerConfig  [48]byte
	rtmr           [4][48]byte
	reportData     [64]byte
	td15           bool
	teeTCBSVN2     [16]byte
	mrServiceTD    [48]byte
}

// tdAttributeDebug is TUD.DEBUG, bit 0 of TDATTRIBUTES.
const tdAttributeDebug = 0x01

func parseTDReport(b []byte) tdReport {
	var r tdReport
	off := 0
	take := func(dst []byte) { off += copy(dst, b[off:off+len(dst)]) }
	take(r.teeTCBSVN[:])
	take(r.mrSeam[:])
	take(r.mrSignerSeam[:])
	take(r.seamAttributes[:])
	take(r.tdAttributes[:])
	take(r.xfam[:])
	take(r.mrTD[:])
	take(r.mrConfigID[:])
	take(r.mrOwner[:])
	take(r.mrOwnerConfig[:])
	for i := range r.rtmr {
		take(r.rtmr[i][:])
	}
	take(r.reportData[:])
	if len(b) == td15ReportLen {
		r.td15 = true
		take(r.teeTCBSVN2[:])
		take(r.mrServiceTD[:])
	}
	return r
}

// dcapQuote is a parsed SGX/TDX DCAP quote with ECDSA-P256 attestation key.
type dcapQuote struct {
	version    uint16
	attKeyType uint16
	teeType    uint32
	qeVendorID [16]byte
	bodyType   uint16
	sgx        *sgxReport
	td         *tdReport

	// signed is header || (v5: body type || body size) || body: the bytes
	// the attestation key signs.
	signed []byte

	signature         [64]byte
	attestationKey    [64]byte
	qeReport          sgxReport
	qeReportSignature [64]byte
	qeAuthData        []byte
	certDataType      uint16
	certData          []byte
}

// quoteReader walks a byte slice, turning every out-of-bounds read into a
// single ErrEvidenceFormat error naming the field.
type quoteReader struct {
	b   []byte
	off int
	err error
}

func (r *quoteReader) take(n int, field string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.err = fmt.Errorf("%w: quote truncated in %s at offset %d (need %d bytes, have %d)",
			ErrEvidenceFormat, field, r.off, n, len(r.b)-r.off)
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

func (r *quoteReader) u16(field string) uint16 {
	if b := r.take(2, field); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *quoteReader) u32(field string) uint32 {
	if b := r.take(4, field); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// end requires that everything was consumed: strict parsing rejects any
// trailing byte, so the same quote has exactly one valid encoding.
func (r *quoteReader) end(what string) {
	if r.err == nil && r.off != len(r.b) {
		r.err = fmt.Errorf("%w: %d unexpected trailing bytes after %s", ErrEvidenceFormat, len(r.b)-r.off, what)
	}
}

// parseQuote parses an SGX quote v3, or an SGX/TDX quote v4 or v5, strictly:
// every length field must match the data exactly and nothing may follow the
// signature data. It checks the structure only; parseQuote never judges
// signatures or identities.
func parseQuote(raw []byte) (*dcapQuote, error) {
	q := &dcapQuote{}
	r := &quoteReader{b: raw}
	hdr := r.take(quoteHeaderLen, "header")
	if r.err != nil {
		return nil, r.err
	}
	q.version = binary.LittleEndian.Uint16(hdr[0:])
	q.attKeyType = binary.LittleEndian.Uint16(hdr[2:])
	q.teeType = binary.LittleEndian.Uint32(hdr[4:])
	copy(q.qeVendorID[:], hdr[12:28])

	if q.attKeyType != attestationKeyECDSAP256 {
		return nil, fmt.Errorf("%w: attestation key type %d (only 2, ECDSA-256-with-P-256, is supported)", ErrUnsupported, q.attKeyType)
	}
	if q.teeType != teeTypeSGX && q.teeType != teeTypeTDX {
		return nil, fmt.Errorf("%w: TEE type %#x (want 0x0 for SGX or 0x81 for TDX)", ErrUnsupported, q.teeType)
	}

	var bodyLen int
	switch q.version {
	case 3:
		if q.teeType != teeTypeSGX {
			return nil, fmt.Errorf("%w: quote v3 with TEE type %#x (v3 is SGX only)", ErrEvidenceFormat, q.teeType)
		}
		q.bodyType, bodyLen = bodyTypeSGX, sgxReportLen
	case 4:
		if q.teeType == teeTypeSGX {
			q.bodyType, bodyLen = bodyTypeSGX, sgxReportLen
		} else {
			q.bodyType, bodyLen = bodyTypeTD10, td10ReportLen
		}
	case 5:
		q.bodyType = r.u16("body type")
		size := r.u32("body size")
		if r.err != nil {
			return nil, r.err
		}
		var wantTEE uint32
		switch q.bodyType {
		case bodyTypeSGX:
			bodyLen, wantTEE = sgxReportLen, teeTypeSGX
		case bodyTypeTD10:
			bodyLen, wantTEE = td10ReportLen, teeTypeTDX
		case bodyTypeTD15:
			bodyLen, wantTEE = td15ReportLen, teeTypeTDX
		default:
			return nil, fmt.Errorf("%w: quote v5 body type %d", ErrUnsupported, q.bodyType)
		}
		if size != uint32(bodyLen) {
			return nil, fmt.Errorf("%w: quote v5 body type %d declares size %d, want %d", ErrEvidenceFormat, q.bodyType, size, bodyLen)
		}
		if q.teeType != wantTEE {
			return nil, fmt.Errorf("%w: quote v5 body type %d with TEE type %#x", ErrEvidenceFormat, q.bodyType, q.teeType)
		}
	default:
		return nil, fmt.Errorf("%w: DCAP quote version %d (want 3, 4 or 5)", ErrUnsupported, q.version)
	}

	body := r.take(bodyLen, "report body")
	if r.err != nil {
		return nil, r.err
	}
	if q.bodyType == bodyTypeSGX {
		rep := parseSGXReport(body)
		q.sgx = &rep
	} else {
		rep := parseTDReport(body)
		q.td = &rep
	}
	q.signed = raw[:r.off]

	sigLen := r.u32("signature data length")
	if r.err != nil {
		return nil, r.err
	}
	if uint64(sigLen) != uint64(len(raw)-r.off) {
		if uint64(sigLen) < uint64(len(raw)-r.off) {
			return nil, fmt.Errorf("%w: %d unexpected trailing bytes after the %d-byte signature data",
				ErrEvidenceFormat, uint64(len(raw)-r.off)-uint64(sigLen), sigLen)
		}
		return nil, fmt.Errorf("%w: signature data length %d exceeds the %d remaining bytes", ErrEvidenceFormat, sigLen, len(raw)-r.off)
	}
	copy(q.signature[:], r.take(64, "quote signature"))
	copy(q.attestationKey[:], r.take(64, "attestation key"))
	if r.err != nil {
		return nil, r.err
	}

	qeCert := r
	if q.version >= 4 {
		typ := r.u16("certification data type")
		size := r.u32("certification data size")
		if r.err != nil {
			return nil, r.err
		}
		if typ != certDataQEReportCert {
			return nil, fmt.Errorf("%w: quote v%d certification data type %d (want 6, QE report certification data)", ErrUnsupported, q.version, typ)
		}
		data := r.take(int(size), "certification data")
		r.end("the certification data")
		if r.err != nil {
			return nil, r.err
		}
		qeCert = &quoteReader{b: data}
	}
	if err := q.parseQEReportCertData(qeCert); err != nil {
		return nil, err
	}
	return q, nil
}

// parseQEReportCertData parses QE report || QE report signature || QE
// authentication data || certification data, consuming r entirely.
func (q *dcapQuote) parseQEReportCertData(r *quoteReader) error {
	q.qeReport = parseSGXReportOrNil(r.take(sgxReportLen, "QE report"))
	copy(q.qeReportSignature[:], r.take(64, "QE report signature"))
	authLen := r.u16("QE authentication data size")
	q.qeAuthData = r.take(int(authLen), "QE authentication data")
	q.certDataType = r.u16("PCK certification data type")
	size := r.u32("PCK certification data size")
	q.certData = r.take(int(size), "PCK certification data")
	r.end("the PCK certification data")
	return r.err
}

func parseSGXReportOrNil(b []byte) sgxReport {
	if len(b) != sgxReportLen {
		return sgxReport{}
	}
	return parseSGXReport(b)
}

// quoteLength returns the length a DCAP quote declares through its header,
// body and signature-data length fields, or false if raw does not start like
// a DCAP quote.
func quoteLength(raw []byte) (int, bool) {
	if len(raw) < quoteHeaderLen+4 {
		return 0, false
	}
	version := binary.LittleEndian.Uint16(raw[0:])
	tee := binary.LittleEndian.Uint32(raw[4:])
	if binary.LittleEndian.Uint16(raw[2:]) != attestationKeyECDSAP256 {
		return 0, false
	}
	off := quoteHeaderLen
	switch {
	case version == 3 || (version == 4 && tee == teeTypeSGX):
		off += sgxReportLen
	case version == 4 && tee == teeTypeTDX:
		off += td10ReportLen
	case version == 5:
		if len(raw) < quoteHeaderLen+6 {
			return 0, false
		}
		off += 6 + int(binary.LittleEndian.Uint32(raw[quoteHeaderLen+2:]))
	default:
		return 0, false
	}
	if off < 0 || len(raw) < off+4 {
		return 0, false
	}
	n := uint64(off) + 4 + uint64(binary.LittleEndian.Uint32(raw[off:]))
	if n > uint64(len(raw)) {
		return 0, false
	}
	return int(n), true
}

// TrimQuotePadding removes zero bytes that follow the end of a DCAP quote,
// as left by quote-generation services that return a fixed-size buffer. It
// returns the quote and the number of bytes removed; anything that is not a
// DCAP quote followed only by zeros is returned unchanged.
//
// Verification itself is strict and rejects trailing bytes (one quote, one
// encoding), so evidence producers and tools call this before submitting.
func TrimQuotePadding(quote []byte) ([]byte, int) {
	n, ok := quoteLength(quote)
	if !ok || n == len(quote) {
		return quote, 0
	}
	for _, b := range quote[n:] {
		if b != 0 {
			return quote, 0
		}
	}
	return quote[:n], len(quote) - n
}

// DetectKind guesses the evidence kind from its bytes, for tools that accept
// files without a declared kind. Verification never relies on it: the kind
// travels with the evidence and is checked against the bytes.
func DetectKind(quote []byte) (Kind, error) {
	switch {
	case len(quote) >= len(simulatedMagic) && string(quote[:len(simulatedMagic)]) == simulatedMagic:
		return KindSimulated, nil
	case len(quote) >= quoteHeaderLen && binary.LittleEndian.Uint16(quote[2:]) == attestationKeyECDSAP256:
		version := binary.LittleEndian.Uint16(quote[0:])
		tee := binary.LittleEndian.Uint32(quote[4:])
		if version >= 3 && version <= 5 {
			switch tee {
			case teeTypeSGX:
				return KindSGX, nil
			case teeTypeTDX:
				return KindTDX, nil
			}
		}
	case len(quote) >= sevReportSize:
		version := binary.LittleEndian.Uint32(quote[0:])
		if version >= 2 && version <= 5 {
			return KindSEVSNP, nil
		}
	}
	return "", fmt.Errorf("%w: cannot recognise the evidence format (%d bytes)", ErrUnsupported, len(quote))
}
