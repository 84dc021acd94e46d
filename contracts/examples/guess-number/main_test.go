//go:build !wasip1

package main

import (
	"errors"
	"testing"

	"github.com/veil-network/veil/contracts/sdk"
)

func TestInitOnlyOnceAndOnlyByChain(t *testing.T) {
	h := sdk.NewMemHost()
	owner := sdk.TestAccount("owner")
	if _, err := h.Call(owner, "init", nil); err == nil {
		t.Fatal("a user called init")
	}
	if _, err := h.ChainCall(owner, "init", InitArgs{Max: 10}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.ChainCall(owner, "init", InitArgs{Max: 10}); err == nil {
		t.Fatal("init ran twice")
	}
}

func TestBinarySearchWins(t *testing.T) {
	h := sdk.NewMemHost()
	h.Seed = [32]byte{7}
	owner, player := sdk.TestAccount("owner"), sdk.TestAccount("player")
	if _, err := h.ChainCall(owner, "init", InitArgs{Max: 1000}); err != nil {
		t.Fatal(err)
	}
	secret, err := sdk.Decode[Secret](h.Query(owner, "peek", nil))
	if err != nil || secret.N < 1 || secret.N > 1000 {
		t.Fatalf("peek = %+v, %v", secret, err)
	}
	lo, hi := uint64(1), uint64(1000)
	for tries := 1; ; tries++ {
		if tries > 10 {
			t.Fatal("binary search over 1000 took more than 10 guesses")
		}
		mid := (lo + hi) / 2
		a, err := sdk.Decode[Answer](h.Call(player, "guess", GuessArgs{N: mid}))
		if err != nil {
			t.Fatal(err)
		}
		switch a.Answer {
		case "higher":
			lo = mid + 1
		case "lower":
			hi = mid - 1
		case "correct":
			if mid != secret.N {
				t.Fatalf("correct at %d, secret %d", mid, secret.N)
			}
			if len(h.Events) != 1 || h.Events[0].Topic != "solved" {
				t.Fatalf("events = %+v", h.Events)
			}
			return
		default:
			t.Fatalf("answer %q", a.Answer)
		}
	}
}

func TestPeekOwnerOnlyAndNoQueryGuesses(t *testing.T) {
	h := sdk.NewMemHost()
	owner, player := sdk.TestAccount("owner"), sdk.TestAccount("player")
	if _, err := h.Call(player, "guess", GuessArgs{N: 1}); err == nil {
		t.Fatal("guess before init accepted")
	}
	if _, err := h.ChainCall(owner, "init", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Query(player, "peek", nil); !errors.Is(err, sdk.ErrNotAuthorized) {
		t.Fatalf("player peeked: %v", err)
	}
	if _, err := h.Query(player, "guess", GuessArgs{N: 50}); err == nil {
		t.Fatal("guess as a free query accepted")
	}
	s, _ := sdk.Decode[Secret](h.Query(owner, "peek", nil))
	if s.N < 1 || s.N > 100 {
		t.Fatalf("default range secret %d", s.N)
	}
}

func TestSecretDependsOnRandomness(t *testing.T) {
	seen := map[uint64]bool{}
	for i := byte(0); i < 20; i++ {
		h := sdk.NewMemHost()
		h.Seed = [32]byte{i}
		owner := sdk.TestAccount("owner")
		if _, err := h.ChainCall(owner, "init", InitArgs{Max: 1 << 40}); err != nil {
			t.Fatal(err)
		}
		s, _ := sdk.Decode[Secret](h.Query(owner, "peek", nil))
		seen[s.N] = true
	}
	if len(seen) < 19 {
		t.Fatalf("20 seeds gave only %d distinct secrets", len(seen))
	}
}
