package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veil-network/veil/client"
)

// TestContractHelp: every contract, gatekeeper and query command has
// complete help (short, long, example).
func TestContractHelp(t *testing.T) {
	root := newRootCmd()
	for _, path := range [][]string{
		{"contract"}, {"contract", "deploy"}, {"contract", "call"}, {"contract", "query"}, {"contract", "deposit"},
		{"contract", "list"}, {"contract", "show"}, {"contract", "receipt"}, {"contract", "reassign"}, {"contract", "new"},
		{"tx", "registry", "gatekeeper", "add"}, {"tx", "registry", "gatekeeper", "remove"},
		{"tx", "registry", "rotate-master-key"}, {"query", "gatekeepers"},
	} {
		c, _, err := root.Find(path)
		if err != nil || c.Name() != path[len(path)-1] {
			t.Fatalf("%v: %v", path, err)
		}
		if c.Short == "" || c.Long == "" || c.Example == "" {
			t.Errorf("%v: incomplete help", path)
		}
	}
}

func TestContractArgsValidation(t *testing.T) {
	dir := t.TempDir()
	netFile := filepath.Join(dir, "network.json")
	n := &client.Network{ChainID: "x", Node: client.Endpoints{API: "http://127.0.0.1:1"}}
	id := strings.Repeat("ab", 32)
	if err := n.SetNamedContracts(map[string]client.NetworkContract{"hello-world": {ID: id}}); err != nil {
		t.Fatal(err)
	}
	if err := n.Write(netFile); err != nil {
		t.Fatal(err)
	}
	back, err := client.LoadNetwork(netFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hello-world", id, "0x" + id} {
		got, err := client.ResolveContract(back, s)
		if err != nil || got.Hex() != id {
			t.Fatalf("%s: %v %s", s, err, got)
		}
	}
	if _, err := client.ResolveContract(back, "nope"); err == nil || !strings.Contains(err.Error(), "hello-world") {
		t.Fatalf("unknown name: %v", err)
	}
	// Bad JSON arguments are refused before anything is signed or sent.
	_, _, err = runCLI(t, "contract", "call", "hello-world", "increment", "{by:2}", "--from", "//Alice", "--network", netFile)
	if err == nil || !strings.Contains(err.Error(), "must be JSON") {
		t.Fatalf("bad JSON: %v", err)
	}
	_, _, err = runCLI(t, "contract", "query", "nope", "get", "--from", "//Alice", "--network", netFile)
	if err == nil || !strings.Contains(err.Error(), "neither a contract id") {
		t.Fatalf("unknown contract: %v", err)
	}
	_, _, err = runCLI(t, "contract", "deposit", "hello-world", "18446744073709551616", "--from", "//Alice", "--network", netFile)
	if err == nil || !strings.Contains(err.Error(), "at most") {
		t.Fatalf("oversized deposit: %v", err)
	}
	// AMOUNT is an argument: the error must not name an --amount flag
	// the command does not have.
	_, _, err = runCLI(t, "contract", "deposit", "hello-world", "0", "--from", "//Alice", "--network", netFile)
	if err == nil || !strings.Contains(err.Error(), "amount must be greater than zero") || strings.Contains(err.Error(), "--amount") {
		t.Fatalf("zero deposit: %v", err)
	}
	_, _, err = runCLI(t, "contract", "receipt", "hello-world", "x1", "--from", "//Alice", "--network", netFile)
	if err == nil || !strings.Contains(err.Error(), "SEQUENCE") {
		t.Fatalf("bad sequence: %v", err)
	}
	_, _, err = runCLI(t, "contract", "deploy", filepath.Join(dir, "missing.wasm"), "--from", "//Alice", "--network", netFile)
	if err == nil || !strings.Contains(err.Error(), "missing.wasm") {
		t.Fatalf("missing code: %v", err)
	}
	_, _, err = runCLI(t, "contract", "deploy", netFile, "--from", "//Alice", "--network", netFile)
	if err == nil || !strings.Contains(err.Error(), "not a WebAssembly module") {
		t.Fatalf("non-wasm code: %v", err)
	}
	_, _, err = runCLI(t, "tx", "registry", "gatekeeper", "add", "nothex", "--from", "//Alice", "--network", netFile)
	if err == nil {
		t.Fatal("bad identity accepted")
	}
}

// TestContractNew scaffolds a project inside this module (no go.mod) and
// one outside (go.mod with a replace), and runs the first one's tests
// and wasm build: the scaffold compiles as is.
func TestContractNew(t *testing.T) {
	parent, err := os.MkdirTemp(".", "scaffold-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(parent)
	out, _, err := runCLI(t, "contract", "new", "demo", "--dir", parent)
	if err != nil {
		t.Fatal(err)
	}
	proj := filepath.Join(parent, "demo")
	if !strings.Contains(out, "no go.mod needed") {
		t.Fatalf("output %s", out)
	}
	if _, err := os.Stat(filepath.Join(proj, "go.mod")); err == nil {
		t.Fatal("go.mod written inside the module")
	}
	if _, _, err := runCLI(t, "contract", "new", "demo", "--dir", parent); err == nil {
		t.Fatal("existing project overwritten")
	}
	if _, _, err := runCLI(t, "contract", "new", "../evil", "--dir", parent); err == nil {
		t.Fatal("path as name accepted")
	}
	outside := t.TempDir()
	if _, _, err := runCLI(t, "contract", "new", "ext", "--dir", outside, "--replace", "/src/veil"); err != nil {
		t.Fatal(err)
	}
	gomod, err := os.ReadFile(filepath.Join(outside, "ext", "go.mod"))
	if err != nil || !strings.Contains(string(gomod), "require github.com/veil-network/veil") || !strings.Contains(string(gomod), "replace github.com/veil-network/veil => /src/veil") {
		t.Fatalf("go.mod %s, %v", gomod, err)
	}
	if testing.Short() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rel := "./" + filepath.ToSlash(proj)
	if b, err := exec.CommandContext(ctx, "go", "test", "-count=1", rel).CombinedOutput(); err != nil {
		t.Fatalf("go test of the scaffold: %v\n%s", err, b)
	}
	if _, err := client.BuildContract(ctx, proj); err != nil {
		t.Fatalf("wasm build of the scaffold: %v", err)
	}
}
