package npos

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// vector is one test vector: the layout of shared/testdata/npos, also used
// by this package's own vectors in testdata/.
type vector struct {
	Source   string          `json:"source"`
	Comment  string          `json:"comment,omitempty"`
	Kind     string          `json:"kind,omitempty"` // "elect" (default) or "reduce"
	Input    json.RawMessage `json:"input"`
	Expected json.RawMessage `json:"expected"`
}

// repoRoot walks up from the package directory to the directory holding
// go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("getwd: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// sharedVectorDir is ../shared/testdata/npos relative to the repository
// root: the vectors shared with other implementations, never copied here.
func sharedVectorDir(t testing.TB) string {
	return filepath.Join(repoRoot(t), "..", "shared", "testdata", "npos")
}

func loadVectors(t *testing.T, dir string) map[string]vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatalf("glob %s: %v", dir, err)
	}
	out := make(map[string]vector, len(files))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatalf("read %s: %v", f, err)
		}
		var v vector
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("decode %s: %v", f, err)
		}
		out[filepath.Base(f)] = v
	}
	return out
}

// canonicalJSON decodes JSON into generic values (numbers kept as text) so
// two documents can be compared semantically.
func canonicalJSON(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode json: %v\n%s", err, data)
	}
	return v
}

// runVector runs one vector and compares its output with the expectation.
func runVector(t *testing.T, v vector) {
	t.Helper()
	var expect struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(v.Expected, &expect)

	var got any
	var err error
	switch v.Kind {
	case "", "elect":
		var in ElectionInput
		if in, err = DecodeElectionInput(v.Input); err == nil {
			got, err = Elect(in)
		}
	case "reduce":
		var in ReduceInput
		if in, err = DecodeReduceInput(v.Input); err == nil {
			got, err = ReduceJSON(in)
		}
	default:
		t.Fatalf("unknown vector kind %q", v.Kind)
	}
	if expect.Error != "" {
		if err == nil || !strings.Contains(err.Error(), expect.Error) {
			t.Fatalf("want error containing %q, got %v", expect.Error, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	gotJSON, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("encode output: %v", err)
	}
	if g, w := canonicalJSON(t, gotJSON), canonicalJSON(t, v.Expected); !reflect.DeepEqual(g, w) {
		pretty, _ := json.MarshalIndent(got, "", " ")
		t.Fatalf("output mismatch (source: %s)\n got: %s\nwant: %s", v.Source, pretty, v.Expected)
	}
}

func sortedNames(m map[string]vector) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// TestNposSharedVectors runs the shared vectors of ../shared/testdata/npos.
func TestNposSharedVectors(t *testing.T) {
	dir := sharedVectorDir(t)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		t.Skipf("shared NPoS vectors not found at %s (they live next to the repository, not in it)", dir)
	}
	vectors := loadVectors(t, dir)
	if len(vectors) == 0 {
		t.Skipf("no *.json vectors in %s", dir)
	}
	for _, name := range sortedNames(vectors) {
		t.Run(name, func(t *testing.T) { runVector(t, vectors[name]) })
	}
}

// TestNposOwnVectors runs the vectors derived from Substrate's unit tests
// (testdata/README.md lists their origin).
func TestNposOwnVectors(t *testing.T) {
	vectors := loadVectors(t, "testdata")
	if len(vectors) == 0 {
		t.Fatal("no vectors in testdata/")
	}
	for _, name := range sortedNames(vectors) {
		t.Run(name, func(t *testing.T) { runVector(t, vectors[name]) })
	}
}
