package main

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/veil-network/veil/chain/registry"
)

// A row of 'veil query workers -o json' is the registry record without
// its HPKE key and suite, every other field in the record's order.
func TestWorkerListEntryJSON(t *testing.T) {
	v := registry.WorkerView{Identity: "0xab", HPKEPublicKey: "0x1234", HPKESuite: registry.HPKESuiteView{KEM: 1}, SyncedHeight: 7}
	b, err := json.Marshal(workerListEntry{WorkerView: v})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	want := []string{"identity", "operator", "tee_kind", "measurement", "tcb_status", "advisory_ids", "confidence",
		"registered_at", "attested_at", "expires_at", "stale", "simulated", "version", "synced_height", "sync_reported_at"}
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	sorted := slices.Clone(want)
	slices.Sort(sorted)
	if !slices.Equal(keys, sorted) {
		t.Fatalf("keys %v, want %v\n%s", keys, want, b)
	}
	if string(got["identity"]) != `"0xab"` || string(got["synced_height"]) != "7" {
		t.Fatalf("values: %s", b)
	}
}
