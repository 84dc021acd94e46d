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
