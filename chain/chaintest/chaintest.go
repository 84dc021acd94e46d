// Package chaintest is test support for the chain's modules: simulated
// TEE workers with their registrations and signed egress, the core
// modules wired and initialised as the application wires them, message
// execution, and event lookup. The modules' tests share it so that each
// fixture is written, and fixed, once.
//
// It is an ordinary package so that the tests of several packages can
// import it, but only _test.go files may: it fails tests through
// testing.TB, generates keys, and imports the modules it wires (bank,
// sudo, registry, mq), so chain code importing it would be a cycle or a
// test fixture in a node (TestOnlyTestsImport enforces this). For the
// same reason the package-internal tests of the modules it imports
// (registry, mq, bank, sudo) cannot use it; their external tests can.
package chaintest

import (
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/sudo"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keys"
)

// SS58Prefix is the address prefix of the test chains (the generic
// Substrate prefix, as on a dev chain).
const SS58Prefix = 42

// Addr parses an SS58 address (SS58Prefix) or 0x account id, failing t on
// a malformed one.
func Addr(t testing.TB, s string) types.AccountID {
	t.Helper()
	a, err := types.ParseAddress(s, SS58Prefix)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Signer is the sr25519 key of a Substrate secret URI such as "//Alice".
func Signer(t testing.TB, uri string) keys.Signer {
	t.Helper()
	s, err := keys.FromURI(uri, keys.SchemeSr25519)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Encode is m's deterministic protobuf encoding, the form the chain signs
// and stores.
func Encode(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Attr is the value of ev's attribute k ("" if it has none).
func Attr(ev types.Event, k string) string {
	for _, a := range ev.Attrs {
		if a.Key == k {
			return a.Value
		}
	}
	return ""
}

// EventsOf returns the events of type typ, in order.
func EventsOf(evs []types.Event, typ string) []types.Event {
	var out []types.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// LastEvent returns the last event of type typ, failing t if there is
// none.
func LastEvent(t testing.TB, evs []types.Event, typ string) types.Event {
	t.Helper()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type == typ {
			return evs[i]
		}
	}
	t.Fatalf("no %s event in %v", typ, evs)
	return types.Event{}
}

// EgressStatus is the status mq gave the first egress message in evs
// (the "status" of the first "mq_egress" event: "accepted" or "refused:
// …"), failing t if mq reported none.
func EgressStatus(t testing.TB, evs []types.Event) string {
	t.Helper()
	for _, ev := range evs {
		if ev.Type == "mq_egress" {
			return Attr(ev, "status")
		}
	}
	t.Fatal("no mq_egress event")
	return ""
}

// Exec runs msg as sender the way the application runs a transaction's
// message: packed into an Any, decoded through r, and executed in a cache
// over ctx.Store that is written only if the handler succeeds. It returns
// the message's events (none on failure) and the handler's error; a
// message that cannot be packed fails t, one r does not know is returned
// as the decoding error.
func Exec(t testing.TB, r *types.Router, ctx *types.Context, sender types.AccountID, msg proto.Message) ([]types.Event, error) {
	t.Helper()
	a, err := types.PackMsg(msg)
	if err != nil {
		t.Fatal(err)
	}
	dm, err := r.Decode(a)
	if err != nil {
		return nil, err
	}
	cache := store.NewCache(ctx.Store)
	mctx := ctx.WithStore(cache)
	if err := dm.Execute(mctx, sender); err != nil {
		return nil, err
	}
	cache.Write()
	return mctx.Events(), nil
}

// EqualExcept reports whether a and b hold the same state once keys are
// left out of both (neither store is changed).
func EqualExcept(a, b *store.Memory, keys ...[]byte) bool {
	a, b = a.Clone(), b.Clone()
	for _, k := range keys {
		a.Delete(k)
		b.Delete(k)
	}
	return a.Equal(b)
}

// Section is a module and its genesis section; a nil Genesis is the
// module's DefaultGenesis.
type Section struct {
	Module  types.Module
	Genesis json.RawMessage
}

// InitGenesis validates and initialises the modules in order, as the
// application's InitChain does, and returns a router holding all their
// messages. Any error fails t.
func InitGenesis(t testing.TB, ctx *types.Context, sections ...Section) *types.Router {
	t.Helper()
	r := types.NewRouter()
	for _, s := range sections {
		raw := s.Genesis
		if raw == nil {
			raw = s.Module.DefaultGenesis()
		}
		if err := s.Module.ValidateGenesis(raw, ctx.SS58Prefix); err != nil {
			t.Fatalf("%s genesis: %v", s.Module.Name(), err)
		}
		if err := s.Module.InitGenesis(ctx, raw); err != nil {
			t.Fatalf("%s init genesis: %v", s.Module.Name(), err)
		}
		s.Module.RegisterMessages(r)
	}
	return r
}

// Core is the modules every worker-facing module builds on, wired as
// app.NewModuleSet wires them: mq accepts egress only from workers the
// registry knows and routes the "registry/…" egress topics to it, and the
// registry sends to gatekeepers through mq.
type Core struct {
	Bank     *bank.Module
	Registry *registry.Module
	MQ       *mq.Module
}

// NewCore builds and wires the core modules.
func NewCore() *Core {
	c := &Core{Bank: bank.New(), Registry: registry.New(), MQ: mq.New()}
	c.MQ.SetEgressSenders(c.Registry)
	c.MQ.HandleEgress(registry.Name, c.Registry)
	c.Registry.SetSender(c.MQ)
	return c
}

// Init initialises, in the application's order, bank (the dev accounts
// funded), sudo (//Alice), the registry (registry.DevGenesis, which
// admits simulated workers of the dev measurement, with attestations
// valid for validity blocks), mq (defaults) and then the modules of
// extra, and returns the router of all their messages.
func (c *Core) Init(t testing.TB, ctx *types.Context, validity uint64, extra ...Section) *types.Router {
	t.Helper()
	rg := registry.DevGenesis()
	rg.Params.AttestationValidityBlocks = validity
	rgRaw, err := json.Marshal(rg)
	if err != nil {
		t.Fatal(err)
	}
	sections := append([]Section{
		{Module: c.Bank}, {Module: sudo.New()}, {Module: c.Registry, Genesis: rgRaw}, {Module: c.MQ},
	}, extra...)
	return InitGenesis(t, ctx, sections...)
}
