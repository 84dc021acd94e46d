package types

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync/atomic"
)

// ParamCache decodes a module's JSON parameters once per distinct stored
// value. Modules read their parameters for every transaction; decoding JSON
// each time showed up in profiles. Keyed by the exact stored bytes, the
// cache can never serve stale parameters, and it is safe for the mempool
// and consensus connections to use concurrently.
type ParamCache[P any] struct {
	entry atomic.Pointer[paramEntry[P]]
}

type paramEntry[P any] struct {
	raw []byte
	val P
}

// Get returns the decoded parameters stored under key.
func (c *ParamCache[P]) Get(s KVStore, key []byte) P {
	raw := s.Get(key)
	if e := c.entry.Load(); e != nil && bytes.Equal(e.raw, raw) {
		return e.val
	}
	var v P
	if raw != nil {
		if err := json.Unmarshal(raw, &v); err != nil {
			panic(&StoreFailure{Err: fmt.Errorf("parameters under %q: %w", key, err)})
		}
	}
	c.entry.Store(&paramEntry[P]{raw: bytes.Clone(raw), val: v})
	return v
}

// ParamsKey names the state key under which a module keeps its JSON
// parameters. It is implemented by a zero-size type of the module's own
// package, so the key is part of the module's type rather than of its
// value: the zero value of a module embedding ParamStore or ParamsModule
// is complete, with nothing a constructor could forget to fill in
// (devnet, for one, builds (&compute.Module{}).DefaultGenesis() without
// New).
type ParamsKey interface {
	// Key is the state key of the parameters. It must return the same
	// bytes every time: they are part of the state layout.
	Key() []byte
}

// ParamStore reads and writes a module's parameters: JSON under K's key,
// decoded through a ParamCache. Modules embed it (by value) to get their
// Params and SetParams methods.
type ParamStore[P any, K ParamsKey] struct {
	cache ParamCache[P]
}

// Params reads the parameters; absent parameters are P's zero value.
func (ps *ParamStore[P, K]) Params(s KVStore) P {
	var k K
	return ps.cache.Get(s, k.Key())
}

// SetParams writes the parameters (genesis, tests, governance); callers
// validate them first.
func (*ParamStore[P, K]) SetParams(s KVStore, p P) {
	var k K
	b, err := json.Marshal(p)
	if err != nil {
		// Parameters are plain data; only a broken type (a channel, a
		// cyclic value) fails to encode, and writing nothing would
		// silently keep the old parameters.
		panic(fmt.Sprintf("encode parameters under %q: %v", k.Key(), err))
	}
	s.Set(k.Key(), b)
}

// ParamsSpec describes a module whose genesis section is only its
// parameters (ParamsGenesis): where they are stored, and what an empty
// section means. Like ParamsKey, it is implemented by a zero-size type of
// the module's package.
type ParamsSpec[P Validator] interface {
	ParamsKey
	// Name is the module name, which prefixes genesis errors.
	Name() string
	// Defaults are the parameters of an empty genesis section and of
	// DefaultGenesis.
	Defaults() P
}

// ParamsModule is the parameter handling of a module whose genesis is
// only its parameters: Params and SetParams (ParamStore) and the
// types.Module genesis methods DefaultGenesis, ValidateGenesis and
// InitGenesis, decoding strictly over S's defaults (ParseParamsGenesis).
// Modules embed it by value; the embedding module still implements Name
// and RegisterMessages itself.
type ParamsModule[P Validator, S ParamsSpec[P]] struct {
	ParamStore[P, S]
}

// DefaultGenesis implements Module: S's defaults.
func (*ParamsModule[P, S]) DefaultGenesis() json.RawMessage {
	var spec S
	b, err := json.Marshal(ParamsGenesis[P]{Params: spec.Defaults()})
	if err != nil {
		panic(fmt.Sprintf("%s: encode default genesis: %v", spec.Name(), err))
	}
	return b
}

// ValidateGenesis implements Module.
func (*ParamsModule[P, S]) ValidateGenesis(raw json.RawMessage, _ uint16) error {
	_, err := parseParamsGenesis[P, S](raw)
	return err
}

// InitGenesis implements Module: it writes the section's parameters.
func (m *ParamsModule[P, S]) InitGenesis(ctx *Context, raw json.RawMessage) error {
	g, err := parseParamsGenesis[P, S](raw)
	if err != nil {
		return err
	}
	m.SetParams(ctx.Store, g.Params)
	return nil
}

func parseParamsGenesis[P Validator, S ParamsSpec[P]](raw json.RawMessage) (ParamsGenesis[P], error) {
	var spec S
	return ParseParamsGenesis(spec.Name(), raw, spec.Defaults())
}
