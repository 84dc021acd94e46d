package executor

import (
	"context"
	"crypto/hpke"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/crypto/envelope"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

// FuzzQuery feeds arbitrary envelopes to the query path: it must answer
// with an error (ErrBadEnvelope, ErrOverloaded) or a sealed response,
// never panic.
func FuzzQuery(f *testing.F) {
	sk, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	e, err := Open(context.Background(), Config{HPKE: sk, OpenKey: testOpener, ReplayCacheSize: 64})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close(context.Background()) })
	now := time.Unix(1_800_000_000, 0)
	valid, _, err := envelope.SealQuery(sk.PublicKey(), envelope.QueryRequest{ContractID: account("c"), Method: ReceiptMethod,
		Args: []byte(`{"sequence":1}`), Expiry: now.Add(time.Minute)}, signer("alice"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:100])
	f.Add([]byte{})
	f.Add([]byte{1, 2, 0x64, 0x7a, 0, 1, 0, 2})
	tampered := append([]byte(nil), valid...)
	tampered[len(tampered)/2] ^= 0x80
	f.Add(tampered)
	f.Fuzz(func(t *testing.T, env []byte) {
		resp, err := e.Query(context.Background(), env, now)
		if err != nil {
			if !errors.Is(err, ErrBadEnvelope) && !errors.Is(err, ErrOverloaded) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if len(resp) == 0 {
			t.Fatal("empty response")
		}
	})
}

// FuzzDecodeContractMessage feeds arbitrary contract-topic payloads to
// the executor's decoder (including command opening and the nonce
// check): it returns a call or an ErrInvalid error, never panics.
func FuzzDecodeContractMessage(f *testing.F) {
	id := account("fuzz")
	ks := contractKeys(f, id)
	sk, _ := hpke.MLKEM768X25519().GenerateKey()
	e, err := Open(context.Background(), Config{HPKE: sk, OpenKey: testOpener})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.Close(context.Background()) })
	c, err := e.newContract(id, 1, id, ks)
	if err != nil {
		f.Fatal(err)
	}
	env, err := envelope.SealCommand(ks.HPKE.PublicKey(), envelope.Call{ContractID: id, Nonce: 1, Method: "m"}, signer("a"))
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range []*contractsv1.ContractMessage{
		{Kind: &contractsv1.ContractMessage_Init{Init: &contractsv1.Init{Deployer: id[:]}}},
		{Kind: &contractsv1.ContractMessage_ChainCall{ChainCall: &contractsv1.ChainCall{Caller: id[:], Method: "deposit", Args: []byte(`{}`)}}},
		{Kind: &contractsv1.ContractMessage_Command{Command: &contractsv1.Command{Sender: id[:], Envelope: env}}},
		{},
	} {
		b, _ := proto.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		cl, err := c.decode(payload, nil)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error class: %v", err)
			}
			return
		}
		if cl.rejected == nil && cl.method == "" {
			t.Fatal("accepted call without a method")
		}
	})
}
