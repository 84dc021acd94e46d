package fifoset

import (
	"sync"
	"testing"
)

func key(i int) [32]byte { return [32]byte{byte(i), byte(i >> 8)} }

func TestForgetsOldestFirst(t *testing.T) {
	s := New(3)
	for i := range 3 {
		s.Add(key(i))
	}
	s.Add(key(1)) // already present: no eviction, no reordering
	if s.Len() != 3 || !s.Has(key(0)) {
		t.Fatalf("len %d, has 0: %v", s.Len(), s.Has(key(0)))
	}
	s.Add(key(3))
	if s.Has(key(0)) || !s.Has(key(1)) || !s.Has(key(3)) || s.Len() != 3 {
		t.Fatal("the oldest key was not the one forgotten")
	}
	s.Add(key(4))
	s.Add(key(5))
	for i, want := range []bool{false, false, false, true, true, true} {
		if s.Has(key(i)) != want {
			t.Fatalf("key %d: has %v, want %v", i, !want, want)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := New(64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1000 {
				s.Add(key(g*1000 + i))
				s.Has(key(i))
			}
		})
	}
	wg.Wait()
	if s.Len() != 64 {
		t.Fatalf("len %d, want 64", s.Len())
	}
}
