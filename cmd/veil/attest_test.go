package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// attestShared is the shared attestation test data seen from this package
// (../shared/testdata/attestation relative to the repository root).
const attestShared = "../../../shared/testdata/attestation"

func attestSharedFile(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(attestShared, rel)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		t.Skipf("shared attestation test data %q is absent (expected under ../shared/testdata/attestation relative to the repository root)", rel)
	}
	return p
}

// runAttest runs 'veil attest ...' through the root command.
func runAttest(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(append([]string{"attest"}, args...))
	err := root.Execute()
	return out.String(), err
}

func decodeAttestJSON(t *testing.T, out string) attestVerifyOutput {
	t.Helper()
	var v attestVerifyOutput
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	return v
}

func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestAttestCLIVerifySharedQuotes(t *testing.T) {
	cases := []struct {
		quote, collateral, at string
		verified              bool
		tee, status           string
		advisories            []string
		errCode               string
		measurement           map[string]any
		warning               bool
	}{
		{"dcap-qvl/sgx_quote", "dcap-qvl/sgx_quote_collateral.json", "2025-06-20T00:00:00Z", true, "sgx",
			"ConfigurationAndSWHardeningNeeded", []string{"INTEL-SA-00289", "INTEL-SA-00615"}, "", nil, false},
		{"dcap-qvl/tdx_quote", "dcap-qvl/tdx_quote_collateral.json", "2025-06-20T00:00:00Z", true, "tdx",
			"UpToDate", []string{}, "", nil, true},
		// README: verifies cryptographically, platform TCB not up to date
		// (below every level component by component, rated by Intel's
		// level order: OutOfDate, with a warning).
		{"dcap-qvl/tdx_quote_outdated", "dcap-qvl/tdx_quote_outdated_collateral.json", "2026-03-01T00:00:00Z", true, "tdx",
			"OutOfDate", []string{"INTEL-SA-01036", "INTEL-SA-01079", "INTEL-SA-01099", "INTEL-SA-01103", "INTEL-SA-01111"}, "",
			map[string]any{"tee_tcb_svn": "07010300000000000000000000000000", "tee_tcb_svn2": "0d010300000000000000000000000000"}, true},
		{"dcap-qvl/tdx_quote_outdated", "dcap-qvl/tdx_quote_outdated_collateral.json", "2026-02-18T10:58:51Z", true, "tdx",
			"OutOfDate", []string{"INTEL-SA-01036", "INTEL-SA-01079", "INTEL-SA-01099", "INTEL-SA-01103", "INTEL-SA-01111"}, "", nil, true},
		{"dcap-qvl/tdx_quote_outdated", "dcap-qvl/tdx_quote_outdated_collateral.json", "2026-03-20T10:41:15Z", true, "tdx",
			"OutOfDate", []string{"INTEL-SA-01036", "INTEL-SA-01079", "INTEL-SA-01099", "INTEL-SA-01103", "INTEL-SA-01111"}, "", nil, true},
		{"oasis-core/sgx_v3_quote", "oasis-core/sgx_v3_quote_collateral.json", "1671497404", true, "sgx",
			"SWHardeningNeeded", []string{"INTEL-SA-00615", "INTEL-SA-00657"}, "", map[string]any{
				"mr_enclave":  "68823bc62f409ee33a32ea270cfe45d4b19a6fb3c8570d7bc186cbe062398e8f",
				"mr_signer":   "9affcfae47b848ec2caf1c49b4b283531e1cc425f93582b36806e52a43d78d1a",
				"isv_prod_id": float64(0), "isv_svn": float64(0),
			}, false},
		{"oasis-core/tdx_v4_quote", "oasis-core/tdx_v4_quote_collateral.json", "1725263032", true, "tdx",
			"UpToDate", []string{}, "", map[string]any{"td_attributes": "0000001000000000"}, false},
		// README: must be rejected, no TCB level matches (below every level
		// even in Intel's level order).
		{"oasis-core/tdx_v4_quote_out_of_date", "oasis-core/tdx_v4_quote_out_of_date_collateral.json", "1687091776", false, "tdx",
			"", []string{}, "tcb_level_not_found", nil, false},
		// Outside the collateral window.
		{"dcap-qvl/tdx_quote_outdated", "dcap-qvl/tdx_quote_outdated_collateral.json", "2026-02-18T10:58:50Z", false, "tdx",
			"", []string{}, "collateral_not_yet_valid", nil, false},
		{"dcap-qvl/tdx_quote_outdated", "dcap-qvl/tdx_quote_outdated_collateral.json", "2026-03-20T10:41:16Z", false, "tdx",
			"", []string{}, "collateral_expired", nil, false},
		{"oasis-core/tdx_v4_quote_out_of_date", "oasis-core/tdx_v4_quote_out_of_date_collateral.json", "2023-06-18T08:42:57Z", false, "tdx",
			"", []string{}, "collateral_not_yet_valid", nil, false},
		{"oasis-core/tdx_v4_quote_out_of_date", "oasis-core/tdx_v4_quote_out_of_date_collateral.json", "2023-07-08T07:25:00Z", false, "tdx",
			"", []string{}, "collateral_expired", nil, false},
		{"dcap-qvl/sgx_quote", "dcap-qvl/sgx_quote_collateral.json", "2025-07-19T10:01:19Z", false, "sgx",
			"", []string{}, "collateral_expired", nil, false},
		{"oasis-core/sgx_v3_quote", "oasis-core/sgx_v3_quote_collateral.json", "2022-12-19T09:40:09Z", false, "sgx",
			"", []string{}, "collateral_not_yet_valid", nil, false},
	}
	for _, c := range cases {
		t.Run(c.quote+"@"+c.at, func(t *testing.T) {
			out, err := runAttest(t, "verify", "--quote", attestSharedFile(t, c.quote),
				"--collateral", attestSharedFile(t, c.collateral), "--at", c.at, "-o", "json")
			v := decodeAttestJSON(t, out)
			if v.Verified != c.verified || v.TEE != c.tee || v.TCBStatus != c.status || !slices.Equal(v.AdvisoryIDs, c.advisories) || v.ErrorCode != c.errCode {
				t.Fatalf("got %+v", v)
			}
			wantExit := 0
			if !c.verified {
				wantExit = exitNotVerified
				if v.Error == "" {
					t.Fatal("no error message")
				}
			}
			if exitCode(err) != wantExit {
				t.Fatalf("exit %d (%v), want %d", exitCode(err), err, wantExit)
			}
			for k, want := range c.measurement {
				if v.Measurement[k] != want {
					t.Errorf("measurement %s = %v, want %v", k, v.Measurement[k], want)
				}
			}
			if c.verified && (len(v.ReportData) != 128 || !strings.HasPrefix(v.MeasurementID, c.tee+":")) {
				t.Errorf("report data %q, measurement id %q", v.ReportData, v.MeasurementID)
			}
			if c.warning != (len(v.Warnings) > 0) {
				t.Errorf("warnings %v", v.Warnings)
			}
		})
	}
}

func TestAttestCLIVerifyOptions(t *testing.T) {
	quote := attestSharedFile(t, "oasis-core/sgx_v3_quote")
	col := attestSharedFile(t, "oasis-core/sgx_v3_quote_collateral.json")

	// Text output.
	out, err := runAttest(t, "verify", "--quote", quote, "--collateral", col, "--at", "2022-12-20T00:50:04Z")
	if err != nil || !strings.Contains(out, "verified:       true") || !strings.Contains(out, "SWHardeningNeeded") {
		t.Fatalf("text output %q: %v", out, err)
	}

	// Hex-encoded evidence and an explicit kind.
	raw, err := os.ReadFile(quote)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	hexFile := filepath.Join(dir, "quote.hex")
	if err := os.WriteFile(hexFile, []byte(hex.EncodeToString(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runAttest(t, "verify", "--quote", hexFile, "--collateral", col, "--kind", "sgx", "--at", "1671497404", "-o", "json")
	if v := decodeAttestJSON(t, out); err != nil || !v.Verified {
		t.Fatalf("hex evidence: %+v %v", v, err)
	}

	// The wrong kind, the wrong report data, no collateral.
	for name, args := range map[string][]string{
		"kind mismatch": {"--kind", "tdx", "--collateral", col},
		"report data":   {"--report-data", strings.Repeat("00", 64), "--collateral", col},
		"no collateral": {},
	} {
		out, err := runAttest(t, append([]string{"verify", "--quote", quote, "--at", "1671497404", "-o", "json"}, args...)...)
		if v := decodeAttestJSON(t, out); v.Verified || exitCode(err) != exitNotVerified {
			t.Errorf("%s: %+v exit %d", name, v, exitCode(err))
		}
	}

	// --strict keeps the zero padding of the dcap-qvl TDX quote, which the
	// chain would reject.
	out, err = runAttest(t, "verify", "--quote", attestSharedFile(t, "dcap-qvl/tdx_quote"),
		"--collateral", attestSharedFile(t, "dcap-qvl/tdx_quote_collateral.json"), "--at", "2025-06-20T00:00:00Z", "--strict", "-o", "json")
	if v := decodeAttestJSON(t, out); v.Verified || v.ErrorCode != "evidence_format" || exitCode(err) != exitNotVerified {
		t.Fatalf("--strict: %+v", v)
	}

	// The negative vectors.
	out, err = runAttest(t, "verify", "--quote", attestSharedFile(t, "oasis-core/negative/sgx_v3_quote_encrypted_ppid"),
		"--collateral", col, "--at", "1671497404", "-o", "json")
	if v := decodeAttestJSON(t, out); v.Verified || v.ErrorCode != "cert_chain" || exitCode(err) != exitNotVerified {
		t.Fatalf("encrypted PPID: %+v", v)
	}

	// Usage errors exit 1 without a verdict.
	for _, args := range [][]string{
		{"verify", "--quote", quote, "--at", "yesterday"},
		{"verify", "--quote", filepath.Join(dir, "missing"), "--at", "now"},
		{"verify", "--quote", quote},
		{"verify", "--quote", quote, "--at", "now", "--report-data", "zz"},
	} {
		if _, err := runAttest(t, args...); err == nil || exitCode(err) != 1 {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestAttestCLISimulated(t *testing.T) {
	dir := t.TempDir()
	seed := filepath.Join(dir, "sim.seed")
	if err := os.WriteFile(seed, bytes.Repeat([]byte{0x42}, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	evFile := filepath.Join(dir, "sim.bin")
	out, err := runAttest(t, "evidence", "--tee", "simulated", "--seed-file", seed, "--measurement", "aabbcc",
		"--report-data", "0102", "--out", evFile, "-o", "json")
	if err != nil {
		t.Fatalf("evidence: %v %s", err, out)
	}
	out, err = runAttest(t, "verify", "--quote", evFile, "--at", "now", "-o", "json")
	if v := decodeAttestJSON(t, out); v.Verified || v.ErrorCode != "simulated_not_allowed" || exitCode(err) != exitNotVerified {
		t.Fatalf("without --allow-simulated: %+v", v)
	}
	out, err = runAttest(t, "verify", "--quote", evFile, "--at", "now", "--allow-simulated", "-o", "json")
	v := decodeAttestJSON(t, out)
	if err != nil || !v.Verified || v.TEE != "simulated" || v.Measurement["measurement"] != "aabbcc" ||
		!strings.HasPrefix(v.ReportData, "0102000000") || v.TCBStatus != "NotApplicable" {
		t.Fatalf("with --allow-simulated: %+v %v", v, err)
	}
	// TDX and SEV-SNP evidence cannot be produced here.
	for _, tee := range []string{"tdx", "sev-snp"} {
		if _, err := runAttest(t, "evidence", "--tee", tee, "--out", filepath.Join(dir, tee)); err == nil || !strings.Contains(err.Error(), "not available") {
			t.Errorf("%s evidence off hardware: %v", tee, err)
		}
	}
}

func TestAttestCLIHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"verify", "--help"}, {"evidence", "--help"}} {
		out, err := runAttest(t, args...)
		if err != nil || !strings.Contains(out, "veil attest") {
			t.Errorf("%v: %v\n%s", args, err, out)
		}
	}
}
