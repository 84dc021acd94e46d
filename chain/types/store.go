package types

import (
	"encoding/binary"
	"fmt"

	"google.golang.org/protobuf/proto"
)

// KVStore is the view of state that chain code reads and writes. Keys are
// module-prefixed ("bank/", "auth/", ...) in one Merkle tree. Iteration is
// always in ascending key order, so chain code never depends on map order.
//
// Backend failures (disk corruption) are not returned: the store panics with
// a *StoreFailure, which the application turns into a node halt. Continuing
// after a failed read would let this node diverge from the network.
type KVStore interface {
	Get(key []byte) []byte
	Has(key []byte) bool
	Set(key, value []byte)
	Delete(key []byte)
	// Iterate calls fn for every key with the given prefix in ascending
	// order until fn returns false. fn must not write to the store.
	Iterate(prefix []byte, fn func(key, value []byte) bool)
}

// StoreFailure wraps a backend error raised as a panic by KVStore methods.
type StoreFailure struct{ Err error }

func (f *StoreFailure) Error() string { return "state store failure: " + f.Err.Error() }
func (f *StoreFailure) Unwrap() error { return f.Err }

// PrefixEnd returns the smallest key greater than every key with prefix p
// (nil when there is none), for range iteration.
func PrefixEnd(p []byte) []byte {
	end := append([]byte(nil), p...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// GetProto decodes the protobuf value under key into msg and reports
// whether there was one. A value that does not decode is corrupted state:
// it panics with a *StoreFailure, as a backend failure does.
func GetProto(s KVStore, key []byte, msg proto.Message) bool {
	b := s.Get(key)
	if b == nil {
		return false
	}
	DecodeProto(b, msg)
	return true
}

// DecodeProto decodes a stored protobuf value (one Iterate visits, say)
// into msg, panicking with a *StoreFailure if it does not decode.
func DecodeProto(b []byte, msg proto.Message) {
	if err := proto.Unmarshal(b, msg); err != nil {
		panic(&StoreFailure{Err: fmt.Errorf("decode %s: %w", proto.MessageName(msg), err)})
	}
}

// SetProto stores msg's deterministic protobuf encoding under key (the
// only encoding state may hold: every node must write the same bytes).
func SetProto(s KVStore, key []byte, msg proto.Message) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(msg)
	if err != nil {
		panic(&StoreFailure{Err: fmt.Errorf("encode %s: %w", proto.MessageName(msg), err)})
	}
	s.Set(key, b)
}

// GetUint64 reads a counter stored as 8 big-endian bytes (0 when absent).
// Any other length is corrupted state: it panics with a *StoreFailure
// rather than silently restarting the counter at 0.
func GetUint64(s KVStore, key []byte) uint64 {
	b := s.Get(key)
	if b == nil {
		return 0
	}
	if len(b) != 8 {
		panic(&StoreFailure{Err: fmt.Errorf("counter %q holds %d bytes, want 8", key, len(b))})
	}
	return binary.BigEndian.Uint64(b)
}

// SetUint64 stores a counter as 8 big-endian bytes.
func SetUint64(s KVStore, key []byte, v uint64) { s.Set(key, binary.BigEndian.AppendUint64(nil, v)) }
