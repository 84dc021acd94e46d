package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veil-network/veil/chain/store"
)

// TestPruningValidation: keep_recent is 0 (keep everything) or at least
// MinKeepRecent, with a positive interval when pruning; anything else is
// refused with a message naming the setting and what to use instead.
func TestPruningValidation(t *testing.T) {
	if err := DefaultVeilConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	if store.DefaultPruning.KeepRecent < MinKeepRecent {
		t.Fatalf("the default keep_recent %d is below the minimum %d", store.DefaultPruning.KeepRecent, MinKeepRecent)
	}
	for _, p := range []store.Pruning{
		{KeepRecent: 0, Interval: 0},   // archive
		{KeepRecent: 0, Interval: 100}, // archive; interval unused
		{KeepRecent: MinKeepRecent, Interval: 1},
		{KeepRecent: 100_000, Interval: 100},
	} {
		c := DefaultVeilConfig()
		c.Pruning = p
		if err := c.Validate(); err != nil {
			t.Errorf("%+v refused: %v", p, err)
		}
	}
	for _, tc := range []struct {
		p    store.Pruning
		want string
	}{
		{store.Pruning{KeepRecent: 1, Interval: 1}, "below the minimum of 1000"},
		{store.Pruning{KeepRecent: 2, Interval: 100}, "below the minimum of 1000"},
		{store.Pruning{KeepRecent: MinKeepRecent - 1, Interval: 100}, "keep_recent is 999"},
		{store.Pruning{KeepRecent: -5, Interval: 100}, "use 0 to keep every version"},
		{store.Pruning{KeepRecent: MinKeepRecent, Interval: 0}, "pruning would never run"},
		{store.Pruning{KeepRecent: MinKeepRecent, Interval: -1}, "pruning.interval is -1"},
		{store.Pruning{KeepRecent: 0, Interval: -1}, "must not be negative"},
	} {
		c := DefaultVeilConfig()
		c.Pruning = tc.p
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error containing %q", tc.p, err, tc.want)
		}
	}
}

// TestLoadVeilConfigRefusesSmallKeepRecent: a config file with a tiny
// keep_recent fails to load, naming the file; one without a pruning
// section takes the default.
func TestLoadVeilConfigRefusesSmallKeepRecent(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(s string) {
		if err := os.WriteFile(veilConfigPath(home), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"pruning":{"keep_recent":1,"interval":1}}`)
	_, err := LoadVeilConfig(home)
	if err == nil || !strings.Contains(err.Error(), veilConfigPath(home)) || !strings.Contains(err.Error(), "pruning.keep_recent is 1") {
		t.Fatalf("keep_recent 1: %v", err)
	}
	write(`{"pruning":{"keep_recent":0,"interval":0}}`)
	if c, err := LoadVeilConfig(home); err != nil || c.Pruning.KeepRecent != 0 {
		t.Fatalf("archive: %+v %v", c.Pruning, err)
	}
	write(`{"api_listen":"127.0.0.1:1"}`)
	if c, err := LoadVeilConfig(home); err != nil || c.Pruning != store.DefaultPruning {
		t.Fatalf("no pruning section: %+v %v", c.Pruning, err)
	}
}

// TestInitRefusesInvalidVeilConfig: init does not write a home a node
// could not start from.
func TestInitRefusesInvalidVeilConfig(t *testing.T) {
	home := filepath.Join(t.TempDir(), "node")
	c := DefaultVeilConfig()
	c.Pruning = store.Pruning{KeepRecent: 10, Interval: 1}
	if _, err := Init(home, InitOptions{ChainID: "veil-test", Veil: &c}); err == nil || !strings.Contains(err.Error(), "keep_recent is 10") {
		t.Fatalf("init: %v", err)
	}
	if _, err := os.Stat(home); !os.IsNotExist(err) {
		t.Fatalf("init created %s: %v", home, err)
	}
}

// TestStartRefusesInvalidVeilConfig: a node given a tiny keep_recent in
// code (as 'veil dev' passes its config) stops before opening anything.
func TestStartRefusesInvalidVeilConfig(t *testing.T) {
	home := t.TempDir()
	c := DefaultVeilConfig()
	c.Pruning = store.Pruning{KeepRecent: 1, Interval: 1}
	n, err := Start(t.Context(), home, Options{Comet: DefaultCometConfig(home, "t"), Veil: &c})
	if err == nil {
		n.Stop()
		t.Fatal("started with keep_recent 1")
	}
	if !strings.Contains(err.Error(), "pruning.keep_recent is 1") {
		t.Fatalf("start: %v", err)
	}
}

// TestCORSOriginsValidation: an allow-list entry that is not an origin
// is refused when the file is loaded (naming the file and the setting)
// and by init, which then writes nothing, not only once a node starts.
func TestCORSOriginsValidation(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(veilConfigPath(home), []byte(`{"cors_origins":["https://app.example.com/"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadVeilConfig(home)
	if err == nil || !strings.Contains(err.Error(), veilConfigPath(home)) || !strings.Contains(err.Error(), "cors_origins") ||
		!strings.Contains(err.Error(), "https://app.example.com/") {
		t.Fatalf("load: %v", err)
	}
	c := DefaultVeilConfig()
	c.CORSOrigins = []string{"null"}
	fresh := filepath.Join(t.TempDir(), "node")
	if _, err := Init(fresh, InitOptions{ChainID: "veil-test", Veil: &c}); err == nil || !strings.Contains(err.Error(), "cors_origins") {
		t.Fatalf("init: %v", err)
	}
	if _, err := os.Stat(fresh); !os.IsNotExist(err) {
		t.Fatalf("init created %s: %v", fresh, err)
	}
	for _, ok := range [][]string{nil, {}, {"*"}, {"https://app.example.com", "http://127.0.0.1:5173"}} {
		c.CORSOrigins = ok
		if err := c.Validate(); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}
