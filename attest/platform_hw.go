package attest

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"

	sevclient "github.com/google/go-sev-guest/client"
	tdxclient "github.com/google/go-tdx-guest/client"
)

// Paths that tell whether this machine is a confidential guest. The kernel's
// TSM report interface (configfs-tsm, Linux 6.7+) lives under the first; the
// guest drivers, which register themselves as its providers, create the
// device nodes.
const (
	configfsTSMReportDir = "/sys/kernel/config/tsm/report"
	tdxGuestDevice       = "/dev/tdx_guest"
	sevGuestDevice       = "/dev/sev-guest"
)

// ErrNoHardware is returned by NewTDXPlatform and NewSEVSNPPlatform when the
// machine is not a TDX/SEV-SNP guest with a usable quote interface.
var ErrNoHardware = errors.New("TEE hardware not available")

// ErrSealingUnavailable is returned by SealingKey on platforms without a
// hardware sealing key.
var ErrSealingUnavailable = errors.New("no hardware sealing key on this platform")

// TDXPlatform produces TDX quotes through configfs-tsm: the kernel asks the
// TDX module for a TD report and the host's quote generation service (QGS)
// turns it into a quote signed by the TD quoting enclave.
type TDXPlatform struct {
	qp *tdxclient.LinuxConfigFsQuoteProvider
}

// NewTDXPlatform returns the TDX platform, or an error wrapping ErrNoHardware
// that says what is missing when this is not a TDX guest.
func NewTDXPlatform() (*TDXPlatform, error) {
	if _, err := os.Stat(tdxGuestDevice); err != nil {
		return nil, fmt.Errorf("%w: not a TDX guest (%s: %w)", ErrNoHardware, tdxGuestDevice, err)
	}
	qp, err := tdxclient.GetQuoteProvider()
	if err != nil {
		return nil, fmt.Errorf("%w: TDX quote provider: %w", ErrNoHardware, err)
	}
	if err := qp.IsSupported(); err != nil {
		return nil, fmt.Errorf("%w: configfs-tsm (%s) unusable; needs Linux 6.7+ with configfs mounted: %w", ErrNoHardware, configfsTSMReportDir, err)
	}
	return &TDXPlatform{qp: qp}, nil
}

// Kind returns KindTDX.
func (p *TDXPlatform) Kind() Kind { return KindTDX }

// Evidence requests a quote binding reportData. Zero padding some quote
// services append is removed, and the quote is checked to be a TDX quote
// over this report data, so a misconfigured host fails here rather than on
// chain.
func (p *TDXPlatform) Evidence(ctx context.Context, reportData [64]byte) (Evidence, error) {
	if err := ctx.Err(); err != nil {
		return Evidence{}, fmt.Errorf("TDX evidence: %w", err)
	}
	raw, err := p.qp.GetRawQuote(reportData)
	if err != nil {
		return Evidence{}, fmt.Errorf("TDX evidence: configfs-tsm quote: %w", err)
	}
	raw, _ = TrimQuotePadding(raw)
	q, err := parseQuote(raw)
	if err != nil {
		return Evidence{}, fmt.Errorf("TDX evidence: the quote service returned an unusable quote: %w", err)
	}
	if q.td == nil || q.td.reportData != reportData {
		return Evidence{}, fmt.Errorf("TDX evidence: the quote service returned a quote for other report data or another TEE")
	}
	return Evidence{Kind: KindTDX, Quote: bytes.Clone(raw)}, nil
}

// SealingKey fails: a TD has no hardware sealing key (TDX offers no
// equivalent of SGX's EGETKEY). Veil keeps worker secrets recoverable
// through the gatekeeper key hierarchy instead (ARCHITECTURE.md, decision 9).
func (p *TDXPlatform) SealingKey(ctx context.Context, label string) ([]byte, error) {
	return nil, fmt.Errorf("TDX sealing key %q: %w: TDX has no sealing key; recover secrets through the gatekeeper", label, ErrSealingUnavailable)
}

// SEVSNPPlatform produces SEV-SNP attestation reports through configfs-tsm
// (falling back to the /dev/sev-guest ioctl on older kernels), with the
// certificate table the host provisioned (VCEK/VLEK, ASK, ARK) appended.
type SEVSNPPlatform struct {
	qp sevclient.QuoteProvider
}

// NewSEVSNPPlatform returns the SEV-SNP platform, or an error wrapping
// ErrNoHardware when this is not an SEV-SNP guest.
func NewSEVSNPPlatform() (*SEVSNPPlatform, error) {
	_, tsmErr := os.Stat(configfsTSMReportDir)
	_, devErr := os.Stat(sevGuestDevice)
	if tsmErr != nil && devErr != nil {
		return nil, fmt.Errorf("%w: not an SEV-SNP guest (neither %s nor %s exists)", ErrNoHardware, configfsTSMReportDir, sevGuestDevice)
	}
	qp, err := sevclient.GetQuoteProvider()
	if err != nil {
		return nil, fmt.Errorf("%w: SEV-SNP quote provider: %w", ErrNoHardware, err)
	}
	return &SEVSNPPlatform{qp: qp}, nil
}

// Kind returns KindSEVSNP.
func (p *SEVSNPPlatform) Kind() Kind { return KindSEVSNP }

// Evidence requests an extended report binding reportData: the 1184-byte
// report followed by the host's certificate table.
func (p *SEVSNPPlatform) Evidence(ctx context.Context, reportData [64]byte) (Evidence, error) {
	if err := ctx.Err(); err != nil {
		return Evidence{}, fmt.Errorf("SEV-SNP evidence: %w", err)
	}
	raw, err := p.qp.GetRawQuote(reportData)
	if err != nil {
		return Evidence{}, fmt.Errorf("SEV-SNP evidence: %w", err)
	}
	if len(raw) < sevReportSize || !bytes.Equal(raw[0x50:0x90], reportData[:]) {
		return Evidence{}, fmt.Errorf("SEV-SNP evidence: the guest driver returned a report for other report data")
	}
	return Evidence{Kind: KindSEVSNP, Quote: bytes.Clone(raw)}, nil
}

// SealingKey asks the AMD secure processor for a key derived from the chip's
// VCEK, the guest measurement and the guest policy (MSG_KEY_REQ through
// /dev/sev-guest), so only this launch digest on this chip obtains it, then
// separates labels with HKDF-SHA256.
func (p *SEVSNPPlatform) SealingKey(ctx context.Context, label string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("SEV-SNP sealing key: %w", err)
	}
	dev, err := sevclient.OpenDevice()
	if err != nil {
		return nil, fmt.Errorf("SEV-SNP sealing key: open %s: %w", sevGuestDevice, err)
	}
	defer dev.Close()
	resp, err := sevclient.GetDerivedKeyAcknowledgingItsLimitations(dev, &sevclient.SnpDerivedKeyReq{
		UseVCEK:          true,
		GuestFieldSelect: sevclient.GuestFieldSelect{Measurement: true, GuestPolicy: true},
	})
	if err != nil {
		return nil, fmt.Errorf("SEV-SNP sealing key: derive: %w", err)
	}
	defer clear(resp.Data[:]) // the chip-derived root of every label's key
	key, err := hkdf.Key(sha256.New, resp.Data[:], []byte("veil/attest/sev-snp/sealing/v1"), label, 32)
	if err != nil {
		return nil, fmt.Errorf("SEV-SNP sealing key: %w", err)
	}
	return key, nil
}

// The platforms implement Platform.
var (
	_ Platform = (*TDXPlatform)(nil)
	_ Platform = (*SEVSNPPlatform)(nil)
	_ Platform = (*SimulatedPlatform)(nil)
)
