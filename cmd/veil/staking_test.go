package main

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/devnet"
)

const alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"

func TestParseCommission(t *testing.T) {
	for in, want := range map[string]uint32{"0": 0, "5": 50_000_000, "5.5": 55_000_000, "100": 1_000_000_000, "12.3456789": 123_456_789, "7%": 70_000_000} {
		if got, err := parseCommission(in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "100.1", "101", "5.", ".5", "1.23456789", "5e1", "abc"} {
		if _, err := parseCommission(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestStakingCLI drives the staking commands against a one-validator dev
// network: the genesis validator (//Alice) is the set, Bob bonds and
// nominates her, bad input is refused with the module's codes.
func TestStakingCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	home := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	n, err := devnet.Start(ctx, devnet.Options{Home: home, Logger: slog.New(slog.DiscardHandler), BlockTime: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	net := []string{"--network", filepath.Join(home, "network.json")}
	run := func(args ...string) (map[string]any, error) {
		out, _, err := runCLI(t, append(append(args, net...), "-o", "json")...)
		if err != nil {
			var exit *exitError
			if errors.As(err, &exit) && strings.HasPrefix(strings.TrimSpace(out), "{") {
				return jsonOut(t, out), err
			}
			return nil, err
		}
		return jsonOut(t, out), nil
	}

	v, err := run("query", "validators")
	if err != nil {
		t.Fatal(err)
	}
	vals := v["validators"].([]any)
	first := vals[0].(map[string]any)
	if len(vals) != 1 || first["stash"] != alice || first["power"].(float64) != 100_000 || first["commission_percent"] != "5%" {
		t.Fatalf("validators %v", v)
	}
	if e, err := run("query", "era"); err != nil || e["era_length"].(float64) != 20 || e["next_election_height"].(float64) < 20 {
		t.Fatalf("era %v %v", e, err)
	}

	if r, err := run("tx", "staking", "bond", "--amount", "50000000000000", "--payee", "stash", "--from", "//Bob", "--wait"); err != nil || r["code"].(float64) != 0 {
		t.Fatalf("bond: %v %v", r, err)
	}
	if r, err := run("tx", "staking", "nominate", alice, "--from", "//Bob", "--wait"); err != nil || r["code"].(float64) != 0 {
		t.Fatalf("nominate: %v %v", r, err)
	}
	l, err := run("query", "ledger", bob)
	if err != nil || l["role"] != "nominator" || l["active"] != "50000000000000" || l["payee"] != "stash" {
		t.Fatalf("ledger %v %v", l, err)
	}
	if nv, _, err := runCLI(t, append([]string{"query", "nominators", "--validator", alice, "-o", "json"}, net...)...); err != nil || !strings.Contains(nv, bob) {
		t.Fatalf("nominators %s %v", nv, err)
	}
	if out, _, err := runCLI(t, append([]string{"query", "staking-params"}, net...)...); err != nil || !strings.Contains(out, `"era_length": 20`) {
		t.Fatalf("params %s %v", out, err)
	}

	// Refused by the chain with staking's codes.
	charlie := "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y"
	for _, c := range []struct {
		args []string
		code types.Code
	}{
		{[]string{"tx", "staking", "nominate", charlie, "--from", "//Bob"}, staking.CodeNotValidator},
		{[]string{"tx", "staking", "unbond", "--amount", "60000000000000", "--from", "//Bob"}, staking.CodeInsufficientBond},
		{[]string{"tx", "staking", "bond", "--amount", "1", "--from", "//Charlie"}, staking.CodeBelowMinimum},
		{[]string{"tx", "staking", "validate", "--commission", "5", "--home", n.Nodes[0].Home, "--from", "//Bob"}, staking.CodeDuplicateConsensusKey},
	} {
		r, err := run(c.args...)
		if err == nil || r == nil || uint32(r["code"].(float64)) != uint32(c.code) {
			t.Errorf("%v: %v %v, want code %d", c.args, r, err, c.code)
		}
	}
	// Refused before sending.
	for _, args := range [][]string{
		{"tx", "staking", "validate", "--commission", "5", "--consensus-key", "abcd", "--from", "//Bob"},
		{"tx", "staking", "validate", "--commission", "150", "--home", n.Nodes[0].Home, "--from", "//Bob"},
		{"tx", "staking", "validate", "--commission", "5", "--from", "//Bob"},
		{"tx", "staking", "bond", "--amount", "0", "--from", "//Bob"},
		{"tx", "staking", "set-payee", "nobody", "--from", "//Bob"},
		{"query", "ledger", "not-an-address"},
	} {
		if _, _, err := runCLI(t, append(args, net...)...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
