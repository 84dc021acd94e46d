package main

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/veil-network/veil/internal/httpcors"
	"github.com/veil-network/veil/node"
)

// TestNodeInitCORSOrigins: --cors-origins is written to config/veil.json
// ("*" stays the default, "" means none) and a non-origin is refused.
func TestNodeInitCORSOrigins(t *testing.T) {
	home := t.TempDir()
	origins := func() []string {
		t.Helper()
		vc, err := node.LoadVeilConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		return vc.CORSOrigins
	}
	mustRunKeys(t, "", "node", "init", "--home", home, "--moniker", "a")
	if got := origins(); !slices.Equal(got, []string{"*"}) {
		t.Fatalf("default cors_origins %q", got)
	}
	mustRunKeys(t, "", "node", "init", "--home", home, "--cors-origins", " https://app.example.com, http://127.0.0.1:5173")
	if got := origins(); !slices.Equal(got, []string{"https://app.example.com", "http://127.0.0.1:5173"}) {
		t.Fatalf("cors_origins %q", got)
	}
	// Re-running init without the flag keeps the list.
	mustRunKeys(t, "", "node", "init", "--home", home)
	if got := origins(); len(got) != 2 {
		t.Fatalf("cors_origins after a plain init %q", got)
	}
	mustRunKeys(t, "", "node", "init", "--home", home, "--cors-origins", "")
	if got := origins(); got == nil || len(got) != 0 {
		t.Fatalf("cors_origins after \"\": %#v", got)
	}
	_, _, err := runKeys(t, "", "node", "init", "--home", home, "--cors-origins", "https://app.example.com/")
	if !errors.Is(err, httpcors.ErrBadOrigin) || !strings.Contains(err.Error(), "--cors-origins") {
		t.Fatalf("origin with a path: %v", err)
	}
	if got := origins(); got == nil || len(got) != 0 {
		t.Fatalf("a refused flag changed the config: %q", got)
	}
}

// veil worker refuses a malformed --cors-origins before it creates or
// starts anything.
func TestWorkerCORSOriginsFlag(t *testing.T) {
	home := t.TempDir()
	_, _, err := runKeys(t, "", "worker", "--home", home, "--cors-origins", "https://app.example.com/path")
	if !errors.Is(err, httpcors.ErrBadOrigin) || !strings.Contains(err.Error(), "--cors-origins") {
		t.Fatalf("origin with a path: %v", err)
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Fatalf("the worker wrote %d entries before refusing its flags", len(entries))
	}
}
