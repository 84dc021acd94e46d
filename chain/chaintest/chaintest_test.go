package chaintest

import (
	"bytes"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

const importPath = "github.com/veil-network/veil/chain/chaintest"

// TestOnlyTestsImport: no non-test Go file of the module imports
// chaintest, so no test fixture (key generation, t.Fatal) can reach a
// node binary.
func TestOnlyTestsImport(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "web", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == importPath {
				t.Errorf("%s imports %s outside a _test.go file", path, importPath)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d Go files found under %s: the walk did not reach the module", checked, root)
	}
}

// core is the core modules initialised on a fresh store.
func core(t *testing.T) (*types.Context, *types.Router) {
	t.Helper()
	ctx := &types.Context{Store: store.NewMemory(), ChainID: "veil-chaintest", GenesisHash: [32]byte{1, 2, 3}, Height: 1,
		Time: time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), SS58Prefix: SS58Prefix}
	return ctx, NewCore().Init(t, ctx, 100)
}

// TestWorkerRegistersAndSyncs: Core.Init sets up a chain that admits a
// simulated worker, Registration is accepted and binds the operator, and
// NextEgress reaches the registry through mq; a replayed sequence is
// refused and changes nothing.
func TestWorkerRegistersAndSyncs(t *testing.T) {
	ctx, r := core(t)
	alice, bob := Addr(t, bank.DevAccounts[0].Address), Addr(t, bank.DevAccounts[1].Address)
	if got := registry.DevGenesis().Params.AttestationValidityBlocks; got == 100 {
		t.Fatal("the test's validity must differ from the dev genesis to show Init applies it")
	}
	w := RandomWorker(t)
	id := w.ID()

	// Signed for another operator, the registration is refused.
	if _, err := Exec(t, r, ctx, bob, w.Registration(t, ctx.ChainID, ctx.GenesisHash, alice)); err == nil {
		t.Fatal("registration sent by someone other than the signed operator was accepted")
	}
	evs, err := Exec(t, r, ctx, alice, w.Registration(t, ctx.ChainID, ctx.GenesisHash, alice))
	if err != nil {
		t.Fatalf("registration: %v", err)
	}
	rec := registry.Worker(ctx.Store, id[:])
	if rec == nil || !bytes.Equal(rec.GetOperator(), alice[:]) || !rec.GetSimulated() || rec.GetVersion() != "test" ||
		rec.GetExpiresAt() != ctx.Height+100 {
		t.Fatalf("worker record %v", rec)
	}
	if len(EventsOf(evs, "worker_registered")) != 1 {
		t.Fatalf("registration events %v", evs)
	}

	sync := Encode(t, &registryv1.SyncReport{SyncedHeight: 1})
	evs, err = Exec(t, r, ctx, bob, w.NextEgress(t, ctx.Store, registry.TopicSynced, sync))
	if err != nil {
		t.Fatalf("egress: %v", err)
	}
	if st := EgressStatus(t, evs); st != "accepted" {
		t.Fatalf("egress status %q", st)
	}
	if got := mq.NextEgressSequence(ctx.Store, id); got != 1 {
		t.Fatalf("next egress sequence %d, want 1", got)
	}

	before := ctx.Store.(*store.Memory).Clone()
	if _, err := Exec(t, r, ctx, bob, w.Egress(t, 0, registry.TopicSynced, sync)); types.CodeOf(err) != mq.CodeEgressDuplicate {
		t.Fatalf("replayed egress: %v, want code %d", err, mq.CodeEgressDuplicate)
	}
	if !before.Equal(ctx.Store.(*store.Memory)) {
		t.Fatal("a failed message changed state")
	}
}

func TestEvents(t *testing.T) {
	evs := []types.Event{
		{Type: "a", Attrs: []types.Attr{{Key: "k", Value: "1"}}},
		{Type: "mq_egress", Attrs: []types.Attr{{Key: "status", Value: "refused: x"}}},
		{Type: "a", Attrs: []types.Attr{{Key: "k", Value: "2"}, {Key: "j", Value: "3"}}},
		{Type: "mq_egress", Attrs: []types.Attr{{Key: "status", Value: "accepted"}}},
	}
	if got := EventsOf(evs, "a"); len(got) != 2 || Attr(got[0], "k") != "1" || Attr(got[1], "j") != "3" || Attr(got[0], "j") != "" {
		t.Fatalf("EventsOf: %v", got)
	}
	if got := LastEvent(t, evs, "a"); Attr(got, "k") != "2" {
		t.Fatalf("LastEvent: %v", got)
	}
	if got := EgressStatus(t, evs); got != "refused: x" {
		t.Fatalf("EgressStatus: %q, want the first", got)
	}
}

func TestEqualExcept(t *testing.T) {
	a, b := store.NewMemory(), store.NewMemory()
	a.Set([]byte("same"), []byte{1})
	b.Set([]byte("same"), []byte{1})
	a.Set([]byte("seq"), []byte{1})
	b.Set([]byte("seq"), []byte{2})
	if EqualExcept(a, b) {
		t.Fatal("stores differing in seq reported equal")
	}
	if !EqualExcept(a, b, []byte("seq")) {
		t.Fatal("stores equal but for seq reported different")
	}
	if !a.Has([]byte("seq")) || !b.Has([]byte("seq")) {
		t.Fatal("EqualExcept changed its arguments")
	}
	b.Set([]byte("other"), nil)
	if EqualExcept(a, b, []byte("seq")) {
		t.Fatal("a key only b holds was ignored")
	}
}
