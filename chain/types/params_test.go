package types

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// testParams is a parameter set with a bound, so validation can fail.
type testParams struct {
	Limit uint64 `json:"limit"`
	Label string `json:"label,omitempty"`
}

func (p testParams) Validate() error {
	if p.Limit > 100 {
		return errors.New("limit exceeds 100")
	}
	return nil
}

type testSpec struct{}

func (testSpec) Name() string         { return "widget" }
func (testSpec) Key() []byte          { return []byte("widget/params") }
func (testSpec) Defaults() testParams { return testParams{Limit: 7} }

// testModule embeds ParamsModule the way the chain's modules do; its zero
// value must be complete.
type testModule struct {
	ParamsModule[testParams, testSpec]
}

func TestParamsModuleGenesis(t *testing.T) {
	var m testModule
	if got := string(m.DefaultGenesis()); got != `{"params":{"limit":7}}` {
		t.Fatalf("DefaultGenesis %s", got)
	}
	for _, c := range []struct{ raw, err string }{
		{`{"params":{"limit":101}}`, "widget genesis params: limit exceeds 100"},
		{`{"params":{"limt":1}}`, `widget genesis: json: unknown field "limt"`},
		{`{"params":{"limit":1}} {}`, "widget genesis: trailing data after the JSON object"},
	} {
		err := m.ValidateGenesis(json.RawMessage(c.raw), 42)
		if err == nil || err.Error() != c.err {
			t.Fatalf("ValidateGenesis(%s): %v, want %q", c.raw, err, c.err)
		}
		s := mapStore{}
		if err := m.InitGenesis(&Context{Store: s}, json.RawMessage(c.raw)); err == nil || len(s) != 0 {
			t.Fatalf("InitGenesis(%s): %v, wrote %d keys", c.raw, err, len(s))
		}
	}

	// A section that leaves a field out takes the default; an empty
	// section is the defaults.
	for _, c := range []struct {
		raw  string
		want testParams
	}{
		{`{"params":{"label":"x"}}`, testParams{Limit: 7, Label: "x"}},
		{``, testParams{Limit: 7}},
		{`{"params":{"limit":100}}`, testParams{Limit: 100}},
	} {
		raw, want := c.raw, c.want
		if err := m.ValidateGenesis(json.RawMessage(raw), 42); err != nil {
			t.Fatalf("ValidateGenesis(%q): %v", raw, err)
		}
		s := mapStore{}
		if err := m.InitGenesis(&Context{Store: s}, json.RawMessage(raw)); err != nil {
			t.Fatalf("InitGenesis(%q): %v", raw, err)
		}
		if got := m.Params(s); got != want {
			t.Fatalf("InitGenesis(%q): params %+v, want %+v", raw, got, want)
		}
		// The spec's key is where the JSON lives: it is the state layout.
		if b, _ := json.Marshal(want); string(s.Get([]byte("widget/params"))) != string(b) || len(s) != 1 {
			t.Fatalf("InitGenesis(%q): store %q", raw, s)
		}
	}
}

func TestParamStore(t *testing.T) {
	var ps ParamStore[testParams, testSpec]
	s := mapStore{}
	if got := ps.Params(s); got != (testParams{}) {
		t.Fatalf("absent parameters read as %+v, want the zero value", got)
	}
	ps.SetParams(s, testParams{Limit: 3})
	if got := ps.Params(s); got.Limit != 3 {
		t.Fatalf("after SetParams: %+v", got)
	}
	// A write that bypasses SetParams (another module instance, a raw
	// store write) is seen at once: the cache is keyed by the stored bytes.
	s.Set([]byte("widget/params"), []byte(`{"limit":9}`))
	if got := ps.Params(s); got.Limit != 9 {
		t.Fatalf("after a raw write: %+v", got)
	}
	s.Set([]byte("widget/params"), []byte(`{"limit":"nine"}`))
	defer func() {
		var f *StoreFailure
		if err, _ := recover().(error); !errors.As(err, &f) || !strings.Contains(err.Error(), "widget/params") {
			t.Fatalf("corrupt parameters: recovered %v, want a *StoreFailure naming the key", err)
		}
	}()
	ps.Params(s)
}
