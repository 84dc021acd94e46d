//go:build linux

package runtime

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"github.com/tetratelabs/wazero/experimental"
	"golang.org/x/sys/unix"
)

// Copy-on-write instance memory (Linux).
//
// Resetting an instance to the module's post-initialisation snapshot is
// the dominant fixed cost of a call: a Go contract's memory is about
// 3.4 MB after initialisation, and copying it back takes ~300 µs on the
// development VM, while a small call dirties a handful of 4 KiB pages. So
// on Linux the snapshot is written once into a sealed memfd, and each
// instance's linear memory is a MAP_PRIVATE mapping of it: pages are
// shared until written, and madvise(MADV_DONTNEED) drops the private
// copies, after which the memory reads as the snapshot again (and as zeros
// beyond it). Which pages a call wrote is read from /proc/self/pagemap
// (resetDirty), so only those are dropped; without pagemap the whole used
// range is. The reset costs in proportion to the pages a call touched,
// not to the memory size (docs/benchmarks.md, "Contract runtime").
//
// This uses wazero's experimental MemoryAllocator hook. Where the mapping
// cannot be set up, the runtime falls back to copying.

// cowImage is the snapshot as a sealed memfd.
type cowImage struct {
	fd int
}

func newCowImage(snapshot []byte, maxBytes uint64) (*cowImage, error) {
	if maxBytes < uint64(len(snapshot)) {
		return nil, errors.New("runtime: snapshot larger than memory maximum")
	}
	fd, err := unix.MemfdCreate("veil-contract-snapshot", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("runtime: memfd_create: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			_ = unix.Close(fd)
		}
	}()
	if err := unix.Ftruncate(fd, int64(maxBytes)); err != nil {
		return nil, fmt.Errorf("runtime: ftruncate snapshot: %w", err)
	}
	for off := 0; off < len(snapshot); {
		n, err := unix.Pwrite(fd, snapshot[off:], int64(off))
		if err != nil {
			return nil, fmt.Errorf("runtime: write snapshot: %w", err)
		}
		off += n
	}
	// Nothing may change the image from now on: it backs every instance.
	seals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		return nil, fmt.Errorf("runtime: seal snapshot: %w", err)
	}
	ok = true
	return &cowImage{fd: fd}, nil
}

func (c *cowImage) close() {
	_ = unix.Close(c.fd)
}

// allocator returns a MemoryAllocator mapping this image; the mapping it
// creates is stored in *out so the instance can reset it.
func (c *cowImage) allocator(out **cowMemory) experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(_, maxBytes uint64) experimental.LinearMemory {
		region, err := unix.Mmap(c.fd, 0, int(maxBytes), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
		if err != nil {
			// wazero cannot fail an allocation gracefully here; fall
			// back to ordinary memory, reset by copying.
			*out = nil
			return &cowMemory{region: make([]byte, maxBytes), pagemap: -1}
		}
		m := &cowMemory{region: region, mapped: true, pagemap: -1}
		if fd, err := unix.Open("/proc/self/pagemap", unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			m.pagemap = fd
		}
		*out = m
		return m
	})
}

// cowMemory is one instance's private mapping of the image.
type cowMemory struct {
	region  []byte
	mapped  bool // region is an mmap of the image (else Go memory)
	pagemap int  // /proc/self/pagemap, or -1
	pmBuf   []byte
}

// Reallocate implements experimental.LinearMemory: the mapping already
// spans the maximum, so growing only extends the slice.
func (m *cowMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.region)) {
		return nil
	}
	return m.region[:size]
}

// Free implements experimental.LinearMemory.
func (m *cowMemory) Free() {
	if m.mapped {
		_ = unix.Munmap(m.region)
	}
	if m.pagemap >= 0 {
		_ = unix.Close(m.pagemap)
		m.pagemap = -1
	}
	m.region, m.mapped = nil, false
}

// reset discards the private pages of [0, n): they read as the image
// again.
func (m *cowMemory) reset(n int) error {
	if m.pagemap >= 0 {
		if err := m.resetDirty(n); err == nil {
			return nil
		}
	}
	if err := unix.Madvise(m.region[:n], unix.MADV_DONTNEED); err != nil {
		return fmt.Errorf("runtime: reset instance memory: %w", err)
	}
	return nil
}

// pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst).
const (
	pmPresent = 1 << 63
	pmSwapped = 1 << 62
	pmFile    = 1 << 61
)

// resetDirty drops only the pages the call wrote: in a private file
// mapping a written page has been replaced by an anonymous copy, which
// /proc/self/pagemap reports as present and not file-backed, or as
// swapped out. Clean pages keep their mappings, so the next call does not
// fault them in again (about 15% of a small query's cost). Any error
// falls back to dropping the whole range.
func (m *cowMemory) resetDirty(n int) error {
	ps := os.Getpagesize()
	pages := n / ps
	if cap(m.pmBuf) < pages*8 {
		m.pmBuf = make([]byte, pages*8)
	}
	buf := m.pmBuf[:pages*8]
	first := uintptr(unsafe.Pointer(&m.region[0])) / uintptr(ps)
	if _, err := unix.Pread(m.pagemap, buf, int64(first*8)); err != nil {
		return err
	}
	run := -1
	flush := func(end int) error {
		if run < 0 {
			return nil
		}
		err := unix.Madvise(m.region[run*ps:end*ps], unix.MADV_DONTNEED)
		run = -1
		return err
	}
	for p := 0; p < pages; p++ {
		e := binary.LittleEndian.Uint64(buf[p*8:])
		if e&pmSwapped != 0 || (e&pmPresent != 0 && e&pmFile == 0) {
			if run < 0 {
				run = p
			}
			continue
		}
		if err := flush(p); err != nil {
			return err
		}
	}
	return flush(pages)
}
