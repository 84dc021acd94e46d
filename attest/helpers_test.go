package attest

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// sharedAttestationDir is /work/shared/testdata/attestation seen from this
// package directory: the shared tree sits next to the repository root
// (../shared/testdata/attestation from the root). It is read in place and
// never copied into the repository.
const sharedAttestationDir = "../../shared/testdata/attestation"

// readShared reads a shared test vector, skipping the test when the shared
// tree is not present (e.g. a checkout without it).
func readShared(tb testing.TB, rel string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sharedAttestationDir, rel))
	if errors.Is(err, fs.ErrNotExist) {
		tb.Skipf("shared attestation test data %q is absent (expected under ../shared/testdata/attestation relative to the repository root)", rel)
	}
	if err != nil {
		tb.Fatalf("read shared test data: %v", err)
	}
	return b
}

// at parses an RFC 3339 time or unix seconds.
func at(tb testing.TB, s string) time.Time {
	tb.Helper()
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0).UTC()
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatalf("bad time %q: %v", s, err)
	}
	return t
}

// isAny reports whether err wraps one of targets.
func isAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
