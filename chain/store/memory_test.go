package store

import (
	"bytes"
	"slices"
	"testing"
)

func memoryOf(kv ...string) *Memory {
	m := NewMemory()
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set([]byte(kv[i]), []byte(kv[i+1]))
	}
	return m
}

// TestMemoryClone: a clone holds the same entries in the same order, and
// writes, deletes and in-place value changes on either side do not reach
// the other.
func TestMemoryClone(t *testing.T) {
	orig := memoryOf("a/1", "x", "a/2", "y", "b/1", "z")
	c := orig.Clone()
	if !c.Equal(orig) || !orig.Equal(c) {
		t.Fatalf("clone %v differs from original %v", dump(c, nil), dump(orig, nil))
	}
	if got, want := dump(c, []byte("a/")), []string{"a/1=x", "a/2=y"}; !slices.Equal(got, want) {
		t.Fatalf("clone iterates %v, want %v", got, want)
	}

	c.Set([]byte("c/1"), []byte("new"))
	c.Delete([]byte("a/1"))
	if !orig.Has([]byte("a/1")) || orig.Has([]byte("c/1")) || orig.Len() != 3 {
		t.Fatalf("writes to the clone reached the original: %v", dump(orig, nil))
	}
	orig.Set([]byte("b/1"), []byte("changed"))
	if got := c.Get([]byte("b/1")); !bytes.Equal(got, []byte("z")) {
		t.Fatalf("write to the original reached the clone: b/1=%q", got)
	}

	// Values are copied, not shared: changing the bytes Get returned from
	// one store in place leaves the other's value as it was.
	c2 := orig.Clone()
	orig.Get([]byte("a/2"))[0] = 'Q'
	if got := c2.Get([]byte("a/2")); !bytes.Equal(got, []byte("y")) {
		t.Fatalf("clone shares value bytes with the original: a/2=%q", got)
	}
	c2.Get([]byte("b/1"))[0] = 'Q'
	if got := orig.Get([]byte("b/1")); !bytes.Equal(got, []byte("changed")) {
		t.Fatalf("original shares value bytes with the clone: b/1=%q", got)
	}

	if e := NewMemory().Clone(); e.Len() != 0 || !e.Equal(NewMemory()) {
		t.Fatalf("clone of an empty store has %d keys", e.Len())
	}
}

// TestMemoryEqual: equality is same key set and byte-equal values, in both
// directions.
func TestMemoryEqual(t *testing.T) {
	base := func() *Memory { return memoryOf("k1", "v1", "k2", "v2") }
	empty := NewMemory()
	emptyVal := NewMemory()
	emptyVal.Set([]byte("k"), []byte{})
	nilVal := NewMemory()
	nilVal.Set([]byte("k"), nil)

	cases := []struct {
		name string
		a, b *Memory
		want bool
	}{
		{"same entries", base(), memoryOf("k2", "v2", "k1", "v1"), true},
		{"both empty", NewMemory(), NewMemory(), true},
		{"value differs", base(), memoryOf("k1", "v1", "k2", "v3"), false},
		{"value is a prefix", base(), memoryOf("k1", "v1", "k2", "v"), false},
		{"extra key", base(), memoryOf("k1", "v1", "k2", "v2", "k3", "v3"), false},
		{"missing key", base(), memoryOf("k1", "v1"), false},
		{"same count, other key", base(), memoryOf("k1", "v1", "k3", "v2"), false},
		{"empty value vs absent key", emptyVal, empty, false},
		{"nil vs empty value", nilVal, emptyVal, true},
	}
	for _, c := range cases {
		if got := c.a.Equal(c.b); got != c.want {
			t.Errorf("%s: a.Equal(b) = %v, want %v (a %v, b %v)", c.name, got, c.want, dump(c.a, nil), dump(c.b, nil))
		}
		if got := c.b.Equal(c.a); got != c.want {
			t.Errorf("%s: b.Equal(a) = %v, want %v (a %v, b %v)", c.name, got, c.want, dump(c.a, nil), dump(c.b, nil))
		}
	}
}
