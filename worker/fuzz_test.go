package worker

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/proto"

	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
)

// FuzzUnseal: arbitrary sealed-file bytes are refused with ErrNotSealed and
// never panic; only a genuine seal opens.
func FuzzUnseal(f *testing.F) {
	key := bytes.Repeat([]byte{3}, 32)
	k, err := generateKeys()
	if err != nil {
		f.Fatal(err)
	}
	st, _ := stateFromKeys(k, binding{})
	good, err := seal(key, st)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(sealedMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := unseal(key, data)
		if err != nil {
			return
		}
		if _, err := keysFromState(st); err != nil && bytes.Equal(data, good) {
			t.Fatal("genuine seal does not rebuild keys")
		}
	})
}

// FuzzAPIInputs decodes arbitrary request bodies as the worker API's
// messages and runs them through the handlers' logic: no panics, and
// invalid input never changes the binding.
func FuzzAPIInputs(f *testing.F) {
	w, err := New(context.Background(), Config{Home: f.TempDir(), TEE: "simulated", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	bind, _ := proto.Marshal(&workerv1.BindRequest{ChainId: "veil-dev", GenesisHash: bytes.Repeat([]byte{1}, 32)})
	att, _ := proto.Marshal(&workerv1.AttestationRequest{Operator: bytes.Repeat([]byte{2}, 32)})
	rep, _ := proto.Marshal(&workerv1.ReportRegistrationRequest{Registration: &workerv1.Registration{State: 2, Operator: bytes.Repeat([]byte{2}, 32)}})
	f.Add(uint8(0), bind)
	f.Add(uint8(1), att)
	f.Add(uint8(2), rep)
	f.Add(uint8(1), []byte{0x0a, 0xff})
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		ctx := context.Background()
		switch which % 3 {
		case 0:
			var req workerv1.BindRequest
			if proto.Unmarshal(body, &req) != nil {
				return
			}
			before := w.Info().GetWorkerInfo().GetChainId()
			if err := w.bind(req.GetChainId(), req.GetGenesisHash()); err != nil {
				if after := w.Info().GetWorkerInfo().GetChainId(); after != before {
					t.Fatal("a refused bind changed the binding")
				}
			}
		case 1:
			var req workerv1.AttestationRequest
			if proto.Unmarshal(body, &req) != nil {
				return
			}
			_, _ = w.Attest(ctx, req.GetOperator())
		case 2:
			var req workerv1.ReportRegistrationRequest
			if proto.Unmarshal(body, &req) != nil {
				return
			}
			_ = w.noteRegistration(req.GetRegistration())
		}
	})
}
