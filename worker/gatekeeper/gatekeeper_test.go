package gatekeeper

import (
	"bytes"
	"context"
	"crypto/hpke"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keyderiv"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

// lockedBuffer collects every node's log output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// node is a simulated worker: identity, HPKE key, sealed home, and what
// the chain delivered to its own topic.
type node struct {
	name     string
	id       [32]byte
	hpke     hpke.PrivateKey
	home     string
	platform attest.Platform
	gk       *Gatekeeper
	pos      int // next gatekeeper-topic message
	inbox    []*contractsv1.WorkerMessage
	keys     map[[32]byte]*keyderiv.ContractKeys
	secrets  []*keyderiv.ContractSecrets
}

func simulatedPlatform(t testing.TB) attest.Platform {
	t.Helper()
	seed := make([]byte, 32)
	rand.Read(seed)
	p, err := attest.NewSimulatedPlatform(seed, []byte("gatekeeper-test-measurement"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newNode(t *testing.T, name string, logs *lockedBuffer) *node {
	t.Helper()
	k, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	n := &node{name: name, hpke: k, home: t.TempDir(), platform: simulatedPlatform(t), keys: make(map[[32]byte]*keyderiv.ContractKeys)}
	rand.Read(n.id[:])
	n.open(t, logs)
	return n
}

func (n *node) open(t *testing.T, logs *lockedBuffer) {
	t.Helper()
	gk, err := Open(context.Background(), Config{Platform: n.platform, Home: n.home, Identity: n.id, HPKE: n.hpke,
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("node", n.name)})
	if err != nil {
		t.Fatal(err)
	}
	n.gk = gk
}

func (n *node) pub() []byte { return n.hpke.PublicKey().Bytes() }

// chain simulates what the chain does with gatekeeper messages and egress:
// it orders the gatekeeper topic, accepts each publication once, forwards
// each handover once per (recipient, latest epoch) and each contract-key
// delivery once per (contract, worker, epoch) to assigned workers only.
type chain struct {
	t           *testing.T
	topic       []*contractsv1.GatekeeperMessage
	nodes       []*node
	gatekeepers map[[32]byte]bool
	generator   map[uint64][32]byte
	masterPubs  map[uint64]*contractsv1.MasterKeyPublication
	handed      map[string]bool
	assigned    map[[32]byte][][32]byte
	contract    map[[32]byte]*contractsv1.ContractKeyPublication
	delivered   map[string]bool
	pubCount    int
}

func newChain(t *testing.T, nodes ...*node) *chain {
	return &chain{t: t, nodes: nodes, gatekeepers: map[[32]byte]bool{}, generator: map[uint64][32]byte{},
		masterPubs: map[uint64]*contractsv1.MasterKeyPublication{}, handed: map[string]bool{},
		assigned: map[[32]byte][][32]byte{}, contract: map[[32]byte]*contractsv1.ContractKeyPublication{}, delivered: map[string]bool{}}
}

func (c *chain) push(m *contractsv1.GatekeeperMessage) { c.topic = append(c.topic, m) }

func (c *chain) addGatekeeper(n *node) {
	c.gatekeepers[n.id] = true
	c.push(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_GatekeeperAdded{
		GatekeeperAdded: &contractsv1.GatekeeperAdded{Identity: n.id[:], HpkePublicKey: n.pub()}}})
}

func (c *chain) removeGatekeeper(n *node) {
	delete(c.gatekeepers, n.id)
	c.push(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_GatekeeperRemoved{
		GatekeeperRemoved: &contractsv1.GatekeeperRemoved{Identity: n.id[:]}}})
}

func (c *chain) requestMaster(epoch uint64, gen *node) {
	c.generator[epoch] = gen.id
	c.push(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_MasterKeyRequest{
		MasterKeyRequest: &contractsv1.MasterKeyRequest{Epoch: epoch, Generator: gen.id[:]}}})
}

func (c *chain) requestContract(id [32]byte, epoch uint64, workers ...*node) {
	req := &contractsv1.ContractKeyRequest{ContractId: id[:], Epoch: epoch, CodeHash: make([]byte, 32)}
	c.assigned[id] = nil
	for _, w := range workers {
		req.Workers = append(req.Workers, &contractsv1.AssignedWorker{Identity: w.id[:], HpkePublicKey: w.pub()})
		c.assigned[id] = append(c.assigned[id], w.id)
	}
	c.push(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_ContractKeyRequest{ContractKeyRequest: req}})
}

func (c *chain) node(id [32]byte) *node {
	for _, n := range c.nodes {
		if n.id == id {
			return n
		}
	}
	c.t.Fatalf("no node %x", id[:4])
	return nil
}

// route applies a node's egress as the chain would.
func (c *chain) route(from *node, out []Egress) {
	t := c.t
	t.Helper()
	for _, e := range out {
		switch e.Topic {
		case TopicMasterKey:
			var p contractsv1.MasterKeyPublication
			mustUnmarshal(t, e.Payload, &p)
			if c.generator[p.Epoch] != from.id {
				t.Fatalf("%s published epoch %d without being its generator", from.name, p.Epoch)
			}
			if prev, ok := c.masterPubs[p.Epoch]; ok {
				if !proto.Equal(prev, &p) {
					t.Fatalf("epoch %d republished with other keys", p.Epoch)
				}
				continue
			}
			c.masterPubs[p.Epoch] = &p
		case TopicMasterKeyHandover:
			var h contractsv1.MasterKeyHandover
			mustUnmarshal(t, e.Payload, &h)
			rid := [32]byte(h.Recipient)
			if !c.gatekeepers[rid] || !c.gatekeepers[from.id] {
				t.Fatalf("handover from %s to a non-gatekeeper", from.name)
			}
			key := fmt.Sprintf("%x/%d", h.Recipient, h.LatestEpoch)
			if c.handed[key] {
				continue
			}
			c.handed[key] = true
			r := c.node(rid)
			r.inbox = append(r.inbox, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_MasterKey{
				MasterKey: &contractsv1.MasterKeyDelivery{LatestEpoch: h.LatestEpoch, Sealed: h.Sealed, From: from.id[:]}}})
		case TopicContractKeys:
			var p contractsv1.ContractKeyPublication
			mustUnmarshal(t, e.Payload, &p)
			c.pubCount++
			cid := [32]byte(p.ContractId)
			if prev, ok := c.contract[cid]; ok {
				if !bytes.Equal(prev.HpkePublicKey, p.HpkePublicKey) || !bytes.Equal(prev.SigningPublicKey, p.SigningPublicKey) || prev.Epoch != p.Epoch {
					t.Fatalf("contract %x: %s published other keys", cid[:4], from.name)
				}
			} else {
				c.contract[cid] = &p
			}
			for _, d := range p.Deliveries {
				wid := [32]byte(d.Recipient)
				if !slices.Contains(c.assigned[cid], wid) {
					t.Fatalf("delivery to an unassigned worker")
				}
				key := fmt.Sprintf("%x/%x/%d", cid, wid, p.Epoch)
				if c.delivered[key] {
					continue
				}
				c.delivered[key] = true
				w := c.node(wid)
				w.inbox = append(w.inbox, &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_ContractKey{
					ContractKey: &contractsv1.ContractKeyDelivery{ContractId: cid[:], Epoch: p.Epoch, CodeHash: make([]byte, 32), Sealed: d.Sealed}}})
			}
		default:
			t.Fatalf("egress on unexpected topic %q", e.Topic)
		}
	}
}

// run lets every node process everything pending until nothing moves.
func (c *chain) run() {
	t := c.t
	t.Helper()
	for progress := true; progress; {
		progress = false
		for _, n := range c.nodes {
			for n.pos < len(c.topic) {
				out, err := n.gk.HandleGatekeeper(c.topic[n.pos])
				if err != nil {
					t.Fatalf("%s: gatekeeper message %d: %v", n.name, n.pos, err)
				}
				n.pos++
				c.route(n, out)
				progress = true
			}
			for len(n.inbox) > 0 {
				m := n.inbox[0]
				n.inbox = n.inbox[1:]
				progress = true
				switch k := m.Kind.(type) {
				case *contractsv1.WorkerMessage_MasterKey:
					out, err := n.gk.HandleMasterKey(k.MasterKey)
					if err != nil {
						t.Fatalf("%s: master key delivery: %v", n.name, err)
					}
					c.route(n, out)
				case *contractsv1.WorkerMessage_ContractKey:
					keys, secrets, err := OpenContractKey(n.hpke, n.id, k.ContractKey)
					if err != nil {
						t.Fatalf("%s: contract key: %v", n.name, err)
					}
					n.keys[[32]byte(k.ContractKey.ContractId)] = keys
					n.secrets = append(n.secrets, secrets)
				}
			}
		}
	}
}

func mustUnmarshal(t *testing.T, b []byte, m proto.Message) {
	t.Helper()
	if err := proto.Unmarshal(b, m); err != nil {
		t.Fatal(err)
	}
	again, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatal("payload is not deterministic protobuf")
	}
}

func export(t *testing.T, g *Gatekeeper) []keyderiv.EpochSecret {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	es, err := g.history.Export()
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func masterAt(t *testing.T, g *Gatekeeper, epoch uint64) *keyderiv.Master {
	t.Helper()
	es := export(t, g)
	for _, e := range es {
		if e.Epoch == epoch {
			m, err := keyderiv.NewMaster(e.Secret)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
	}
	t.Fatalf("epoch %d not held", epoch)
	return nil
}

func sameKeys(t *testing.T, what string, got, want *keyderiv.ContractKeys) {
	t.Helper()
	if got.ID != want.ID || got.StateKey != want.StateKey || got.RandomSeed != want.RandomSeed ||
		got.Signing.Public() != want.Signing.Public() || !bytes.Equal(got.HPKE.PublicKey().Bytes(), want.HPKE.PublicKey().Bytes()) {
		t.Fatalf("%s: keys differ", what)
	}
}

// TestNetwork runs two gatekeepers and two plain workers through
// generation, handover, contract keys, rotation, restart and replay.
func TestNetwork(t *testing.T) {
	logs := &lockedBuffer{}
	a, b := newNode(t, "gk-a", logs), newNode(t, "gk-b", logs)
	w1, w2 := newNode(t, "worker-1", logs), newNode(t, "worker-2", logs)
	c := newChain(t, a, b, w1, w2)

	// The first gatekeeper generates epoch 1.
	c.addGatekeeper(a)
	c.requestMaster(1, a)
	c.run()
	if !a.gk.IsGatekeeper() || b.gk.IsGatekeeper() || w1.gk.IsGatekeeper() {
		t.Fatal("gatekeeper flags")
	}
	if got := a.gk.Epochs(); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("a epochs %v", got)
	}
	pub1 := c.masterPubs[1]
	if pub1 == nil {
		t.Fatal("epoch 1 not published")
	}
	mk, _ := masterAt(t, a.gk, 1).MasterKeys()
	if !bytes.Equal(pub1.HpkePublicKey, mk.HPKE.PublicKey().Bytes()) || !bytes.Equal(pub1.SigningPublicKey, mk.Signing.Public().Bytes()) {
		t.Fatal("publication does not match the secret")
	}

	// A second gatekeeper receives the history.
	c.addGatekeeper(b)
	c.run()
	if got := b.gk.Epochs(); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("b epochs %v", got)
	}
	if len(w1.gk.Epochs()) != 0 || len(w2.gk.Epochs()) != 0 {
		t.Fatal("a plain worker holds master secrets")
	}

	// Contract keys: both gatekeepers answer, with the same public keys.
	c1 := [32]byte{0xc1}
	c.requestContract(c1, 1, w1, w2)
	c.run()
	if c.pubCount != 2 {
		t.Fatalf("%d contract publications, want one per gatekeeper", c.pubCount)
	}
	want1, err := masterAt(t, a.gk, 1).Contract(c1)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []*node{w1, w2} {
		if w.keys[c1] == nil {
			t.Fatalf("%s got no key", w.name)
		}
		sameKeys(t, w.name, w.keys[c1], want1)
	}
	if p := c.contract[c1]; !bytes.Equal(p.HpkePublicKey, want1.HPKE.PublicKey().Bytes()) {
		t.Fatal("published contract key differs")
	}

	// Rotation by the second gatekeeper: epoch 1 stays, epoch 2 is added
	// everywhere.
	c.requestMaster(2, b)
	c.run()
	for _, g := range []*node{a, b} {
		if got := g.gk.Epochs(); !slices.Equal(got, []uint64{1, 2}) {
			t.Fatalf("%s epochs %v", g.name, got)
		}
	}
	ea, eb := export(t, a.gk), export(t, b.gk)
	if len(ea) != len(eb) {
		t.Fatal("histories differ")
	}
	for i := range ea {
		if ea[i] != eb[i] {
			t.Fatalf("histories differ at %d", i)
		}
	}
	if c.masterPubs[2] == nil {
		t.Fatal("epoch 2 not published")
	}

	// A contract at epoch 2 assigned to worker 2 only.
	c2 := [32]byte{0xc2}
	c.requestContract(c2, 2, w2)
	c.run()
	want2, _ := masterAt(t, b.gk, 2).Contract(c2)
	sameKeys(t, "worker-2 c2", w2.keys[c2], want2)
	if w1.keys[c2] != nil {
		t.Fatal("worker 1 got a key it is not assigned")
	}
	// Worker 1 cannot open worker 2's delivery, as itself or posing as w2.
	var d2 *contractsv1.ContractKeyDelivery
	for _, g := range []*node{a, b} {
		out, err := g.gk.HandleGatekeeper(c.topic[len(c.topic)-1])
		if err != nil || len(out) != 1 {
			t.Fatalf("replayed request: %v", err)
		}
		var p contractsv1.ContractKeyPublication
		mustUnmarshal(t, out[0].Payload, &p)
		d2 = &contractsv1.ContractKeyDelivery{ContractId: c2[:], Epoch: 2, Sealed: p.Deliveries[0].Sealed}
	}
	if _, _, err := OpenContractKey(w1.hpke, w1.id, d2); !errors.Is(err, envelope.ErrWrongRecipient) {
		t.Fatalf("non-recipient: %v", err)
	}
	if _, _, err := OpenContractKey(w1.hpke, w2.id, d2); !errors.Is(err, envelope.ErrWrongRecipient) {
		t.Fatalf("non-recipient posing: %v", err)
	}
	if _, _, err := OpenContractKey(w2.hpke, w2.id, &contractsv1.ContractKeyDelivery{ContractId: c1[:], Epoch: 2, Sealed: d2.Sealed}); !errors.Is(err, envelope.ErrDecrypt) {
		t.Fatalf("other contract: %v", err)
	}
	if _, _, err := OpenContractKey(w2.hpke, w2.id, &contractsv1.ContractKeyDelivery{ContractId: c2[:], Epoch: 1, Sealed: d2.Sealed}); !errors.Is(err, envelope.ErrDecrypt) {
		t.Fatalf("other epoch: %v", err)
	}

	// Restart a from its sealed file: the history and the set survive, and
	// replaying the whole topic changes nothing.
	before := export(t, a.gk)
	a.gk.Close()
	if _, err := a.gk.HandleGatekeeper(c.topic[0]); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed: %v", err)
	}
	a.open(t, logs)
	if got := a.gk.Epochs(); !slices.Equal(got, []uint64{1, 2}) || !a.gk.IsGatekeeper() {
		t.Fatalf("after restart: epochs %v, gatekeeper %v", got, a.gk.IsGatekeeper())
	}
	a.pos = 0
	c.run()
	after := export(t, a.gk)
	if !slices.Equal(before, after) {
		t.Fatal("history changed by restart and replay")
	}
	if len(c.masterPubs) != 2 {
		t.Fatal("replay published a new epoch")
	}

	// The gatekeeper set changes: b leaves and stops serving keys.
	c.removeGatekeeper(b)
	c3 := [32]byte{0xc3}
	c.pubCount = 0
	c.requestContract(c3, 2, w1)
	c.run()
	if b.gk.IsGatekeeper() || !a.gk.IsGatekeeper() || c.pubCount != 1 {
		t.Fatalf("after removal: b %v a %v publications %d", b.gk.IsGatekeeper(), a.gk.IsGatekeeper(), c.pubCount)
	}
	want3, _ := masterAt(t, a.gk, 2).Contract(c3)
	sameKeys(t, "worker-1 c3", w1.keys[c3], want3)

	// No secret ever reached the logs or a file in clear.
	var secrets [][]byte
	for _, e := range export(t, a.gk) {
		secrets = append(secrets, bytes.Clone(e.Secret[:]))
	}
	for _, w := range []*node{w1, w2} {
		for _, s := range w.secrets {
			secrets = append(secrets, bytes.Clone(s.HPKESeed[:]), bytes.Clone(s.State[:]), bytes.Clone(s.Random[:]), bytes.Clone(s.SigningSeed[:]))
		}
	}
	out := strings.ToLower(logs.String())
	if testing.Verbose() {
		t.Log(logs.String())
	}
	if !strings.Contains(out, "master key generated") || !strings.Contains(out, "master-key history received") {
		t.Fatalf("expected events missing from the logs:\n%s", out)
	}
	for _, s := range secrets {
		for _, form := range []string{hex.EncodeToString(s), hex.EncodeToString(s[:8]), fmt.Sprintf("%v", s[:8])} {
			if strings.Contains(out, form) {
				t.Fatalf("a secret appears in the logs")
			}
		}
	}
	for _, n := range []*node{a, b, w1, w2} {
		data, err := os.ReadFile(filepath.Join(n.home, File))
		if err != nil {
			t.Fatalf("%s: %v", n.name, err)
		}
		for _, s := range secrets {
			if bytes.Contains(data, s) {
				t.Fatalf("%s: a secret is in the sealed file in clear", n.name)
			}
		}
	}
}

// TestReplayIsIdempotent: every message seen twice leaves the state as
// once; the generator re-emits identical publications.
func TestReplayIsIdempotent(t *testing.T) {
	logs := &lockedBuffer{}
	a, b := newNode(t, "a", logs), newNode(t, "b", logs)
	c := newChain(t, a, b)
	c.addGatekeeper(a)
	c.requestMaster(1, a)
	c.addGatekeeper(b)
	c.run()
	ea := export(t, a.gk)
	for i, m := range c.topic {
		out, err := a.gk.HandleGatekeeper(m)
		if err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
		c.route(a, out) // the chain deduplicates
	}
	c.run()
	if got := export(t, a.gk); !slices.Equal(got, ea) {
		t.Fatal("replay changed the history")
	}
	if len(c.masterPubs) != 1 || !slices.Equal(b.gk.Epochs(), []uint64{1}) {
		t.Fatal("replay changed the network")
	}
	// A delivery seen twice is a no-op.
	env, err := envelope.SealMasterKeyHistory(b.hpke.PublicKey(), b.id, 1, ea)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := b.gk.HandleMasterKey(&contractsv1.MasterKeyDelivery{LatestEpoch: 1, Sealed: env, From: a.id[:]}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestConflictingDelivery: a different secret for a held epoch is an
// error and nothing of the delivery is applied.
func TestConflictingDelivery(t *testing.T) {
	logs := &lockedBuffer{}
	a := newNode(t, "a", logs)
	c := newChain(t, a)
	c.addGatekeeper(a)
	c.requestMaster(1, a)
	c.run()
	before := export(t, a.gk)
	var other [32]byte
	rand.Read(other[:])
	bad := []keyderiv.EpochSecret{{Epoch: 1, Secret: other}, {Epoch: 2, Secret: [32]byte{2}}}
	env, err := envelope.SealMasterKeyHistory(a.hpke.PublicKey(), a.id, 2, bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.gk.HandleMasterKey(&contractsv1.MasterKeyDelivery{LatestEpoch: 2, Sealed: env}); !errors.Is(err, ErrConflict) {
		t.Fatalf("conflict: %v", err)
	}
	if got := export(t, a.gk); !slices.Equal(got, before) {
		t.Fatal("conflicting delivery applied")
	}
	// A delivery for someone else, or tampered: an error, not applied.
	if _, err := a.gk.HandleMasterKey(&contractsv1.MasterKeyDelivery{LatestEpoch: 3, Sealed: env}); !errors.Is(err, envelope.ErrDecrypt) {
		t.Fatalf("wrong epoch: %v", err)
	}
	if _, err := a.gk.HandleMasterKey(&contractsv1.MasterKeyDelivery{LatestEpoch: 2, Sealed: env[:100]}); !errors.Is(err, envelope.ErrTruncated) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := a.gk.HandleMasterKey(nil); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("nil: %v", err)
	}
	if strings.Contains(logs.String(), hex.EncodeToString(other[:])) {
		t.Fatal("conflicting secret logged")
	}
	// Later epochs merge in order even when they arrive before earlier
	// ones were known (a rotation generated elsewhere).
	good := []keyderiv.EpochSecret{{Epoch: 3, Secret: [32]byte{3}}}
	env, _ = envelope.SealMasterKeyHistory(a.hpke.PublicKey(), a.id, 3, good)
	if _, err := a.gk.HandleMasterKey(&contractsv1.MasterKeyDelivery{LatestEpoch: 3, Sealed: env}); err != nil {
		t.Fatal(err)
	}
	if got := a.gk.Epochs(); !slices.Equal(got, []uint64{1, 3}) {
		t.Fatalf("epochs %v", got)
	}
}

// TestNotGatekeeper: a plain worker ignores requests and deliveries.
func TestNotGatekeeper(t *testing.T) {
	logs := &lockedBuffer{}
	w := newNode(t, "w", logs)
	out, err := w.gk.HandleGatekeeper(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_ContractKeyRequest{
		ContractKeyRequest: &contractsv1.ContractKeyRequest{ContractId: make([]byte, 32), Epoch: 1}}})
	if err != nil || out != nil {
		t.Fatalf("%v %v", out, err)
	}
	env, _ := envelope.SealMasterKeyHistory(w.hpke.PublicKey(), w.id, 1, []keyderiv.EpochSecret{{Epoch: 1, Secret: [32]byte{1}}})
	if _, err := w.gk.HandleMasterKey(&contractsv1.MasterKeyDelivery{LatestEpoch: 1, Sealed: env}); err != nil {
		t.Fatal(err)
	}
	if len(w.gk.Epochs()) != 0 {
		t.Fatal("a plain worker took a master secret")
	}
	// A request for another generator is not for this worker.
	other := make([]byte, 32)
	out, err = w.gk.HandleGatekeeper(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_MasterKeyRequest{
		MasterKeyRequest: &contractsv1.MasterKeyRequest{Epoch: 1, Generator: other}}})
	if err != nil || out != nil || len(w.gk.Epochs()) != 0 {
		t.Fatalf("%v %v", out, err)
	}
}

// TestInvalidMessages: malformed input is an error, never a panic, and
// changes nothing.
func TestInvalidMessages(t *testing.T) {
	logs := &lockedBuffer{}
	a := newNode(t, "a", logs)
	for i, m := range []*contractsv1.GatekeeperMessage{
		nil,
		{},
		{Kind: &contractsv1.GatekeeperMessage_GatekeeperAdded{GatekeeperAdded: &contractsv1.GatekeeperAdded{Identity: []byte{1}, HpkePublicKey: a.pub()}}},
		{Kind: &contractsv1.GatekeeperMessage_GatekeeperAdded{GatekeeperAdded: &contractsv1.GatekeeperAdded{Identity: a.id[:], HpkePublicKey: a.pub()[:100]}}},
		{Kind: &contractsv1.GatekeeperMessage_GatekeeperAdded{GatekeeperAdded: nil}},
		{Kind: &contractsv1.GatekeeperMessage_GatekeeperRemoved{GatekeeperRemoved: &contractsv1.GatekeeperRemoved{}}},
		{Kind: &contractsv1.GatekeeperMessage_MasterKeyRequest{MasterKeyRequest: &contractsv1.MasterKeyRequest{Generator: []byte{1, 2}}}},
		{Kind: &contractsv1.GatekeeperMessage_ContractKeyRequest{ContractKeyRequest: &contractsv1.ContractKeyRequest{ContractId: make([]byte, 31)}}},
	} {
		if _, err := a.gk.HandleGatekeeper(m); !errors.Is(err, ErrInvalidMessage) {
			t.Errorf("message %d: %v", i, err)
		}
	}
	if a.gk.IsGatekeeper() {
		t.Fatal("state changed")
	}
	// Contract-key requests skip unusable workers and serve the others.
	c := newChain(t, a)
	c.addGatekeeper(a)
	c.requestMaster(1, a)
	c.run()
	w := newNode(t, "w", logs)
	cid := [32]byte{9}
	out, err := a.gk.HandleGatekeeper(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_ContractKeyRequest{
		ContractKeyRequest: &contractsv1.ContractKeyRequest{ContractId: cid[:], Epoch: 1, Workers: []*contractsv1.AssignedWorker{
			{Identity: []byte{1}, HpkePublicKey: w.pub()},
			{Identity: w.id[:], HpkePublicKey: []byte("short")},
			{Identity: w.id[:], HpkePublicKey: w.pub()},
			{Identity: w.id[:], HpkePublicKey: w.pub()}, // duplicate
		}}}})
	if err != nil || len(out) != 1 {
		t.Fatalf("%v %v", out, err)
	}
	var p contractsv1.ContractKeyPublication
	mustUnmarshal(t, out[0].Payload, &p)
	if len(p.Deliveries) != 1 {
		t.Fatalf("%d deliveries", len(p.Deliveries))
	}
	k, s, err := OpenContractKey(w.hpke, w.id, &contractsv1.ContractKeyDelivery{ContractId: cid[:], Epoch: 1, Sealed: p.Deliveries[0].Sealed})
	if err != nil {
		t.Fatal(err)
	}
	k.Wipe()
	s.Wipe()
	for _, d := range []*contractsv1.ContractKeyDelivery{nil, {ContractId: []byte{1}}, {ContractId: cid[:], Epoch: 1}} {
		if _, _, err := OpenContractKey(w.hpke, w.id, d); err == nil {
			t.Fatal("opened an invalid delivery")
		}
	}
	// An epoch not held: no answer.
	out, err = a.gk.HandleGatekeeper(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_ContractKeyRequest{
		ContractKeyRequest: &contractsv1.ContractKeyRequest{ContractId: cid[:], Epoch: 7}}})
	if err != nil || out != nil {
		t.Fatalf("%v %v", out, err)
	}
}

// noSealing is a platform without a sealing key, like TDX.
type noSealing struct{ attest.Platform }

func (noSealing) SealingKey(context.Context, string) ([]byte, error) {
	return nil, attest.ErrSealingUnavailable
}

func TestMemoryOnly(t *testing.T) {
	logs := &lockedBuffer{}
	k, _ := hpke.MLKEM768X25519().GenerateKey()
	home := t.TempDir()
	id := [32]byte{7}
	g, err := Open(context.Background(), Config{Platform: noSealing{}, Home: home, Identity: id, HPKE: k,
		Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := g.HandleGatekeeper(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_GatekeeperAdded{
		GatekeeperAdded: &contractsv1.GatekeeperAdded{Identity: id[:], HpkePublicKey: k.PublicKey().Bytes()}}}); err != nil {
		t.Fatal(err)
	}
	out, err := g.HandleGatekeeper(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_MasterKeyRequest{
		MasterKeyRequest: &contractsv1.MasterKeyRequest{Epoch: 1, Generator: id[:]}}})
	if err != nil || len(out) != 1 || out[0].Topic != TopicMasterKey {
		t.Fatalf("%v %v", out, err)
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Fatalf("memory-only gatekeeper wrote %v", entries)
	}
	if !strings.Contains(logs.String(), "only in memory") {
		t.Fatal("no warning")
	}
}

func TestSealedFileChecks(t *testing.T) {
	logs := &lockedBuffer{}
	a := newNode(t, "a", logs)
	c := newChain(t, a)
	c.addGatekeeper(a)
	c.requestMaster(1, a)
	c.run()
	a.gk.Close()
	// Another identity with the same home and platform: refused.
	k, _ := hpke.MLKEM768X25519().GenerateKey()
	_, err := Open(context.Background(), Config{Platform: a.platform, Home: a.home, Identity: [32]byte{1}, HPKE: k})
	if !errors.Is(err, ErrOtherIdentity) {
		t.Fatalf("other identity: %v", err)
	}
	// Another platform (another machine or measurement): does not open.
	_, err = Open(context.Background(), Config{Platform: simulatedPlatform(t), Home: a.home, Identity: a.id, HPKE: a.hpke})
	if err == nil {
		t.Fatal("opened on another platform")
	}
	// Corruption: does not open.
	path := filepath.Join(a.home, File)
	data, _ := os.ReadFile(path)
	data[len(data)-1] ^= 1
	os.WriteFile(path, data, 0o600)
	if _, err := Open(context.Background(), Config{Platform: a.platform, Home: a.home, Identity: a.id, HPKE: a.hpke}); err == nil {
		t.Fatal("opened a corrupted file")
	}
	if _, err := Open(context.Background(), Config{Home: a.home, Identity: a.id, HPKE: a.hpke}); err == nil {
		t.Fatal("opened without platform")
	}
}

// TestDecodeState: the state decoder round-trips and refuses every
// truncation without panicking.
func TestDecodeState(t *testing.T) {
	k, _ := hpke.MLKEM768X25519().GenerateKey()
	pub := k.PublicKey()
	members := map[[32]byte]member{{1}: {raw: pub.Bytes(), pub: pub}, {2}: {raw: pub.Bytes(), pub: pub}}
	entries := []keyderiv.EpochSecret{{Epoch: 1, Secret: [32]byte{1}}, {Epoch: 4, Secret: [32]byte{4}}}
	pt := encodeState([32]byte{9}, entries, members, map[uint64]bool{4: true, 2: true})
	st, err := decodeState(pt)
	if err != nil || st.identity != ([32]byte{9}) || !slices.Equal(st.entries, entries) || len(st.members) != 2 ||
		len(st.unconfirmed) != 2 || !st.unconfirmed[2] || !st.unconfirmed[4] {
		t.Fatalf("round trip: %v", err)
	}
	for n := range pt {
		if _, err := decodeState(pt[:n]); err == nil {
			t.Fatalf("truncated to %d decoded", n)
		}
	}
	if _, err := decodeState(append(bytes.Clone(pt), 0)); err == nil {
		t.Fatal("trailing byte decoded")
	}
}

func FuzzDecodeState(f *testing.F) {
	k, _ := hpke.MLKEM768X25519().GenerateKey()
	pub := k.PublicKey()
	f.Add(encodeState([32]byte{9}, []keyderiv.EpochSecret{{Epoch: 1, Secret: [32]byte{1}}}, map[[32]byte]member{{1}: {raw: pub.Bytes(), pub: pub}},
		map[uint64]bool{1: true}))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := decodeState(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeState(st.identity, st.entries, st.members, st.unconfirmed), b) {
			t.Fatal("not canonical")
		}
	})
}

// TestSupersededEpoch: the chain re-asks an unpublished epoch of another
// gatekeeper (the first generator was unavailable). The first generator
// drops its own secret for the epoch, so it never hands it over, and then
// accepts the published one; an epoch whose publication was proven by a
// later request is never dropped.
func TestSupersededEpoch(t *testing.T) {
	logs := &lockedBuffer{}
	a, b, c := newNode(t, "a", logs), newNode(t, "b", logs), newNode(t, "c", logs)
	ch := newChain(t, a, b, c)
	ch.addGatekeeper(a)
	ch.addGatekeeper(b)
	// a generates epoch 1, but its egress never reaches the chain.
	ch.requestMaster(1, a)
	for a.pos < len(ch.topic) {
		if _, err := a.gk.HandleGatekeeper(ch.topic[a.pos]); err != nil {
			t.Fatal(err)
		}
		a.pos++
	}
	if !slices.Equal(a.gk.Epochs(), []uint64{1}) {
		t.Fatal("a did not generate")
	}
	// Restart: the unconfirmed mark survives.
	a.gk.Close()
	a.open(t, logs)
	// The chain re-asks b; a drops its secret; b's history reaches a.
	ch.requestMaster(1, b)
	ch.addGatekeeper(c)
	ch.run()
	for _, n := range []*node{a, b, c} {
		if !slices.Equal(n.gk.Epochs(), []uint64{1}) {
			t.Fatalf("%s epochs %v", n.name, n.gk.Epochs())
		}
	}
	sb := export(t, b.gk)
	for _, n := range []*node{a, c} {
		if got := export(t, n.gk); !slices.Equal(got, sb) {
			t.Fatalf("%s holds another epoch-1 secret than the published one", n.name)
		}
	}
	mk, _ := masterAt(t, b.gk, 1).MasterKeys()
	if !bytes.Equal(ch.masterPubs[1].HpkePublicKey, mk.HPKE.PublicKey().Bytes()) {
		t.Fatal("published key is not b's")
	}
	if !strings.Contains(logs.String(), "dropped the unpublished secret") {
		t.Fatal("no warning")
	}
	// b's epoch 1 is confirmed by the rotation request for epoch 2: a
	// later request naming another generator for epoch 1 (not something
	// the chain does) would not make b drop it.
	ch.requestMaster(2, b)
	ch.run()
	out, err := b.gk.HandleGatekeeper(&contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_MasterKeyRequest{
		MasterKeyRequest: &contractsv1.MasterKeyRequest{Epoch: 1, Generator: a.id[:]}}})
	if err != nil || out != nil || !slices.Equal(b.gk.Epochs(), []uint64{1, 2}) {
		t.Fatalf("confirmed epoch dropped: %v %v", b.gk.Epochs(), err)
	}
}
