package chaintest

import (
	"context"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/sha256"
	"testing"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// Worker is a simulated TEE worker: its identity key, its HPKE public key
// and a simulated platform measuring the dev worker, which
// registry.DevGenesis admits. It holds only what the chain sees of a
// worker; the HPKE private key is not kept.
type Worker struct {
	// Key is the worker identity (ed25519): it signs the operator
	// binding and every egress message.
	Key           ed25519.PrivateKey
	HPKEPublicKey []byte
	Platform      *attest.SimulatedPlatform
	// Version is the worker version it registers with.
	Version string
}

// NewWorker is a simulated worker with identity key (a deterministic key
// gives a deterministic identity, which tests that draw among workers
// rely on). The platform's seed is derived from the key; the HPKE key is
// fresh.
func NewWorker(t testing.TB, key ed25519.PrivateKey) *Worker {
	t.Helper()
	hk, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	seed := sha256.Sum256(key.Seed())
	p, err := attest.NewSimulatedPlatform(seed[:], registry.DevWorkerMeasurement())
	if err != nil {
		t.Fatal(err)
	}
	return &Worker{Key: key, HPKEPublicKey: hk.PublicKey().Bytes(), Platform: p, Version: "test"}
}

// RandomWorker is a simulated worker with a fresh identity key.
func RandomWorker(t testing.TB) *Worker {
	t.Helper()
	_, k, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return NewWorker(t, k)
}

// ID is the worker's identity: its ed25519 public key.
func (w *Worker) ID() [32]byte { return [32]byte(w.Key.Public().(ed25519.PublicKey)) }

// Registration is a well-formed MsgRegisterWorker binding w to operator
// on the chain (chainID, genesisHash): worker info, simulated evidence
// over registry.ReportData and the identity's signature of
// registry.OperatorMessage.
func (w *Worker) Registration(t testing.TB, chainID string, genesisHash [32]byte, operator types.AccountID) *registryv1.MsgRegisterWorker {
	t.Helper()
	id := w.ID()
	ev, err := w.Platform.Evidence(context.Background(), registry.ReportData(chainID, genesisHash, id[:], w.HPKEPublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return &registryv1.MsgRegisterWorker{
		WorkerInfo: &registryv1.WorkerInfo{
			Identity: id[:], HpkePublicKey: w.HPKEPublicKey,
			HpkeSuite: &registryv1.HPKESuite{KemId: registry.HPKEKEMID, KdfId: registry.HPKEKDFID, AeadId: registry.HPKEAEADID},
			TeeKind:   string(w.Platform.Kind()), Version: w.Version, ChainId: chainID, GenesisHash: genesisHash[:],
		},
		Evidence:          &registryv1.Evidence{Kind: string(ev.Kind), Quote: ev.Quote},
		OperatorSignature: ed25519.Sign(w.Key, registry.OperatorMessage(chainID, genesisHash, id[:], operator)),
	}
}

// Egress is w's egress message number seq on topic, signed, in the
// MsgSyncEgress a relayer submits.
func (w *Worker) Egress(t testing.TB, seq uint64, topic string, payload []byte) *mqv1.MsgSyncEgress {
	t.Helper()
	return SignEgress(t, w.Key, seq, topic, payload)
}

// NextEgress is Egress with the sequence the chain (state s) accepts next
// from w.
func (w *Worker) NextEgress(t testing.TB, s types.KVStore, topic string, payload []byte) *mqv1.MsgSyncEgress {
	t.Helper()
	return w.Egress(t, mq.NextEgressSequence(s, w.ID()), topic, payload)
}

// SignEgress is the egress message number seq on topic of the worker
// whose identity key is key, signed (mq.SignEgressBytes), in a
// MsgSyncEgress.
func SignEgress(t testing.TB, key ed25519.PrivateKey, seq uint64, topic string, payload []byte) *mqv1.MsgSyncEgress {
	t.Helper()
	b := Encode(t, &mqv1.EgressMessage{Sender: key.Public().(ed25519.PublicKey), Sequence: seq, Topic: topic, Payload: payload})
	return &mqv1.MsgSyncEgress{Message: b, Signature: ed25519.Sign(key, mq.SignEgressBytes(b))}
}
