package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// nposVector is the layout of shared/testdata/npos/*.json (and of
// npos/testdata/*.json, which adds "kind" for reduce vectors).
type nposVector struct {
	Source   string          `json:"source"`
	Kind     string          `json:"kind"`
	Input    json.RawMessage `json:"input"`
	Expected json.RawMessage `json:"expected"`
}

// nposRepoRoot walks up to the directory holding go.mod.
func nposRepoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}

func nposDecodeGeneric(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode json: %v\n%s", err, data)
	}
	return v
}

// runNposCLI executes the root command with args and returns stdout.
func runNposCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// runNposVectorDir runs every vector of dir through `veil npos elect|reduce
// --input FILE -o json` and compares the output with the expectation
// semantically (key order and whitespace do not matter; string-encoded
// amounts must match exactly).
func runNposVectorDir(t *testing.T, dir string) {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skipf("no vectors in %s", dir)
	}
	tmp := t.TempDir()
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var v nposVector
			if err := json.Unmarshal(data, &v); err != nil {
				t.Fatalf("decode vector: %v", err)
			}
			in := filepath.Join(tmp, filepath.Base(f))
			if err := os.WriteFile(in, v.Input, 0o600); err != nil {
				t.Fatal(err)
			}
			sub := "elect"
			if v.Kind == "reduce" {
				sub = "reduce"
			}
			out, err := runNposCLI(t, "npos", sub, "--input", in, "-o", "json")
			var want struct {
				Error string `json:"error"`
			}
			_ = json.Unmarshal(v.Expected, &want)
			if want.Error != "" {
				if err == nil || !strings.Contains(err.Error(), want.Error) {
					t.Fatalf("want error containing %q, got %v", want.Error, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("veil npos %s: %v", sub, err)
			}
			if got, exp := nposDecodeGeneric(t, []byte(out)), nposDecodeGeneric(t, v.Expected); !reflect.DeepEqual(got, exp) {
				t.Fatalf("output mismatch (%s)\n got: %s\nwant: %s", v.Source, out, v.Expected)
			}
		})
	}
}

// TestNposCLISharedVectors runs the shared vectors, which live next to the
// repository (../shared/testdata/npos from its root) and are never copied in.
func TestNposCLISharedVectors(t *testing.T) {
	dir := filepath.Join(nposRepoRoot(t), "..", "shared", "testdata", "npos")
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		t.Skipf("shared NPoS vectors not found at %s", dir)
	}
	runNposVectorDir(t, dir)
}

// TestNposCLIOwnVectors runs the vectors derived from Substrate's unit tests.
func TestNposCLIOwnVectors(t *testing.T) {
	runNposVectorDir(t, filepath.Join(nposRepoRoot(t), "npos", "testdata"))
}

// TestNposCLIWholeVectorAsInput: a whole vector file is accepted as --input.
func TestNposCLIWholeVectorAsInput(t *testing.T) {
	f := filepath.Join(nposRepoRoot(t), "npos", "testdata", "seq-phragmen-core-poc.json")
	out, err := runNposCLI(t, "npos", "elect", "--input", f, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"backed_stake": "35"`) {
		t.Fatalf("unexpected output: %s", out)
	}
}

// TestNposCLIText checks the human-readable renderings and the errors.
func TestNposCLIText(t *testing.T) {
	root := nposRepoRoot(t)
	out, err := runNposCLI(t, "npos", "elect", "--input", filepath.Join(root, "npos", "testdata", "seq-phragmen-core-poc.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"WINNER", "BACKED STAKE", "50.0000%", "minimal_stake 25", "sum_stake_squared 1850"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	out, err = runNposCLI(t, "npos", "reduce", "--input", filepath.Join(root, "npos", "testdata", "reduce-basic.json"))
	if err != nil || !strings.Contains(out, "removed 3 edges") {
		t.Fatalf("reduce text: %v\n%s", err, out)
	}
	if _, err := runNposCLI(t, "npos", "elect"); err == nil {
		t.Error("missing --input must fail")
	}
	if _, err := runNposCLI(t, "npos", "elect", "--input", filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Error("missing file must fail")
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	if err := os.WriteFile(bad, []byte(`{"algorithm":"borda","to_elect":1,"accuracy":"perbill","candidates":["a"],"voters":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runNposCLI(t, "npos", "elect", "--input", bad); err == nil || !strings.Contains(err.Error(), "algorithm") {
		t.Errorf("unknown algorithm: %v", err)
	}
	good := filepath.Join(root, "npos", "testdata", "seq-phragmen-core-poc.json")
	if _, err := runNposCLI(t, "npos", "elect", "--input", good, "-o", "yaml"); err == nil {
		t.Error("unknown output format must fail")
	}
}
