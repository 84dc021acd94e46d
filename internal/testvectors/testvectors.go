// Package testvectors is the shared mechanics of the published
// interoperability vector files (docs/vectors/*.json): one canonical JSON
// encoding, and the generate-or-check cycle of the tests that own them. A
// test generates the file's content from the code, rewrites the file when
// VEIL_WRITE_VECTORS=1, and otherwise compares, so a file cannot drift
// from the code that other implementations (the TypeScript SDK) are
// checked against.
package testvectors

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// WriteEnv is the environment variable that makes Load rewrite the file.
const WriteEnv = "VEIL_WRITE_VECTORS"

// Encode is the files' encoding: indented JSON without HTML escaping
// (hex and text stay readable), newline-terminated.
func Encode(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Load returns the file at path as committed, after rewriting it with
// generated when WriteEnv is "1". The caller validates the returned bytes
// as another implementation would, then compares them with generated.
func Load(t testing.TB, path string, generated []byte) []byte {
	t.Helper()
	if os.Getenv(WriteEnv) == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, generated, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d bytes)", path, len(generated))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (generate with %s=1)", err, WriteEnv)
	}
	return data
}
