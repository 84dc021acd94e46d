package store

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/veil-network/veil/chain/types"
)

func dump(s types.KVStore, prefix []byte) []string {
	var out []string
	s.Iterate(prefix, func(k, v []byte) bool {
		out = append(out, string(k)+"="+string(v))
		return true
	})
	return out
}

// TestCacheMatchesReference applies random operations to a cache over a
// base store and to a plain map, and checks reads, merged iteration and
// the written-through result agree.
func TestCacheMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		base := NewMemory()
		for i := 0; i < 20; i++ {
			base.Set(fmt.Appendf(nil, "k/%02d", r.IntN(40)), fmt.Appendf(nil, "b%d", i))
		}
		ref := NewMemory()
		base.Iterate(nil, func(k, v []byte) bool { ref.Set(k, v); return true })
		c := NewCache(base)
		for i := 0; i < 30; i++ {
			k := fmt.Appendf(nil, "k/%02d", r.IntN(40))
			if r.IntN(3) == 0 {
				c.Delete(k)
				ref.Delete(k)
			} else {
				v := fmt.Appendf(nil, "c%d", i)
				c.Set(k, v)
				ref.Set(k, v)
			}
		}
		for _, p := range []string{"", "k/", "k/1", "k/3", "x"} {
			if got, want := dump(c, []byte(p)), dump(ref, []byte(p)); !slices.Equal(got, want) {
				t.Fatalf("round %d prefix %q:\n got %v\nwant %v", round, p, got, want)
			}
		}
		// Early stop after n entries yields the first n.
		n := 0
		c.Iterate([]byte("k/"), func(k, v []byte) bool { n++; return n < 3 })
		if want := min(3, len(dump(ref, []byte("k/")))); n != want {
			t.Fatalf("early stop visited %d, want %d", n, want)
		}
		c.Write()
		if got, want := dump(base, nil), dump(ref, nil); !slices.Equal(got, want) {
			t.Fatalf("after write:\n got %v\nwant %v", got, want)
		}
	}
}

func TestCacheDiscardAndCopies(t *testing.T) {
	base := NewMemory()
	c := NewCache(base)
	v := []byte("v")
	c.Set([]byte("a"), v)
	v[0] = 'x' // callers may reuse buffers
	if string(c.Get([]byte("a"))) != "v" {
		t.Fatal("cache kept the caller's buffer")
	}
	c.Discard()
	c.Write()
	if base.Len() != 0 {
		t.Fatal("discarded writes reached the parent")
	}
}

func TestTreeCommitProofAndReopen(t *testing.T) {
	dir := t.TempDir()
	tr, err := Open(dir, Options{Pruning: Pruning{KeepRecent: 2, Interval: 1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var roots [][]byte
	for v := 1; v <= 5; v++ {
		tr.Working().Set([]byte("key"), fmt.Appendf(nil, "value-%d", v))
		h, ver, err := tr.Commit()
		if err != nil || ver != int64(v) {
			t.Fatalf("commit %d: %v %d", v, err, ver)
		}
		roots = append(roots, h)
	}
	p, err := tr.GetProven([]byte("key"), 0, true)
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Value) != "value-5" || !bytes.Equal(p.Root, roots[4]) {
		t.Fatalf("latest: %s", p.Value)
	}
	if err := VerifyProof(p.Root, p.Proof, []byte("key"), p.Value); err != nil {
		t.Fatal(err)
	}
	if err := VerifyProof(roots[3], p.Proof, []byte("key"), p.Value); err == nil {
		t.Fatal("proof verified against another version's root")
	}
	if _, err := tr.GetProven([]byte("key"), 1, false); err == nil {
		t.Fatal("pruned version 1 still readable")
	}
	if old, err := tr.GetProven([]byte("key"), 4, true); err != nil || string(old.Value) != "value-4" {
		t.Fatalf("version 4: %v", err)
	}
	tr.Close()
	tr, err = Open(dir, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if tr.Version() != 5 || !bytes.Equal(tr.Hash(), roots[4]) {
		t.Fatalf("reopened at %d", tr.Version())
	}
}

// TestSnapshotIterateChunks: a committed snapshot iterates a range longer
// than one chunk in order, stops when told, lets fn read the store, and
// keeps reading its own version when a commit falls between chunks.
func TestSnapshotIterateChunks(t *testing.T) {
	tr, err := Open(t.TempDir(), Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	const n = 2*snapshotChunk + 17
	var want []string
	for i := range n {
		k, v := fmt.Sprintf("p/%04d", i), fmt.Sprintf("v%d", i)
		tr.Working().Set([]byte(k), []byte(v))
		want = append(want, k+"="+v)
	}
	tr.Working().Set([]byte("q/0"), []byte("outside"))
	if _, _, err := tr.Commit(); err != nil {
		t.Fatal(err)
	}
	snap := tr.Committed()
	if got := dump(snap, []byte("p/")); !slices.Equal(got, want) {
		t.Fatalf("iterated %d entries, want %d", len(got), len(want))
	}
	seen := 0
	snap.Iterate([]byte("p/"), func(k, v []byte) bool {
		if !bytes.Equal(snap.Get(k), v) {
			t.Fatalf("read of %s inside the iteration", k)
		}
		seen++
		return seen < snapshotChunk+3
	})
	if seen != snapshotChunk+3 {
		t.Fatalf("stopped after %d entries", seen)
	}
	var got []string
	snap.Iterate([]byte("p/"), func(k, v []byte) bool {
		if len(got) == 1 {
			// A new version between chunks: rewrite and delete entries the
			// next chunks read.
			for i := snapshotChunk; i < n; i += 2 {
				tr.Working().Set(fmt.Appendf(nil, "p/%04d", i), []byte("new"))
				tr.Working().Delete(fmt.Appendf(nil, "p/%04d", i+1))
			}
			if _, _, err := tr.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, string(k)+"="+string(v))
		return true
	})
	if !slices.Equal(got, want) {
		t.Fatal("the snapshot's iteration saw a later version")
	}
}
