package registry

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// FuzzRegisterWorker feeds arbitrary bytes to the registration handler as a
// transaction's message value: it must never panic, must fail with a coded
// error (never CodeInternal) and must leave state untouched when it fails.
func FuzzRegisterWorker(f *testing.F) {
	e := newEnv(f, DevGenesis())
	w := newSimWorker(f, DevWorkerMeasurement())
	good, _ := proto.Marshal(w.register(f, e.oper))
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00, 0x12, 0x00})
	f.Add(good[:len(good)/2])
	base := e.store().Clone()
	f.Fuzz(func(t *testing.T, b []byte) {
		st := base.Clone()
		ctx := &types.Context{Store: st, ChainID: testChainID, GenesisHash: testGenesisHash, Height: 2, Time: testStart, SS58Prefix: 42}
		msg, err := e.r.Decode(&anypb.Any{TypeUrl: types.TypeURL(&registryv1.MsgRegisterWorker{}), Value: b})
		if err != nil {
			if types.CodeOf(err) != types.CodeTxDecode {
				t.Fatalf("decode error without tx_decode: %v", err)
			}
			return
		}
		err = msg.Execute(ctx, e.oper)
		if err == nil {
			return
		}
		if c := types.CodeOf(err); c == types.CodeInternal {
			t.Fatalf("uncoded error: %v", err)
		}
		if !st.Equal(base) {
			t.Fatal("failed registration changed state")
		}
	})
}

// FuzzGenesis: arbitrary genesis sections are refused or validate to
// parameters that pass Validate again.
func FuzzGenesis(f *testing.F) {
	m := New()
	f.Add([]byte(m.DefaultGenesis()))
	f.Add([]byte(`{"params":{"tcb_policy":[{"status":"Revoked","confidence":1}]}}`))
	f.Add([]byte(`{"measurements":[{"id":"sgx:` + "00" + `"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := parseGenesis(b)
		if err != nil {
			return
		}
		if err := g.Params.Validate(); err != nil {
			t.Fatalf("accepted genesis with invalid params: %v", err)
		}
	})
}

// FuzzQuery: query paths and arguments from clients never panic and fail
// only with request errors.
func FuzzQuery(f *testing.F) {
	e := newEnv(f, DevGenesis())
	w := newSimWorker(f, DevWorkerMeasurement())
	if err := e.exec(e.oper, w.register(f, e.oper)); err != nil {
		f.Fatal(err)
	}
	f.Add("worker", []byte(`{"identity":"`+types.HexID(w.pub())+`"}`))
	f.Add("workers", []byte(nil))
	f.Add("worker", []byte(`{"identity":1}`))
	f.Fuzz(func(t *testing.T, path string, args []byte) {
		_, err := e.m.Query(e.ctx, path, args)
		if c := types.CodeOf(err); err != nil && c != types.CodeInvalidRequest && c != types.CodeNotFound {
			t.Fatalf("query error %v", err)
		}
	})
}
