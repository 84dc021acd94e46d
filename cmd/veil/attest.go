package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/attest"
)

func init() { registerCommand(newAttestCmd) }

// exitNotVerified is the exit code of 'veil attest verify' when the evidence
// is rejected (the JSON/text verdict is printed first); usage errors exit 1.
const exitNotVerified = 2

func newAttestCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "attest",
		Short: "Verify and produce TEE remote-attestation evidence",
		Long: `Remote attestation proves that a worker runs known code inside a genuine TEE:
Intel SGX (DCAP quote v3), Intel TDX (quote v4/v5), AMD SEV-SNP, or the
simulated platform of development networks.

'veil attest verify' checks evidence offline exactly as the chain does when a
worker registers: against the collateral (Intel TCB info, QE identity, CRLs;
or the AMD VCEK) at a given time, without network access. 'veil attest
evidence' asks this machine's TEE for evidence. See docs/attestation.md.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newAttestVerifyCmd(), newAttestEvidenceCmd())
	return cmd
}

// attestVerifyOutput is the verdict printed by 'veil attest verify'.
type attestVerifyOutput struct {
	TEE           string         `json:"tee"`
	Verified      bool           `json:"verified"`
	TCBStatus     string         `json:"tcb_status"`
	AdvisoryIDs   []string       `json:"advisory_ids"`
	Measurement   map[string]any `json:"measurement"`
	MeasurementID string         `json:"measurement_id"`
	ReportData    string         `json:"report_data"`
	Debug         bool           `json:"debug"`
	At            string         `json:"at"`
	Error         string         `json:"error"`
	ErrorCode     string         `json:"error_code"`
	Warnings      []string       `json:"warnings"`
}

func newAttestVerifyCmd() *cobra.Command {
	var (
		quotePath, collateralPath, kindName, atText, reportDataHex string
		allowDebug, allowSimulated, strict                         bool
	)
	cmd := &cobra.Command{
		Use:   "verify --quote FILE [--collateral FILE] --at TIME",
		Short: "Verify attestation evidence offline at a given time",
		Long: `Verify attestation evidence offline, as the chain does at registration.

The evidence file may hold the raw bytes (a DCAP quote, an SEV-SNP report
optionally followed by its certificate table, simulated evidence), the same
in hex, or a JSON evidence object {"kind": ..., "quote": base64}. --kind auto
recognises the format from the bytes.

The collateral file is JSON. SGX/TDX: {"tcb_info", "tcb_info_signature",
"tcb_info_issuer_chain", "qe_identity", "qe_identity_signature",
"qe_identity_issuer_chain"} and optionally {"pck_crl_issuer_chain",
"root_ca_crl", "pck_crl"}, as fetched from Intel PCS/PCCS. SEV-SNP: optional
{"vcek" or "vlek", "ask", "ark" (PEM), "crl" (hex DER)} for certificates the
report's certificate table lacks. Simulated evidence takes none.

--at is the verification time (the chain uses the block time): RFC 3339,
unix seconds, or "now" to use this machine's clock.

"verified" means the evidence is genuine and its collateral valid at that
time; the TCB status and advisories are reported, not judged (the chain's
registry decides which statuses it accepts). A platform below every Intel
TCB level component by component is rated by Intel's level order, at best
OutOfDate, with a warning; one below every level even in that order is not
verified (tcb_level_not_found). Debug TEEs and simulated evidence are
rejected unless --allow-debug / --allow-simulated.

Quote services that return fixed-size buffers leave zero bytes after a DCAP
quote; they are removed (with a warning) unless --strict, since the chain
accepts only the exact quote and Veil workers submit it trimmed.

The command exits 0 when verified, 2 when not (after printing the verdict)
and 1 on usage errors.`,
		Example: `  # An SGX quote with its Intel collateral, at a fixed time, as JSON
  veil attest verify --quote sgx_quote --collateral sgx_quote_collateral.json \
      --at 2025-06-20T00:00:00Z -o json

  # A TDX quote at a unix time, also checking the report data it binds
  veil attest verify --quote tdx_v4_quote --collateral tdx_v4_quote_collateral.json \
      --at 1725263032 --report-data 7f3a...(128 hex digits)

  # An SEV-SNP report whose certificate table carries the VCEK, right now
  veil attest verify --quote report.bin --kind sev-snp --at now

  # Simulated evidence of a development worker
  veil attest verify --quote evidence.bin --allow-simulated --at now`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&quotePath, "quote", "", "evidence file: raw bytes, hex, or JSON evidence (required)")
	cmd.Flags().StringVar(&collateralPath, "collateral", "", "collateral JSON file (required for sgx and tdx)")
	cmd.Flags().StringVar(&kindName, "kind", "auto", "evidence kind: auto, sgx, tdx, sev-snp or simulated")
	cmd.Flags().StringVar(&atText, "at", "", `verification time: RFC 3339, unix seconds, or "now" (required)`)
	cmd.Flags().StringVar(&reportDataHex, "report-data", "", "expected report data, 64 bytes in hex (optional)")
	cmd.Flags().BoolVar(&allowDebug, "allow-debug", false, "accept debug enclaves, TDs and SEV-SNP guests")
	cmd.Flags().BoolVar(&allowSimulated, "allow-simulated", false, "accept simulated evidence (development only)")
	cmd.Flags().BoolVar(&strict, "strict", false, "do not remove zero padding after a DCAP quote")
	_ = cmd.MarkFlagRequired("quote")
	_ = cmd.MarkFlagRequired("at")
	out := addOutputFlag(cmd)

	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		when, err := parseAttestTime(atText)
		if err != nil {
			return err
		}
		raw, err := readFileLimit(quotePath, maxEvidenceFile)
		if err != nil {
			return fmt.Errorf("read evidence: %w", err)
		}
		var collateral []byte
		if collateralPath != "" {
			if collateral, err = readFileLimit(collateralPath, maxEvidenceFile); err != nil {
				return fmt.Errorf("read collateral: %w", err)
			}
		}
		policy := attest.Policy{AllowDebug: allowDebug, AllowSimulated: allowSimulated}
		if reportDataHex != "" {
			rd, err := hex.DecodeString(strings.TrimPrefix(reportDataHex, "0x"))
			if err != nil || len(rd) != 64 {
				return fmt.Errorf("--report-data must be 64 bytes in hex (128 hex digits)")
			}
			policy.ReportData = rd
		}

		res := attestVerifyOutput{
			AdvisoryIDs: []string{}, Measurement: map[string]any{}, Warnings: []string{},
			At: when.UTC().Format(time.RFC3339),
		}
		verdict, verifyErr := verifyEvidenceFile(raw, kindName, collateral, policy, when, strict, &res)
		if verifyErr != nil {
			res.Error = verifyErr.Error()
			res.ErrorCode = attest.ErrorCode(verifyErr)
		} else {
			fillAttestOutput(&res, verdict)
		}
		if err := printResult(cmd.OutOrStdout(), *out, res, func(w io.Writer) error {
			return printAttestText(w, res)
		}); err != nil {
			return err
		}
		if verifyErr != nil {
			return &exitError{code: exitNotVerified, err: fmt.Errorf("evidence not verified: %w", verifyErr)}
		}
		return nil
	}
	return cmd
}

// parseAttestTime accepts RFC 3339, unix seconds, or "now".
func parseAttestTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return time.Time{}, errors.New("--at is required (RFC 3339, unix seconds, or \"now\")")
	case strings.EqualFold(s, "now"):
		return time.Now().UTC(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at %q: want RFC 3339 (2025-06-20T00:00:00Z), unix seconds, or \"now\"", s)
	}
	return t.UTC(), nil
}

// decodeEvidenceFile turns the file content into evidence bytes and, for a
// JSON evidence object, its declared kind.
func decodeEvidenceFile(raw []byte) ([]byte, attest.Kind, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var ev attest.Evidence
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ev); err != nil {
			return nil, "", fmt.Errorf("%w: evidence JSON: %w", attest.ErrEvidenceFormat, err)
		}
		return ev.Quote, ev.Kind, nil
	}
	// Hex, possibly wrapped over lines. Binary quotes always hold non-hex
	// bytes, so they never decode by accident.
	compact := bytes.Join(bytes.Fields(trimmed), nil)
	if len(compact) > 0 && len(compact)%2 == 0 {
		if b, err := hex.DecodeString(string(compact)); err == nil {
			return b, "", nil
		}
	}
	return raw, "", nil
}

// verifyEvidenceFile decodes, identifies, canonicalises and verifies.
func verifyEvidenceFile(raw []byte, kindName string, collateral []byte, policy attest.Policy, when time.Time, strict bool, res *attestVerifyOutput) (*attest.Result, error) {
	quote, declared, err := decodeEvidenceFile(raw)
	if err != nil {
		return nil, err
	}
	var kind attest.Kind
	switch {
	case kindName != "" && kindName != "auto":
		if kind, err = attest.ParseKind(kindName); err != nil {
			return nil, err
		}
		if declared != "" && declared != kind {
			return nil, fmt.Errorf("%w: the evidence file declares %s, --kind says %s", attest.ErrKindMismatch, declared, kind)
		}
	case declared != "":
		kind = declared
	default:
		if kind, err = attest.DetectKind(quote); err != nil {
			return nil, err
		}
	}
	res.TEE = string(kind)
	if (kind == attest.KindSGX || kind == attest.KindTDX) && !strict {
		if trimmed, n := attest.TrimQuotePadding(quote); n > 0 {
			quote = trimmed
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"removed %d zero bytes of padding after the quote; the chain accepts only the exact quote (use --strict to verify the file as is)", n))
		}
	}
	return attest.NewVerifier().Verify(attest.Evidence{Kind: kind, Quote: quote}, collateral, policy, when)
}

func fillAttestOutput(out *attestVerifyOutput, r *attest.Result) {
	out.TEE = string(r.Kind)
	out.Verified = true
	out.TCBStatus = string(r.TCBStatus)
	out.AdvisoryIDs = append([]string{}, r.AdvisoryIDs...)
	out.ReportData = hex.EncodeToString(r.ReportData[:])
	out.Debug = r.Debug
	out.MeasurementID = r.MeasurementID()
	if r.TCBBelowEveryLevel {
		out.Warnings = append(out.Warnings, "the platform TCB is below every TCB level of the collateral component by component "+
			"(Intel's QVL: TCB not supported); it is rated by the level it follows in Intel's level order, at best OutOfDate")
	}
	m := out.Measurement
	h := hex.EncodeToString
	switch {
	case r.SGX != nil:
		s := r.SGX
		m["mr_enclave"] = h(s.MREnclave[:])
		m["mr_signer"] = h(s.MRSigner[:])
		m["isv_prod_id"] = s.ISVProdID
		m["isv_svn"] = s.ISVSVN
		m["attributes"] = h(s.Attributes[:])
		m["misc_select"] = fmt.Sprintf("%08x", s.MiscSelect)
		m["cpu_svn"] = h(s.CPUSVN[:])
		m["config_id"] = h(s.ConfigID[:])
		m["config_svn"] = s.ConfigSVN
	case r.TDX != nil:
		d := r.TDX
		m["mr_td"] = h(d.MRTD[:])
		for i := range d.RTMR {
			m[fmt.Sprintf("rtmr%d", i)] = h(d.RTMR[i][:])
		}
		m["td_attributes"] = h(d.TDAttributes[:])
		m["xfam"] = h(d.XFAM[:])
		m["mr_config_id"] = h(d.MRConfigID[:])
		m["mr_owner"] = h(d.MROwner[:])
		m["mr_owner_config"] = h(d.MROwnerConfig[:])
		m["mr_seam"] = h(d.MRSeam[:])
		m["mr_signer_seam"] = h(d.MRSignerSeam[:])
		m["seam_attributes"] = h(d.SeamAttributes[:])
		m["tee_tcb_svn"] = h(d.TEETCBSVN[:])
		if d.TD15 {
			m["tee_tcb_svn2"] = h(d.TEETCBSVN2[:])
			m["mr_service_td"] = h(d.MRServiceTD[:])
		}
	case r.SEVSNP != nil:
		s := r.SEVSNP
		m["measurement"] = h(s.Measurement[:])
		m["policy"] = fmt.Sprintf("%016x", s.Policy)
		m["host_data"] = h(s.HostData[:])
		m["guest_svn"] = s.GuestSVN
		m["vmpl"] = s.VMPL
		m["family_id"] = h(s.FamilyID[:])
		m["image_id"] = h(s.ImageID[:])
		m["id_key_digest"] = h(s.IDKeyDigest[:])
		m["author_key_digest"] = h(s.AuthorKeyDigest[:])
		m["reported_tcb"] = fmt.Sprintf("%016x", s.ReportedTCB)
		m["chip_id"] = h(s.ChipID[:])
		m["signing_key"] = s.SigningKey
		m["report_version"] = s.Version
	case r.Simulated != nil:
		m["measurement"] = h(r.Simulated.Measurement)
		m["platform_key"] = h(r.Simulated.PlatformKey)
	}
}

func printAttestText(w io.Writer, r attestVerifyOutput) error {
	var b strings.Builder
	fmt.Fprintf(&b, "tee:            %s\n", r.TEE)
	fmt.Fprintf(&b, "verified:       %t\n", r.Verified)
	fmt.Fprintf(&b, "at:             %s\n", r.At)
	if r.Verified {
		fmt.Fprintf(&b, "tcb status:     %s\n", r.TCBStatus)
		if len(r.AdvisoryIDs) > 0 {
			fmt.Fprintf(&b, "advisories:     %s\n", strings.Join(r.AdvisoryIDs, ", "))
		}
		fmt.Fprintf(&b, "debug:          %t\n", r.Debug)
		fmt.Fprintf(&b, "measurement id: %s\n", r.MeasurementID)
		fmt.Fprintf(&b, "report data:    %s\n", r.ReportData)
		keys := make([]string, 0, len(r.Measurement))
		for k := range r.Measurement {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "  %-18s %v\n", k+":", r.Measurement[k])
		}
	} else {
		fmt.Fprintf(&b, "error:          %s (%s)\n", r.Error, r.ErrorCode)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(&b, "warning:        %s\n", warn)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func newAttestEvidenceCmd() *cobra.Command {
	var (
		teeName, reportDataHex, outPath, seedPath, measurementHex string
	)
	cmd := &cobra.Command{
		Use:   "evidence --tee tdx|sev-snp|simulated --report-data HEX --out FILE",
		Short: "Ask this machine's TEE for attestation evidence",
		Long: `Ask this machine's TEE for evidence binding the given report data (up to 64
bytes, zero-padded on the right) and write the raw evidence to --out.

tdx and sev-snp use the kernel's configfs-tsm interface
(/sys/kernel/config/tsm/report, Linux 6.7+) inside a TDX trust domain or an
SEV-SNP guest; elsewhere they fail with a clear error. simulated signs with a
development key derived from --seed-file (32 bytes raw or 64 hex digits) and
claims --measurement; it proves nothing and only development chains accept it.

Workers do this themselves at registration; the command is for operators
checking a machine and for producing test evidence.`,
		Example: `  # On a TDX guest
  veil attest evidence --tee tdx --report-data 00 --out quote.bin
  veil attest verify --quote quote.bin --collateral collateral.json --at now

  # Simulated evidence for a development network
  head -c 32 /dev/urandom > sim.seed && chmod 600 sim.seed
  veil attest evidence --tee simulated --seed-file sim.seed \
      --measurement $(sha256sum ./veil | cut -c1-64) --report-data 01 --out sim.bin`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringVar(&teeName, "tee", "", "TEE to use: tdx, sev-snp or simulated (required)")
	cmd.Flags().StringVar(&reportDataHex, "report-data", "", "report data in hex, at most 64 bytes")
	cmd.Flags().StringVar(&outPath, "out", "", "file to write the raw evidence to (required)")
	cmd.Flags().StringVar(&seedPath, "seed-file", "", "simulated only: 32-byte seed file (raw or hex)")
	cmd.Flags().StringVar(&measurementHex, "measurement", "", "simulated only: claimed measurement in hex (1-64 bytes)")
	_ = cmd.MarkFlagRequired("tee")
	_ = cmd.MarkFlagRequired("out")
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var rd [64]byte
		if reportDataHex != "" {
			b, err := hex.DecodeString(strings.TrimPrefix(reportDataHex, "0x"))
			if err != nil || len(b) > 64 {
				return fmt.Errorf("--report-data must be at most 64 bytes in hex")
			}
			copy(rd[:], b)
		}
		kind, err := attest.ParseKind(teeName)
		if err != nil {
			return err
		}
		var p attest.Platform
		switch kind {
		case attest.KindTDX:
			p, err = attest.NewTDXPlatform()
		case attest.KindSEVSNP:
			p, err = attest.NewSEVSNPPlatform()
		case attest.KindSimulated:
			p, err = simulatedPlatformFromFlags(seedPath, measurementHex)
		default:
			err = fmt.Errorf("%s evidence cannot be produced by this command (SGX workers quote from inside their enclave)", kind)
		}
		if err != nil {
			return err
		}
		ctx := cmd.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		ev, err := p.Evidence(ctx, rd)
		if err != nil {
			return err
		}
		if err := os.WriteFile(outPath, ev.Quote, 0o644); err != nil {
			return fmt.Errorf("write evidence: %w", err)
		}
		v := map[string]any{"tee": string(ev.Kind), "bytes": len(ev.Quote), "out": outPath, "report_data": hex.EncodeToString(rd[:])}
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "wrote %d bytes of %s evidence to %s\n", len(ev.Quote), ev.Kind, outPath)
			return err
		})
	}
	return cmd
}

func simulatedPlatformFromFlags(seedPath, measurementHex string) (*attest.SimulatedPlatform, error) {
	if seedPath == "" || measurementHex == "" {
		return nil, errors.New("simulated evidence needs --seed-file and --measurement")
	}
	raw, err := readFileLimit(seedPath, maxSecretInput)
	if err != nil {
		return nil, fmt.Errorf("read seed: %w", err)
	}
	defer clear(raw)
	seed := raw
	if t := bytes.TrimSpace(raw); len(t) == 64 {
		b := make([]byte, 32)
		if _, err := hex.Decode(b, t); err == nil {
			seed = b
			defer clear(b)
		}
	}
	m, err := hex.DecodeString(strings.TrimPrefix(measurementHex, "0x"))
	if err != nil {
		return nil, fmt.Errorf("--measurement: %w", err)
	}
	// NewSimulatedPlatform keeps its own copy of the seed.
	return attest.NewSimulatedPlatform(seed, m)
}

// maxEvidenceFile bounds what 'veil attest verify' reads from its evidence
// and collateral files: far above any real quote or collateral (hex or
// JSON-wrapped), but a wrong path such as /dev/zero cannot exhaust memory.
const maxEvidenceFile = 16 << 20

// readFileLimit reads a whole file that must not exceed limit bytes.
func readFileLimit(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		clear(b)
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}
