//go:build !linux

package runtime

import (
	"errors"

	"github.com/tetratelabs/wazero/experimental"
)

// Without Linux memfd and MADV_DONTNEED, instances are reset by copying
// the snapshot back (see cow_linux.go for why that is slower).

type cowImage struct{}

func newCowImage([]byte, uint64) (*cowImage, error) {
	return nil, errors.New("runtime: copy-on-write snapshots need Linux")
}

func (*cowImage) close() {}

func (*cowImage) allocator(**cowMemory) experimental.MemoryAllocator { return nil }

type cowMemory struct{}

func (*cowMemory) reset(int) error { return errors.New("runtime: no copy-on-write memory") }
