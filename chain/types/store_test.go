package types

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/types/known/wrapperspb"
)

// mapStore is the least KVStore the proto helpers need.
type mapStore map[string][]byte

func (m mapStore) Get(k []byte) []byte                    { return m[string(k)] }
func (m mapStore) Has(k []byte) bool                      { _, ok := m[string(k)]; return ok }
func (m mapStore) Set(k, v []byte)                        { m[string(k)] = v }
func (m mapStore) Delete(k []byte)                        { delete(m, string(k)) }
func (m mapStore) Iterate([]byte, func(k, v []byte) bool) {}

func TestProtoHelpers(t *testing.T) {
	s := mapStore{}
	var got wrapperspb.StringValue
	if GetProto(s, []byte("k"), &got) {
		t.Fatal("absent key reported present")
	}
	SetProto(s, []byte("k"), wrapperspb.String("v"))
	if !GetProto(s, []byte("k"), &got) || got.GetValue() != "v" {
		t.Fatalf("round trip: %v", got.GetValue())
	}
	s.Set([]byte("bad"), []byte{0xff})
	defer func() {
		var f *StoreFailure
		if err, _ := recover().(error); !errors.As(err, &f) {
			t.Fatalf("corrupt value: recovered %v, want *StoreFailure", err)
		}
	}()
	GetProto(s, []byte("bad"), &got)
}

func TestUint64Counters(t *testing.T) {
	s := mapStore{}
	if GetUint64(s, []byte("c")) != 0 {
		t.Fatal("absent counter not 0")
	}
	SetUint64(s, []byte("c"), 1<<40+7)
	if GetUint64(s, []byte("c")) != 1<<40+7 {
		t.Fatal("round trip")
	}
	s.Set([]byte("c"), []byte{1, 2, 3})
	defer func() {
		if _, ok := recover().(*StoreFailure); !ok {
			t.Fatal("a corrupt counter did not fail as a store failure")
		}
	}()
	GetUint64(s, []byte("c"))
}
