//go:build wasip1

package sdk

import (
	"encoding/binary"
	"time"
	"unsafe"
)

// The Veil host ABI, version 1 (docs/contracts.md). Pointers are offsets
// into this module's linear memory; the host bounds-checks every one.

//go:wasmimport veil input
func veilInput(ptr unsafe.Pointer)

//go:wasmimport veil output
func veilOutput(ptr unsafe.Pointer, n uint32)

//go:wasmimport veil revert
func veilRevert(ptr unsafe.Pointer, n uint32)

//go:wasmimport veil env
func veilEnv(ptr unsafe.Pointer)

//go:wasmimport veil storage_get
func veilStorageGet(kptr unsafe.Pointer, klen uint32, vptr unsafe.Pointer, vcap uint32) int32

//go:wasmimport veil storage_set
func veilStorageSet(kptr unsafe.Pointer, klen uint32, vptr unsafe.Pointer, vlen uint32)

//go:wasmimport veil storage_delete
func veilStorageDelete(kptr unsafe.Pointer, klen uint32)

//go:wasmimport veil storage_next
func veilStorageNext(pptr unsafe.Pointer, plen uint32, aptr unsafe.Pointer, alen uint32, kptr unsafe.Pointer, kcap uint32) int32

//go:wasmimport veil random
func veilRandom(ptr unsafe.Pointer, n uint32)

//go:wasmimport veil emit
func veilEmit(tptr unsafe.Pointer, tlen uint32, dptr unsafe.Pointer, dlen uint32)

// abiVersion tells the runtime which ABI this module speaks.
//
//go:wasmexport veil_abi_version
func abiVersion() int32 { return 1 }

// veilCall is the entry point of every call: it fetches the method and
// arguments, dispatches, and reports the output or the revert reason.
// Returning nonzero marks the call reverted.
//
//go:wasmexport veil_call
func veilCall(methodLen, argsLen int32) int32 {
	in := make([]byte, int(methodLen)+int(argsLen))
	veilInput(ptrOf(in))
	out, err := Dispatch(wasmHost{}, string(in[:methodLen]), in[methodLen:])
	if err != nil {
		msg := err.Error()
		veilRevert(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
		return 1
	}
	veilOutput(ptrOf(out), uint32(len(out)))
	return 0
}

func ptrOf(b []byte) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(b)) }

type wasmHost struct{}

func (wasmHost) Env() Env {
	var rec [88]byte
	veilEnv(unsafe.Pointer(&rec[0]))
	var e Env
	copy(e.Caller[:], rec[0:32])
	copy(e.Contract[:], rec[32:64])
	e.Height = binary.LittleEndian.Uint64(rec[64:72])
	e.Time = time.Unix(0, int64(binary.LittleEndian.Uint64(rec[72:80]))).UTC()
	e.Origin = Origin(binary.LittleEndian.Uint32(rec[80:84]))
	return e
}

func (wasmHost) StorageGet(key []byte) ([]byte, bool) {
	buf := make([]byte, 128)
	n := veilStorageGet(ptrOf(key), uint32(len(key)), ptrOf(buf), uint32(len(buf)))
	if n < 0 {
		return nil, false
	}
	if int(n) <= len(buf) {
		return buf[:n], true
	}
	buf = make([]byte, n)
	veilStorageGet(ptrOf(key), uint32(len(key)), ptrOf(buf), uint32(len(buf)))
	return buf, true
}

func (wasmHost) StorageSet(key, value []byte) {
	veilStorageSet(ptrOf(key), uint32(len(key)), ptrOf(value), uint32(len(value)))
}

func (wasmHost) StorageDelete(key []byte) {
	veilStorageDelete(ptrOf(key), uint32(len(key)))
}

func (wasmHost) StorageNext(prefix, after []byte) ([]byte, bool) {
	buf := make([]byte, MaxKeyBytes)
	n := veilStorageNext(ptrOf(prefix), uint32(len(prefix)), ptrOf(after), uint32(len(after)), ptrOf(buf), uint32(len(buf)))
	if n < 0 {
		return nil, false
	}
	return buf[:n], true
}

func (wasmHost) Random(p []byte) {
	veilRandom(ptrOf(p), uint32(len(p)))
}

func (wasmHost) Emit(topic string, data []byte) {
	veilEmit(unsafe.Pointer(unsafe.StringData(topic)), uint32(len(topic)), ptrOf(data), uint32(len(data)))
}
