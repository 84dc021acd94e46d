package attest

import "errors"

// Verification errors. Every error returned by Verifier.Verify wraps exactly
// one of these (test with errors.Is), so the chain can map a rejection to a
// stable code without parsing messages; ErrorCode does that mapping.
var (
	// ErrEvidenceFormat: the evidence bytes are malformed (truncated,
	// trailing bytes, inconsistent lengths, reserved fields set).
	ErrEvidenceFormat = errors.New("malformed evidence")
	// ErrUnsupported: well-formed but of a version, key type, TEE type or
	// vendor this verifier does not handle.
	ErrUnsupported = errors.New("unsupported evidence")
	// ErrKindMismatch: the declared kind does not match the evidence bytes.
	ErrKindMismatch = errors.New("evidence kind mismatch")
	// ErrCollateralFormat: the collateral is malformed or incomplete.
	ErrCollateralFormat = errors.New("malformed collateral")
	// ErrCertChain: a certificate chain (PCK, TCB signing, VCEK...) does not
	// lead to the trusted vendor root, or the quote carries none.
	ErrCertChain = errors.New("invalid certificate chain")
	// ErrCertExpired: a certificate is outside its validity period at the
	// verification time.
	ErrCertExpired = errors.New("certificate expired or not yet valid")
	// ErrCRL: a revocation list is malformed, wrongly signed or issued by
	// another CA than the certificate it should cover.
	ErrCRL = errors.New("invalid certificate revocation list")
	// ErrRevoked: a certificate of the chain is listed in a CRL.
	ErrRevoked = errors.New("certificate revoked")
	// ErrCollateralExpired: TCB info, QE identity or a CRL is past its
	// nextUpdate at the verification time.
	ErrCollateralExpired = errors.New("collateral expired")
	// ErrCollateralNotYetValid: TCB info, QE identity or a CRL was issued
	// after the verification time.
	ErrCollateralNotYetValid = errors.New("collateral not yet valid")
	// ErrCollateralSignature: the TCB info or QE identity signature is wrong.
	ErrCollateralSignature = errors.New("invalid collateral signature")
	// ErrTCBInfoMismatch: the TCB info is for another platform (FMSPC,
	// PCE ID) or another TEE than the quote.
	ErrTCBInfoMismatch = errors.New("TCB info does not match the quote")
	// ErrQEReportSignature: the QE report is not signed by the PCK key.
	ErrQEReportSignature = errors.New("invalid QE report signature")
	// ErrQEReportData: the QE report does not bind the attestation key.
	ErrQEReportData = errors.New("QE report data does not bind the attestation key")
	// ErrQEIdentityMismatch: the quoting enclave is not Intel's QE as
	// described by the QE identity.
	ErrQEIdentityMismatch = errors.New("QE identity mismatch")
	// ErrTDXModuleMismatch: the TDX module is not the one the TCB info
	// describes.
	ErrTDXModuleMismatch = errors.New("TDX module mismatch")
	// ErrTCBLevelNotFound: no TCB level of the collateral matches the
	// platform (Intel's "TCB not supported").
	ErrTCBLevelNotFound = errors.New("no matching TCB level")
	// ErrQuoteSignature: the quote/report/statement signature is wrong.
	ErrQuoteSignature = errors.New("invalid evidence signature")
	// ErrDebugNotAllowed: the TEE runs in debug mode and the policy forbids it.
	ErrDebugNotAllowed = errors.New("debug TEE not allowed")
	// ErrSimulatedNotAllowed: simulated evidence and the policy forbids it.
	ErrSimulatedNotAllowed = errors.New("simulated TEE not allowed")
	// ErrReportDataMismatch: the evidence binds other report data than
	// expected.
	ErrReportDataMismatch = errors.New("report data mismatch")
)

// ErrorCode returns the stable snake_case code of the first sentinel err
// wraps (checked in a fixed order, so the answer is deterministic), "" for nil
// and "internal" for an error that wraps none (a bug).
func ErrorCode(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrSimulatedNotAllowed):
		return "simulated_not_allowed"
	case errors.Is(err, ErrDebugNotAllowed):
		return "debug_not_allowed"
	case errors.Is(err, ErrReportDataMismatch):
		return "report_data_mismatch"
	case errors.Is(err, ErrKindMismatch):
		return "kind_mismatch"
	case errors.Is(err, ErrEvidenceFormat):
		return "evidence_format"
	case errors.Is(err, ErrUnsupported):
		return "unsupported"
	case errors.Is(err, ErrCollateralFormat):
		return "collateral_format"
	case errors.Is(err, ErrCertExpired):
		return "cert_expired"
	case errors.Is(err, ErrRevoked):
		return "revoked"
	case errors.Is(err, ErrCRL):
		return "crl"
	case errors.Is(err, ErrCertChain):
		return "cert_chain"
	case errors.Is(err, ErrCollateralExpired):
		return "collateral_expired"
	case errors.Is(err, ErrCollateralNotYetValid):
		return "collateral_not_yet_valid"
	case errors.Is(err, ErrCollateralSignature):
		return "collateral_signature"
	case errors.Is(err, ErrTCBInfoMismatch):
		return "tcb_info_mismatch"
	case errors.Is(err, ErrQEReportSignature):
		return "qe_report_signature"
	case errors.Is(err, ErrQEReportData):
		return "qe_report_data"
	case errors.Is(err, ErrQEIdentityMismatch):
		return "qe_identity_mismatch"
	case errors.Is(err, ErrTDXModuleMismatch):
		return "tdx_module_mismatch"
	case errors.Is(err, ErrTCBLevelNotFound):
		return "tcb_level_not_found"
	case errors.Is(err, ErrQuoteSignature):
		return "quote_signature"
	default:
		return "internal"
	}
}
