//go:build !wasip1

package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/veil-network/veil/contracts/sdk"
)

func TestOwnerReadsOwnNote(t *testing.T) {
	h := sdk.NewMemHost()
	alice, bob := sdk.TestAccount("alice"), sdk.TestAccount("bob")
	if _, err := h.Call(alice, "set_note", SetNoteArgs{Text: "the eagle lands at dawn"}); err != nil {
		t.Fatal(err)
	}
	n, err := sdk.Decode[Note](h.Query(alice, "get_note", nil))
	if err != nil || n.Text != "the eagle lands at dawn" {
		t.Fatalf("owner read = %+v, %v", n, err)
	}
	// Asking for one's own note explicitly works too.
	if n, err = sdk.Decode[Note](h.Query(alice, "get_note", GetNoteArgs{Owner: &alice})); err != nil || n.Text == "" {
		t.Fatalf("explicit owner read = %+v, %v", n, err)
	}
	// Bob cannot read Alice's note...
	if _, err := h.Query(bob, "get_note", GetNoteArgs{Owner: &alice}); !errors.Is(err, sdk.ErrNotAuthorized) {
		t.Fatalf("bob read alice's note: %v", err)
	}
	// ...and has none of his own.
	if _, err := h.Query(bob, "get_note", nil); err == nil || !strings.Contains(err.Error(), "no note") {
		t.Fatalf("bob's own note: %v", err)
	}
}

func TestOverwriteAndLimits(t *testing.T) {
	h := sdk.NewMemHost()
	alice := sdk.TestAccount("alice")
	for _, text := range []string{"one", "two"} {
		if _, err := h.Call(alice, "set_note", SetNoteArgs{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := sdk.Decode[Note](h.Query(alice, "get_note", nil)); n.Text != "two" {
		t.Fatalf("note = %q", n.Text)
	}
	if _, err := h.Call(alice, "set_note", SetNoteArgs{Text: strings.Repeat("x", MaxNoteBytes+1)}); err == nil {
		t.Fatal("oversized note accepted")
	}
	if n, _ := sdk.Decode[Note](h.Query(alice, "get_note", nil)); n.Text != "two" {
		t.Fatalf("a rejected write changed the note to %q", n.Text)
	}
	// A query cannot write.
	if _, err := h.Query(alice, "set_note", SetNoteArgs{Text: "three"}); err == nil {
		t.Fatal("query wrote a note")
	}
}
