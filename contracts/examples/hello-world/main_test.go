//go:build !wasip1

package main

import (
	"math"
	"testing"

	"github.com/veil-network/veil/contracts/sdk"
)

func TestCounter(t *testing.T) {
	h := sdk.NewMemHost()
	alice := sdk.TestAccount("alice")

	c, err := sdk.Decode[Count](h.Query(alice, "get_count", nil))
	if err != nil || c.Count != 0 {
		t.Fatalf("initial count = %v, %v", c, err)
	}
	if c, err = sdk.Decode[Count](h.Call(alice, "increment", IncrementArgs{By: 5})); err != nil || c.Count != 5 {
		t.Fatalf("increment by 5 = %v, %v", c, err)
	}
	if c, err = sdk.Decode[Count](h.Call(alice, "increment", nil)); err != nil || c.Count != 6 {
		t.Fatalf("increment (default 1) = %v, %v", c, err)
	}
	if len(h.Events) != 1 || h.Events[0].Topic != "incremented" || string(h.Events[0].Data) != `{"count":6}` {
		t.Fatalf("events = %+v", h.Events)
	}
	if c, err = sdk.Decode[Count](h.Query(alice, "get_count", nil)); err != nil || c.Count != 6 {
		t.Fatalf("get_count = %v, %v", c, err)
	}
}

func TestIncrementIsNotAQuery(t *testing.T) {
	h := sdk.NewMemHost()
	if _, err := h.Query(sdk.TestAccount("bob"), "increment", nil); err == nil {
		t.Fatal("a query wrote state")
	}
	if _, ok := h.Value(countKey); ok {
		t.Fatal("a failed query left state behind")
	}
}

func TestOverflowReverts(t *testing.T) {
	h := sdk.NewMemHost()
	a := sdk.TestAccount("alice")
	if _, err := h.Call(a, "increment", IncrementArgs{By: math.MaxUint64}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Call(a, "increment", nil); err == nil {
		t.Fatal("overflow not detected")
	}
	c, _ := sdk.Decode[Count](h.Query(a, "get_count", nil))
	if c.Count != math.MaxUint64 {
		t.Fatalf("a reverted call changed the count to %d", c.Count)
	}
}

func TestBadArguments(t *testing.T) {
	h := sdk.NewMemHost()
	a := sdk.TestAccount("alice")
	for _, args := range []string{`{"by":"x"}`, `{"bye":1}`, `[`, `{"by":1} {}`} {
		if _, err := h.Call(a, "increment", args); err == nil {
			t.Errorf("args %s accepted", args)
		}
	}
	if _, err := h.Call(a, "nope", nil); err == nil {
		t.Error("unknown method accepted")
	}
}

// TestInitWithoutHandler: hello-world registers no sdk.Init, yet the chain
// always sends "init" as command 0 of every contract's log; it must
// succeed (whatever its public arguments) so the log can go on.
func TestInitWithoutHandler(t *testing.T) {
	h := sdk.NewMemHost()
	deployer := sdk.TestAccount("deployer")
	if _, err := h.Call(deployer, sdk.InitMethod, nil); err == nil {
		t.Fatal("a user command ran init")
	}
	if _, err := h.ChainCall(deployer, sdk.InitMethod, `{"ignored":true}`); err != nil {
		t.Fatalf("chain init without an Init handler: %v", err)
	}
	if c, err := sdk.Decode[Count](h.Call(deployer, "increment", nil)); err != nil || c.Count != 1 {
		t.Fatalf("increment after init = %v, %v", c, err)
	}
}
