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
