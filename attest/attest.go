// Package attest produces remote-attestation evidence inside a TEE and
// verifies it offline.
//
// A worker proves it runs genuine, unmodified code inside a trusted execution
// environment by handing the chain an Evidence that binds 64 bytes of report
// data (see ARCHITECTURE.md, decision 7) to a hardware-signed measurement.
// The chain checks it with a Verifier against collateral carried in the same
// transaction, at the block time: verification never touches the network or
// the wall clock, so every validator reaches the same verdict.
//
// Four kinds of evidence exist: Intel SGX DCAP quotes (v3), Intel TDX quotes
// (v4 and v5), AMD SEV-SNP attestation reports, and a simulated kind for
// development networks that is accepted only when the policy says so.
package attest

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// Kind names a TEE technology. The string values are stable: they appear in
// transactions, in the on-chain allowlist keys and in the CLI output.
type Kind string

// The supported evidence kinds.
const (
	KindSGX       Kind = "sgx"
	KindTDX       Kind = "tdx"
	KindSEVSNP    Kind = "sev-snp"
	KindSimulated Kind = "simulated"
)

// ParseKind maps a user- or transaction-supplied name to a Kind. The
// architecture brief calls the SGX kind "sgx-dcap", so that spelling is
// accepted as an alias; the canonical form is "sgx".
func ParseKind(s string) (Kind, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "sgx", "sgx-dcap":
		return KindSGX, nil
	case "tdx":
		return KindTDX, nil
	case "sev-snp", "sevsnp", "snp":
		return KindSEVSNP, nil
	case "simulated":
		return KindSimulated, nil
	default:
		return "", fmt.Errorf("%w: unknown TEE kind %q (want sgx, tdx, sev-snp or simulated)", ErrUnsupported, s)
	}
}

// Evidence is what a Platform produces and a Verifier checks: the TEE kind
// and the raw, hardware-produced bytes (a DCAP quote, an SEV-SNP report
// optionally followed by its certificate table, or a simulated statement).
// The bytes are kept exactly as produced because signatures cover them.
type Evidence struct {
	Kind  Kind   `json:"kind"`
	Quote []byte `json:"quote"`
}

// Platform is the TEE the current process runs in.
type Platform interface {
	// Kind reports which TEE technology the platform uses.
	Kind() Kind
	// Evidence asks the hardware for evidence binding reportData.
	Evidence(ctx context.Context, reportData [64]byte) (Evidence, error)
	// SealingKey derives a 32-byte key, specific to this platform and code
	// identity and separated by label, for encrypting data at rest. The same
	// label on the same platform running the same code yields the same key.
	SealingKey(ctx context.Context, label string) ([]byte, error)
}

// Policy is what the verifier judges beyond authenticity. The zero value is
// the production policy: no debug TEEs, no simulated evidence. TCB statuses
// are reported, not judged here; accepting them is the chain registry's job.
type Policy struct {
	// AllowDebug accepts evidence from debug enclaves, debug TDs and SEV-SNP
	// guests whose policy allows debugging. Their memory is readable by the
	// host, so this must stay false outside development.
	AllowDebug bool
	// AllowSimulated accepts simulated evidence (development networks only,
	// set from the genesis parameter allow_simulated_tee).
	AllowSimulated bool
	// ReportData, when non-nil, must be 64 bytes and equal the report data
	// the evidence binds; otherwise verification fails with
	// ErrReportDataMismatch. Nil leaves the comparison to the caller (see
	// Result.CheckReportData).
	ReportData []byte
}

// TCBStatus is the platform's TCB status as published by the vendor
// (Intel's status strings, merged following Intel's QVL rules).
type TCBStatus string

// TCB statuses. The first seven are Intel's TCB level statuses; the two
// relaunch statuses come from Intel's TD 1.5 rules; the last two mark
// evidence for which no vendor status exists.
const (
	TCBUpToDate                             TCBStatus = "UpToDate"
	TCBSWHardeningNeeded                    TCBStatus = "SWHardeningNeeded"
	TCBConfigurationNeeded                  TCBStatus = "ConfigurationNeeded"
	TCBConfigurationAndSWHardeningNeeded    TCBStatus = "ConfigurationAndSWHardeningNeeded"
	TCBOutOfDate                            TCBStatus = "OutOfDate"
	TCBOutOfDateConfigurationNeeded         TCBStatus = "OutOfDateConfigurationNeeded"
	TCBRevoked                              TCBStatus = "Revoked"
	TCBTDRelaunchAdvised                    TCBStatus = "TDRelaunchAdvised"
	TCBTDRelaunchAdvisedConfigurationNeeded TCBStatus = "TDRelaunchAdvisedConfigurationNeeded"
	// TCBNotEvaluated: AMD publishes no TCB status service; the SEV-SNP
	// reported TCB is returned in the measurement for the registry to judge.
	TCBNotEvaluated TCBStatus = "NotEvaluated"
	// TCBNotApplicable: simulated evidence has no hardware TCB.
	TCBNotApplicable TCBStatus = "NotApplicable"
)

// Result is what a successful verification establishes.
type Result struct {
	Kind Kind
	// TCBStatus and AdvisoryIDs describe the platform's patch level.
	TCBStatus   TCBStatus
	AdvisoryIDs []string
	// TCBBelowEveryLevel (SGX/TDX) is true when the platform's TCB is not
	// at or above any TCB level of Intel's TCB info component by component
	// (Intel's QVL: "TCB not supported"), and was rated by the level it
	// follows in Intel's order of levels instead. TCBStatus is then at best
	// OutOfDate. A registry may refuse such platforms outright.
	TCBBelowEveryLevel bool
	// ReportData is the 64 bytes the evidence binds.
	ReportData [64]byte
	// Debug is true for debug enclaves/TDs/guests (only possible when
	// Policy.AllowDebug was set).
	Debug bool
	// Exactly one of the following is set, according to Kind.
	SGX       *SGXMeasurement
	TDX       *TDXMeasurement
	SEVSNP    *SEVSNPMeasurement
	Simulated *SimulatedMeasurement
}

// SGXMeasurement holds the enclave identity from an SGX report body.
type SGXMeasurement struct {
	MREnclave    [32]byte
	MRSigner     [32]byte
	ISVProdID    uint16
	ISVSVN       uint16
	Attributes   [16]byte
	MiscSelect   uint32
	CPUSVN       [16]byte
	ConfigID     [64]byte
	ConfigSVN    uint16
	ISVExtProdID [16]byte
	ISVFamilyID  [16]byte
}

// TDXMeasurement holds the trust domain identity from a TD report body.
type TDXMeasurement struct {
	MRTD           [48]byte
	RTMR           [4][48]byte
	TDAttributes   [8]byte
	XFAM           [8]byte
	MRConfigID     [48]byte
	MROwner        [48]byte
	MROwnerConfig  [48]byte
	MRSeam         [48]byte
	MRSignerSeam   [48]byte
	SeamAttributes [8]byte
	TEETCBSVN      [16]byte
	// TD15 is true for a TD 1.5 body (quote v5, body type 3), which adds
	// TEETCBSVN2 and MRServiceTD.
	TD15        bool
	TEETCBSVN2  [16]byte
	MRServiceTD [48]byte
}

// SEVSNPMeasurement holds the guest identity from an SEV-SNP report.
type SEVSNPMeasurement struct {
	Version         uint32
	Measurement     [48]byte
	Policy          uint64
	HostData        [32]byte
	GuestSVN        uint32
	VMPL            uint32
	FamilyID        [16]byte
	ImageID         [16]byte
	IDKeyDigest     [48]byte
	AuthorKeyDigest [48]byte
	// ReportedTCB is the TCB version the VCEK/VLEK certifies (bootloader,
	// TEE, SNP and microcode SPLs packed as in the SEV-SNP ABI).
	ReportedTCB uint64
	ChipID      [64]byte
	// SigningKey is "vcek" or "vlek".
	SigningKey string
}

// SimulatedMeasurement holds the statement of a simulated platform.
type SimulatedMeasurement struct {
	Measurement []byte
	// PlatformKey is the ed25519 key that signed the statement; it
	// identifies the simulated platform, not the code.
	PlatformKey []byte
}

// measurementIDDomain separates measurement-ID preimages from any other hash
// in the system, and versions the encoding.
const measurementIDDomain = "veil/measurement-id/v1"

// MeasurementID returns the canonical allowlist key of the code identity in
// r: "<kind>:" followed by the hex SHA-256 of a length-prefixed encoding of
// the measurement fields that identify the code:
//
//   - sgx: MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN (as Phala's allowlist)
//   - tdx: MRTD, RTMR0..3, TDATTRIBUTES
//   - sev-snp: MEASUREMENT, guest POLICY (the policy decides e.g. whether a
//     migration agent or SMT is allowed, so it is part of what is approved)
//   - simulated: the claimed measurement
//
// Fields that vary per deployment or per boot (report data, host data, TCB
// SVNs) are excluded so one allowlist entry covers all instances of a build.
func (r *Result) MeasurementID() string {
	h := sha256.New()
	field := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	field([]byte(measurementIDDomain))
	field([]byte(r.Kind))
	switch {
	case r.SGX != nil:
		m := r.SGX
		field(m.MREnclave[:])
		field(m.MRSigner[:])
		field(binary.BigEndian.AppendUint16(nil, m.ISVProdID))
		field(binary.BigEndian.AppendUint16(nil, m.ISVSVN))
	case r.TDX != nil:
		m := r.TDX
		field(m.MRTD[:])
		for i := range m.RTMR {
			field(m.RTMR[i][:])
		}
		field(m.TDAttributes[:])
	case r.SEVSNP != nil:
		m := r.SEVSNP
		field(m.Measurement[:])
		field(binary.BigEndian.AppendUint64(nil, m.Policy))
	case r.Simulated != nil:
		field(r.Simulated.Measurement)
	}
	return string(r.Kind) + ":" + hex.EncodeToString(h.Sum(nil))
}

// CheckReportData compares the bound report data with want (64 bytes) and
// returns ErrReportDataMismatch when they differ. The comparison is not
// secret-dependent, so a plain comparison is fine.
func (r *Result) CheckReportData(want []byte) error {
	if len(want) != len(r.ReportData) {
		return fmt.Errorf("%w: expected report data must be 64 bytes, got %d", ErrReportDataMismatch, len(want))
	}
	if string(want) != string(r.ReportData[:]) {
		return fmt.Errorf("%w: evidence binds %x, expected %x", ErrReportDataMismatch, r.ReportData[:], want)
	}
	return nil
}
