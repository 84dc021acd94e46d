package registry

import (
	"context"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/sudo"
	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

const testChainID = "veil-registry-test"

var (
	testGenesisHash = sha256.Sum256([]byte("registry test genesis"))
	testStart       = time.Date(2025, 6, 20, 0, 0, 0, 0, time.UTC)
)

// env is a registry on an in-memory store with //Alice-equivalent sudo.
type env struct {
	t      testing.TB
	m      *Module
	r      *types.Router
	ctx    *types.Context
	sudo   types.AccountID
	oper   types.AccountID
	events []types.Event
}

func newEnv(t testing.TB, g Genesis) *env {
	t.Helper()
	m := New()
	st := store.NewMemory()
	ctx := &types.Context{Store: st, ChainID: testChainID, GenesisHash: testGenesisHash, Height: 1, Time: testStart, SS58Prefix: 42}
	sm := sudo.New()
	if err := sm.InitGenesis(ctx, sm.DefaultGenesis()); err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(g)
	if err := m.ValidateGenesis(raw, 42); err != nil {
		t.Fatal(err)
	}
	if err := m.InitGenesis(ctx, raw); err != nil {
		t.Fatal(err)
	}
	r := types.NewRouter()
	m.RegisterMessages(r)
	return &env{t: t, m: m, r: r, ctx: ctx, sudo: sudo.Key(st), oper: types.AccountID{0xaa, 1}}
}

func (e *env) store() *store.Memory { return e.ctx.Store.(*store.Memory) }

// exec packs, decodes and runs msg as sender, as a transaction would.
func (e *env) exec(sender types.AccountID, msg proto.Message) error {
	e.t.Helper()
	a, err := types.PackMsg(msg)
	if err != nil {
		e.t.Fatal(err)
	}
	dm, err := e.r.Decode(a)
	if err != nil {
		return err
	}
	ctx := e.ctx.WithStore(e.ctx.Store)
	err = dm.Execute(ctx, sender)
	e.events = append(e.events, ctx.Events()...)
	return err
}

// advance moves to height h (1 s blocks), running EndBlock of each height
// passed, and returns the events of those EndBlocks.
func (e *env) advance(h int64) []types.Event {
	e.t.Helper()
	var evs []types.Event
	for e.ctx.Height < h {
		e.ctx.Height++
		e.ctx.Time = e.ctx.Time.Add(time.Second)
		ctx := e.ctx.WithStore(e.ctx.Store)
		if err := e.m.EndBlock(ctx); err != nil {
			e.t.Fatal(err)
		}
		evs = append(evs, ctx.Events()...)
	}
	return evs
}

func (e *env) query(path string, args any) (any, error) {
	var raw []byte
	if args != nil {
		raw, _ = json.Marshal(args)
	}
	return e.m.Query(e.ctx, path, raw)
}

// simWorker is a worker's keys on a simulated platform.
type simWorker struct {
	identity ed25519.PrivateKey
	hpkePub  []byte
	platform *attest.SimulatedPlatform
	version  string
}

func newSimWorker(t testing.TB, measurement []byte) *simWorker {
	t.Helper()
	_, id, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	seed := sha256.Sum256(id.Seed())
	p, err := attest.NewSimulatedPlatform(seed[:], measurement)
	if err != nil {
		t.Fatal(err)
	}
	return &simWorker{identity: id, hpkePub: k.PublicKey().Bytes(), platform: p, version: "test"}
}

func (w *simWorker) pub() []byte { return w.identity.Public().(ed25519.PublicKey) }

func (w *simWorker) info(chainID string, gh [32]byte) *registryv1.WorkerInfo {
	return &registryv1.WorkerInfo{
		Identity: w.pub(), HpkePublicKey: w.hpkePub,
		HpkeSuite: &registryv1.HPKESuite{KemId: HPKEKEMID, KdfId: HPKEKDFID, AeadId: HPKEAEADID},
		TeeKind:   string(w.platform.Kind()), Version: w.version, ChainId: chainID, GenesisHash: gh[:],
	}
}

// register builds a well-formed registration for operator on the test
// chain, with evidence over the correct report data.
func (w *simWorker) register(t testing.TB, operator types.AccountID) *registryv1.MsgRegisterWorker {
	t.Helper()
	rd := ReportData(testChainID, testGenesisHash, w.pub(), w.hpkePub)
	ev, err := w.platform.Evidence(context.Background(), rd)
	if err != nil {
		t.Fatal(err)
	}
	return &registryv1.MsgRegisterWorker{
		WorkerInfo:        w.info(testChainID, testGenesisHash),
		Evidence:          &registryv1.Evidence{Kind: string(ev.Kind), Quote: ev.Quote},
		OperatorSignature: ed25519.Sign(w.identity, OperatorMessage(testChainID, testGenesisHash, w.pub(), operator)),
	}
}

// sharedAttestationDir is ../shared/testdata/attestation relative to the
// repository root, seen from this package.
const sharedAttestationDir = "../../../shared/testdata/attestation"

func readShared(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedAttestationDir, rel))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skipf("shared attestation test data %q is absent (expected under ../shared/testdata/attestation relative to the repository root)", rel)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}
