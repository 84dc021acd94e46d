package sealfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	pt := []byte("secret state")
	data, err := Seal(key, "VEILTST1", "veil/test/v1", pt)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, pt) {
		t.Fatal("plaintext visible")
	}
	got, err := Open(key, "VEILTST1", "veil/test/v1", data)
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("open: %v", err)
	}
	other := bytes.Repeat([]byte{8}, 32)
	for name, f := range map[string]func() error{
		"other key":   func() error { _, err := Open(other, "VEILTST1", "veil/test/v1", data); return err },
		"other label": func() error { _, err := Open(key, "VEILTST1", "veil/test/v2", data); return err },
		"other magic": func() error { _, err := Open(key, "VEILTST2", "veil/test/v1", data); return err },
		"truncated":   func() error { _, err := Open(key, "VEILTST1", "veil/test/v1", data[:20]); return err },
		"empty":       func() error { _, err := Open(key, "VEILTST1", "veil/test/v1", nil); return err },
	} {
		if err := f(); !errors.Is(err, ErrNotSealed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for i := range data {
		c := bytes.Clone(data)
		c[i] ^= 1
		if _, err := Open(key, "VEILTST1", "veil/test/v1", c); !errors.Is(err, ErrNotSealed) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	if _, err := Seal(key[:31], "M", "l", pt); err == nil {
		t.Fatal("short key accepted")
	}
}

func TestWriteAtomicReadLimited(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.sealed")
	for _, content := range []string{"first", "second, longer"} {
		if err := WriteAtomic(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadLimited(path, 100)
		if err != nil || string(got) != content {
			t.Fatalf("read %q: %v", got, err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v: %v", fi.Mode(), err)
	}
	if _, err := ReadLimited(path, 3); err == nil {
		t.Fatal("limit not enforced")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
	}
}
