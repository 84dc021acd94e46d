//go:build !wasip1

package sdk_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veil-network/veil/contracts/sdk"
)

// A test contract exercising the SDK surface, registered like a real one.
type kv struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type profile struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

func init() {
	sdk.Init(func(ctx *sdk.Context, a struct {
		Greeting string `json:"greeting"`
	}) error {
		ctx.SetString("greeting", a.Greeting)
		return nil
	})
	sdk.Handle("put", func(ctx *sdk.Context, a kv) (bool, error) {
		ctx.SetString(a.Key, a.Value)
		return true, nil
	})
	sdk.Handle("del", func(ctx *sdk.Context, a kv) (bool, error) {
		ctx.Delete(a.Key)
		return true, nil
	})
	sdk.Handle("scan", func(ctx *sdk.Context, a kv) ([]string, error) {
		var out []string
		for k := range ctx.Keys(a.Key) {
			out = append(out, k)
		}
		return out, nil
	})
	sdk.Handle("put_then_fail", func(ctx *sdk.Context, a kv) (bool, error) {
		ctx.SetString(a.Key, a.Value)
		ctx.EmitRaw("lost", nil)
		return false, errors.New("changed my mind")
	})
	sdk.Handle("put_then_panic", func(ctx *sdk.Context, a kv) (bool, error) {
		ctx.SetString(a.Key, a.Value)
		panic("boom")
	})
	sdk.Handle("json", func(ctx *sdk.Context, p profile) (profile, error) {
		if err := sdk.SetJSON(ctx, "profile", p); err != nil {
			return profile{}, err
		}
		got, ok, err := sdk.GetJSON[profile](ctx, "profile")
		if !ok || err != nil {
			return profile{}, errors.New("read back failed")
		}
		return got, nil
	})
	sdk.Handle("env", func(ctx *sdk.Context, _ sdk.NoArgs) (map[string]any, error) {
		return map[string]any{
			"caller": ctx.Caller(), "contract": ctx.ContractID(), "height": ctx.BlockHeight(),
			"time": ctx.BlockTime().Unix(), "origin": ctx.Origin(), "query": ctx.IsQuery(), "chain": ctx.FromChain(),
		}, nil
	})
	sdk.Handle("random", func(ctx *sdk.Context, _ sdk.NoArgs) ([]uint64, error) {
		return []uint64{ctx.Random().Uint64(), ctx.Random().Uint64(), uint64(ctx.RandomBytes(1)[0])}, nil
	})
	sdk.Handle("counter", func(ctx *sdk.Context, _ sdk.NoArgs) (uint64, error) {
		n := ctx.GetUint64("n") + 1
		ctx.SetUint64("n", n)
		return n, nil
	})
	sdk.Handle("pay", func(ctx *sdk.Context, a struct {
		To     sdk.Account `json:"to"`
		Amount uint64      `json:"amount"`
		Fail   bool        `json:"fail"`
	}) (bool, error) {
		if err := ctx.TransferOut(a.To, a.Amount); err != nil {
			return false, err
		}
		if a.Fail {
			return false, errors.New("reverted after paying")
		}
		return true, nil
	})
}

var alice = sdk.TestAccount("alice")

func TestStorageAndIteration(t *testing.T) {
	h := sdk.NewMemHost()
	for _, k := range []string{"b/2", "a/1", "b/1", "b/3", "c"} {
		if _, err := h.Call(alice, "put", kv{Key: k, Value: "v" + k}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Call(alice, "del", kv{Key: "b/2"}); err != nil {
		t.Fatal(err)
	}
	got, err := sdk.Decode[[]string](h.Query(alice, "scan", kv{Key: "b/"}))
	if err != nil || !slices.Equal(got, []string{"b/1", "b/3"}) {
		t.Fatalf("scan b/ = %v, %v", got, err)
	}
	all, _ := sdk.Decode[[]string](h.Query(alice, "scan", kv{}))
	if !slices.Equal(all, []string{"a/1", "b/1", "b/3", "c"}) {
		t.Fatalf("scan all = %v", all)
	}
	if !slices.Equal(h.Keys(), all) {
		t.Fatalf("committed keys %v", h.Keys())
	}
}

func TestFailedCallsLeaveNoTrace(t *testing.T) {
	h := sdk.NewMemHost()
	if _, err := h.Call(alice, "put", kv{Key: "k", Value: "old"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Call(alice, "put_then_fail", kv{Key: "k", Value: "new"}); err == nil || err.Error() != "changed my mind" {
		t.Fatalf("err %v", err)
	}
	if _, err := h.Call(alice, "put_then_panic", kv{Key: "k", Value: "new"}); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("panic err %v", err)
	}
	if _, err := h.Query(alice, "put", kv{Key: "k", Value: "new"}); err == nil {
		t.Fatal("query wrote")
	}
	if v, _ := h.Value("k"); string(v) != "old" {
		t.Fatalf("value %q after failed calls", v)
	}
	if len(h.Events) != 0 {
		t.Fatalf("events of a failed call kept: %+v", h.Events)
	}
}

func TestJSONHelpersAndArgs(t *testing.T) {
	h := sdk.NewMemHost()
	p, err := sdk.Decode[profile](h.Call(alice, "json", profile{Name: "Ada", Age: 36}))
	if err != nil || p != (profile{"Ada", 36}) {
		t.Fatalf("json round trip %+v, %v", p, err)
	}
	for _, bad := range []string{`{"name":1}`, `{"nom":"x"}`, `{} {}`, `nope`} {
		if _, err := h.Call(alice, "json", bad); err == nil || !strings.Contains(err.Error(), "invalid arguments") {
			t.Errorf("args %s: %v", bad, err)
		}
	}
	for _, empty := range []string{"", "  ", "{}"} {
		if _, err := h.Query(alice, "env", empty); err != nil {
			t.Errorf("empty args %q: %v", empty, err)
		}
	}
	if _, err := h.Call(alice, "missing", nil); err == nil || !strings.Contains(err.Error(), "unknown method") {
		t.Fatalf("unknown method: %v", err)
	}
}

func TestEnvAndOrigins(t *testing.T) {
	h := sdk.NewMemHost()
	h.Advance(9, 6*time.Second)
	var env struct {
		Caller   sdk.Account `json:"caller"`
		Contract sdk.Account `json:"contract"`
		Height   uint64      `json:"height"`
		Time     int64       `json:"time"`
		Origin   sdk.Origin  `json:"origin"`
		Query    bool        `json:"query"`
		Chain    bool        `json:"chain"`
	}
	out, err := h.ChainCall(alice, "env", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &env); err != nil {
		t.Fatal(err)
	}
	if env.Caller != alice || env.Contract != h.Contract || env.Height != 10 || env.Origin != sdk.OriginChain || !env.Chain || env.Query {
		t.Fatalf("env %+v", env)
	}
	if env.Time != time.Date(2025, 1, 1, 0, 0, 54, 0, time.UTC).Unix() {
		t.Fatalf("time %d", env.Time)
	}
}

func TestInit(t *testing.T) {
	h := sdk.NewMemHost()
	if _, err := h.Call(alice, sdk.InitMethod, `{"greeting":"hi"}`); err == nil {
		t.Fatal("user called init")
	}
	if _, err := h.ChainCall(alice, sdk.InitMethod, `{"greeting":"hi"}`); err != nil {
		t.Fatal(err)
	}
	if v, _ := h.Value("greeting"); string(v) != "hi" {
		t.Fatalf("greeting %q", v)
	}
	if _, err := h.ChainCall(alice, sdk.InitMethod, `{"greeting":"again"}`); err == nil {
		t.Fatal("init ran twice")
	}
}

func TestRandomIsDeterministicPerSeedAndCall(t *testing.T) {
	draw := func(seed byte) [][]uint64 {
		h := sdk.NewMemHost()
		h.Seed[0] = seed
		var out [][]uint64
		for i := 0; i < 2; i++ {
			r, err := sdk.Decode[[]uint64](h.Call(alice, "random", nil))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	a, b, c := draw(1), draw(1), draw(2)
	if !slices.Equal(a[0], b[0]) || !slices.Equal(a[1], b[1]) {
		t.Fatal("same seed, different randomness")
	}
	if slices.Equal(a[0], a[1]) || slices.Equal(a[0], c[0]) {
		t.Fatal("randomness repeats across calls or seeds")
	}
}

func TestAccountText(t *testing.T) {
	b, err := json.Marshal(alice)
	if err != nil || string(b) != `"`+alice.String()+`"` {
		t.Fatalf("marshal %s %v", b, err)
	}
	var a sdk.Account
	if err := json.Unmarshal([]byte(`"0x`+alice.String()+`"`), &a); err != nil || a != alice {
		t.Fatalf("0x form: %v", err)
	}
	for _, bad := range []string{`"abc"`, `"` + strings.Repeat("zz", 32) + `"`} {
		if err := json.Unmarshal([]byte(bad), &a); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if !(sdk.Account{}).IsZero() || alice.IsZero() {
		t.Fatal("IsZero")
	}
}

func TestRegistrationAfterFirstCallPanics(t *testing.T) {
	h := sdk.NewMemHost()
	if _, err := h.Call(alice, "counter", nil); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("late registration accepted")
		}
	}()
	sdk.Handle("late", func(*sdk.Context, sdk.NoArgs) (int, error) { return 0, nil })
}

func TestTransferOut(t *testing.T) {
	h := sdk.NewMemHost()
	bob := sdk.TestAccount("bob")
	type pay struct {
		To     sdk.Account `json:"to"`
		Amount uint64      `json:"amount"`
		Fail   bool        `json:"fail"`
	}
	if _, err := h.Call(alice, "pay", pay{To: bob, Amount: 18446744073709551615}); err != nil {
		t.Fatal(err)
	}
	if len(h.Events) != 1 || h.Events[0].Topic != sdk.TransferTopic {
		t.Fatalf("events %+v", h.Events)
	}
	want := `{"to":"` + bob.String() + `","amount":"18446744073709551615"}`
	if string(h.Events[0].Data) != want {
		t.Fatalf("event data %s, want %s", h.Events[0].Data, want)
	}
	if len(h.Transfers) != 1 || h.TransferredTo(bob) != 18446744073709551615 {
		t.Fatalf("transfers %+v", h.Transfers)
	}
	// A reverted call pays nothing; a query may not pay; zero and the zero
	// account are refused.
	if _, err := h.Call(alice, "pay", pay{To: bob, Amount: 5, Fail: true}); err == nil {
		t.Fatal("revert ignored")
	}
	if _, err := h.Query(alice, "pay", pay{To: bob, Amount: 5}); !errors.Is(err, sdk.ErrTransferInQuery) {
		t.Fatalf("query paid: %v", err)
	}
	if _, err := h.ChainCall(alice, "pay", pay{To: bob, Amount: 0}); err == nil {
		t.Fatal("zero transfer accepted")
	}
	if _, err := h.Call(alice, "pay", pay{Amount: 1}); err == nil {
		t.Fatal("transfer to the zero account accepted")
	}
	if len(h.Transfers) != 1 {
		t.Fatalf("failed calls recorded transfers: %+v", h.Transfers)
	}
}
