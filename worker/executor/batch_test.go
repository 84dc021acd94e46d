package executor

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keys"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/worker/runtime"
)

// messages turns log payloads into the contract's messages from h.seq on
// (h.seq is not advanced: dispatch does that).
func (h *harness) messages(payloads [][]byte) []*mqv1.Message {
	seq := h.seq
	defer func() { h.seq = seq }()
	out := make([]*mqv1.Message, len(payloads))
	for i, p := range payloads {
		out[i] = h.message(nil)
		out[i].Payload = p
		h.seq++
	}
	return out
}

// request is the dispatch request the relayer would send for msgs (proofs
// left out: the executor never sees them).
func request(t testing.TB, topic string, msgs []*mqv1.Message) *workerv1.DispatchMessagesRequest {
	tm := &workerv1.TopicMessages{Topic: topic}
	for _, m := range msgs {
		raw, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		tm.Messages = append(tm.Messages, &workerv1.ProvenMessage{Sequence: m.GetSequence(), Message: raw})
	}
	return &workerv1.DispatchMessagesRequest{Version: 1, Topics: []*workerv1.TopicMessages{tm}}
}

// dispatch runs msgs as one dispatch call: Prepare with req (when not
// nil), Execute each in order, Flush. It returns the outcomes' statuses.
func (h *harness) dispatch(req *workerv1.DispatchMessagesRequest, msgs []*mqv1.Message) []string {
	h.t.Helper()
	ctx := context.Background()
	if req != nil {
		h.e.Prepare(ctx, req)
	}
	var st []string
	for _, m := range msgs {
		out, err := h.e.Execute(ctx, h.id, m)
		if err != nil {
			h.t.Fatalf("execute %d: %v", m.GetSequence(), err)
		}
		st = append(st, out.Status)
		h.collect(out.Egress)
		h.seq = m.GetSequence() + 1
	}
	h.e.NoteChainNext(h.id, h.seq)
	h.flush()
	return st
}

// forger claims one caller's key and signs with another's: the envelope
// opens, the signature does not verify.
type forger struct {
	claimed keys.PublicKey
	signer  keys.Signer
}

func (f forger) Public() keys.PublicKey          { return f.claimed }
func (f forger) Sign(msg []byte) ([]byte, error) { return f.signer.Sign(msg) }

// troubledLog is a log with every kind of bad command among good ones.
// It returns the payloads of two batches and the indexes (in batch 2) of
// the entries that must be rejected, with the receipt error each gets.
func troubledLog(t *testing.T, h *harness) (batch1, batch2 [][]byte, rejected map[int]string) {
	alice, bob, carol, dave := signer("alice"), signer("bob"), keys.NewSr25519FromSeed([32]byte{7}), signer("dave")
	to := account("recipient")
	pay := func(n int) string {
		return `{"to":"` + hex.EncodeToString(to[:]) + `","amount":` + itoa(uint64(n)) + `}`
	}
	cmd := func(s keys.Signer, nonce uint64, method, args string) []byte {
		return mustMarshal(t, commandMsg(s.Public().Key, h.sealCommand(s, nonce, method, args)))
	}
	aliceFirst := cmd(alice, 1, "pay", pay(10))
	batch1 = [][]byte{aliceFirst, cmd(bob, 1, "pay", pay(1)), cmd(carol, 1, "env", "")}

	tampered := h.sealCommand(carol, 5, "pay", pay(3))
	tampered[len(tampered)-20] ^= 0x40
	other, err := envelope.SealCommand(h.ck.HPKE.PublicKey(), envelope.Call{ContractID: account("other"), Nonce: 9, Method: "pay", Args: []byte(pay(1))}, bob)
	if err != nil {
		t.Fatal(err)
	}
	forged := h.sealCommand(forger{claimed: dave.Public(), signer: signer("eve")}, 1, "pay", pay(1000))
	rejected = map[int]string{}
	batch2 = [][]byte{
		cmd(alice, 2, "pay", pay(2)),
		mustMarshal(t, commandMsg(carol.Public().Key, tampered)), // 1: tampered
		cmd(bob, 3, "env", ""),
		mustMarshal(t, commandMsg(dave.Public().Key, forged)), // 3: bad signature
		cmd(dave, 1, "pay", pay(4)),                           // the forged nonce was not consumed
		aliceFirst,                                            // 5: replayed from batch 1
		cmd(bob, 3, "pay", pay(5)),                            // 6: bob's nonce 3 again, in the same batch
		mustMarshal(t, commandMsg(bob.Public().Key, other)),   // 7: for another contract
		mustMarshal(t, &contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_ChainCall{ChainCall: &contractsv1.ChainCall{
			Caller: alice.Public().Bytes(), Method: "pay", Args: []byte(pay(6))}}}),
		{0xff, 0xff, 0xff}, // 9: undecodable
		mustMarshal(t, commandMsg(carol.Public().Key, h.sealCommand(carol, 1, "env", "")[:300])), // 10: truncated
		cmd(carol, 2, "pay", pay(7)),
		cmd(alice, 3, "revert", ""),
	}
	rejected[1] = "decryption"
	rejected[3] = envelope.ErrBadSignature.Error()
	rejected[5] = "replayed"
	rejected[6] = "replayed"
	rejected[7] = "decryption" // the HPKE info binds the contract id
	rejected[10] = "truncated"
	return batch1, batch2, rejected
}

// TestBatchMatchesSequential: a dispatch batch run with Prepare — a
// tampered envelope, a forged signature, replayed nonces, a command for
// another contract, a truncated envelope and an undecodable entry among
// good commands — gives each bad entry its own rejection, executes the
// others, and ends with exactly the receipts, state reports, egress and
// state root of the same log executed without preparation.
func TestBatchMatchesSequential(t *testing.T) {
	seqH := newHarness(t, "payer", hopt{})
	seqH.install("")
	seqH.flush()
	batH := newHarness(t, "payer", hopt{ephemeral: true})
	batH.install("")
	batH.flush()
	b1, b2, rejected := troubledLog(t, seqH)
	topic := mq.ContractTopic(seqH.id)
	var statuses [2][]string
	for i, h := range []*harness{seqH, batH} {
		for _, batch := range [][][]byte{b1, b2} {
			msgs := h.messages(batch)
			var req *workerv1.DispatchMessagesRequest
			if h == batH {
				req = request(t, topic, msgs)
			}
			statuses[i] = append(statuses[i], h.dispatch(req, msgs)...)
		}
	}
	commands := 0
	for _, p := range append(b1, b2...) {
		var cm contractsv1.ContractMessage
		if proto.Unmarshal(p, &cm) == nil && cm.GetCommand() != nil {
			commands++
		}
	}
	if got := batH.e.prepared.Load(); got != uint64(commands) {
		t.Fatalf("%d of %d commands opened by the preparation", got, commands)
	}
	if seqH.e.prepared.Load() != 0 {
		t.Fatal("the sequential harness used a preparation")
	}
	if strings.Join(statuses[0], ",") != strings.Join(statuses[1], ",") {
		t.Fatalf("outcomes differ:\n%v\n%v", statuses[0], statuses[1])
	}
	base := uint64(1 + len(b1)) // init, batch 1
	for i := range b2 {
		st := statuses[1][len(b1)+i]
		want, bad := rejected[i]
		switch {
		case bad && st != StatusRejected:
			t.Errorf("batch entry %d: %s, want rejected (%s)", i, st, want)
		case !bad && i == 9 && st != OutcomeMalformed:
			t.Errorf("undecodable entry: %s", st)
		case !bad && i != 9 && st == StatusRejected:
			t.Errorf("good entry %d rejected", i)
		}
	}
	// Receipts, read straight from both executors (the readers differ
	// per entry; the stored receipts must be byte-identical).
	for seq := uint64(0); seq < seqH.seq; seq++ {
		ca, cb := seqH.e.contract(seqH.id), batH.e.contract(batH.id)
		ra, ja, errA := ca.receipt(&seqH.e.pending, seq)
		rb, jb, errB := cb.receipt(&batH.e.pending, seq)
		if errA != nil || errB != nil || ra != rb || !bytes.Equal(ja, jb) {
			t.Fatalf("receipt %d: %s (%v) vs %s (%v)", seq, ja, errA, jb, errB)
		}
		if i := int(seq - base); seq >= base && rejected[i] != "" && !strings.Contains(string(ja), rejected[i]) {
			t.Errorf("receipt %d: %s, want an error with %q", seq, ja, rejected[i])
		}
	}
	if len(seqH.reports) != len(batH.reports) || len(seqH.egress) != len(batH.egress) || len(seqH.egress) != 6 {
		t.Fatalf("reports %d vs %d, egress %d vs %d", len(seqH.reports), len(batH.reports), len(seqH.egress), len(batH.egress))
	}
	for i := range seqH.reports {
		if !proto.Equal(seqH.reports[i], batH.reports[i]) {
			t.Fatalf("report %d differs", i)
		}
	}
	for i := range seqH.egress {
		if !proto.Equal(seqH.egress[i], batH.egress[i]) {
			t.Fatalf("egress %d differs", i)
		}
	}
	na, rootA := seqH.status()
	nb, rootB := batH.status()
	if na != nb || rootA != rootB {
		t.Fatalf("next %d root %x vs next %d root %x", na, rootA, nb, rootB)
	}
}

// TestPreparationIgnoresUnverifiedBytes: the relayer's request is not
// verified when Prepare sees it. A request whose bytes differ from the
// proven messages — another envelope, another sequence, garbage — must
// not change what executes: Execute opens the proven envelope itself.
func TestPreparationIgnoresUnverifiedBytes(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	h.flush()
	alice, mallory := signer("alice"), signer("mallory")
	msgs := h.messages([][]byte{
		mustMarshal(t, commandMsg(alice.Public().Key, h.sealCommand(alice, 1, "increment", `{"by":2}`))),
		mustMarshal(t, commandMsg(alice.Public().Key, h.sealCommand(alice, 2, "increment", `{"by":3}`))),
		mustMarshal(t, commandMsg(alice.Public().Key, h.sealCommand(alice, 3, "increment", `{"by":4}`))),
	})
	forged := make([]*mqv1.Message, len(msgs))
	for i, m := range msgs {
		forged[i] = proto.Clone(m).(*mqv1.Message)
	}
	// Mallory's valid command in place of the first, the second claiming
	// another sequence, the third not a message at all.
	forged[0].Payload = mustMarshal(t, commandMsg(mallory.Public().Key, h.sealCommand(mallory, 1, "increment", `{"by":100}`)))
	forged[1].Sequence = 77
	req := request(t, mq.ContractTopic(h.id), forged)
	req.Topics[0].Messages[1].Sequence = msgs[1].GetSequence()
	req.Topics[0].Messages[2].Message = []byte("not a message")
	st := h.dispatch(req, msgs)
	if strings.Join(st, ",") != "ok,ok,ok" {
		t.Fatalf("outcomes %v", st)
	}
	if r := h.query(alice, "get_count", ""); string(r.Result) != `{"count":9}` {
		t.Fatalf("count %+v", r)
	}
	if got := h.e.prepared.Load(); got != 0 {
		t.Fatalf("%d mismatched preparations were used", got)
	}
}

// TestPreparedOpeningMatchesOpenCommand: the preparation's fast path
// (decrypt without the signature, then a batch verification) gives, for
// valid and broken envelopes alike, exactly envelope.OpenCommand's call
// or error.
func TestPreparedOpeningMatchesOpenCommand(t *testing.T) {
	c, envs := openingCases(t)
	checkPreparedOpening(t, c, envs)
}

// FuzzPreparedOpening: for any envelope bytes, the preparation's result
// is OpenCommand's.
func FuzzPreparedOpening(f *testing.F) {
	c, envs := openingCases(f)
	for _, env := range envs {
		f.Add(env)
	}
	f.Fuzz(func(t *testing.T, env []byte) { checkPreparedOpening(t, c, [][]byte{env}) })
}

// openingCases is a contract and envelopes for it: valid ones of both
// signature schemes, and every way of breaking one.
func openingCases(t testing.TB) (*contract, [][]byte) {
	id := account("opening")
	ks := contractKeys(t, id)
	c := &contract{id: id}
	var err error
	if c.hpkeKey, err = envelope.NewCachedKey(ks.HPKE); err != nil {
		t.Fatal(err)
	}
	seal := func(id [32]byte, s keys.Signer, nonce uint64) []byte {
		env, err := envelope.SealCommand(ks.HPKE.PublicKey(), envelope.Call{ContractID: id, Nonce: nonce, Method: "m", Args: []byte(`{"a":1}`)}, s)
		if err != nil {
			t.Fatal(err)
		}
		return env
	}
	good := seal(id, signer("a"), 1)
	envs := [][]byte{good, seal(id, keys.NewSr25519FromSeed([32]byte{1}), 2), seal(id, signer("b"), 3),
		seal(account("elsewhere"), signer("a"), 4),
		seal(id, forger{claimed: signer("a").Public(), signer: signer("b")}, 5),
		seal(id, forger{claimed: keys.NewSr25519FromSeed([32]byte{1}).Public(), signer: keys.NewSr25519FromSeed([32]byte{2})}, 6),
		nil, good[:17], good[:18], good[:18+1120], good[:len(good)-1], append(bytes.Clone(good), 0),
	}
	for _, at := range []int{0, 1, 2, 5, 7, 8, 15, 16, 17, 18, 600, 18 + 1119, 18 + 1120, len(good) - 17, len(good) - 1} {
		e := bytes.Clone(good)
		e[at] ^= 0x01
		envs = append(envs, e)
	}
	otherKey, err := envelope.SealCommand(contractKeys(t, account("x")).HPKE.PublicKey(), envelope.Call{ContractID: id, Nonce: 1, Method: "m"}, signer("a"))
	if err != nil {
		t.Fatal(err)
	}
	return c, append(envs, otherKey)
}

func checkPreparedOpening(t testing.TB, c *contract, envs [][]byte) {
	t.Helper()
	topic := mq.ContractTopic(c.id)
	tp := &prepTopic{c: c, topic: topic, slots: make([]prepSlot, len(envs))}
	ch := &prepChunk{t: tp, to: len(envs), done: make(chan struct{})}
	for i, env := range envs {
		m := &mqv1.Message{Topic: topic, Sequence: uint64(i), Payload: mustMarshal(t, commandMsg(c.id, env))}
		tp.slots[i] = prepSlot{raw: mustMarshal(t, m), chunk: ch}
	}
	p := &preparation{ctx: context.Background()}
	p.run(ch)
	for i, env := range envs {
		s := &tp.slots[i]
		vc, err := envelope.OpenCommand(c.hpkeKey, c.id, env)
		if !s.ready {
			t.Fatalf("envelope %d not prepared", i)
		}
		if (err == nil) != (s.err == nil) || (err != nil && err.Error() != s.err.Error()) {
			t.Fatalf("envelope %d: prepared error %v, OpenCommand %v", i, s.err, err)
		}
		if err == nil && (vc.Caller != s.vc.Caller || vc.Nonce != s.vc.Nonce || vc.Method != s.vc.Method ||
			!bytes.Equal(vc.Args, s.vc.Args) || vc.ContractID != s.vc.ContractID || !bytes.Equal(vc.Encoded, s.vc.Encoded)) {
			t.Fatalf("envelope %d: prepared call %+v, OpenCommand %+v", i, s.vc, vc)
		}
	}
}

// TestPreparationStaysAhead: the goroutines open at most prepareAhead
// commands (plus the chunk that crosses the bound) ahead of execution,
// and Flush stops them.
func TestPreparationStaysAhead(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{ephemeral: true})
	h.install("")
	h.flush()
	const n = prepareAhead + 3*maxChunk
	alice := signer("alice")
	payloads := make([][]byte, n)
	for i := range payloads {
		payloads[i] = mustMarshal(t, commandMsg(alice.Public().Key, h.sealCommand(alice, uint64(i+1), "increment", `{}`)))
	}
	msgs := h.messages(payloads)
	h.e.Prepare(context.Background(), request(t, mq.ContractTopic(h.id), msgs))
	p := h.e.prep
	if p == nil {
		t.Fatal("nothing prepared")
	}
	tp := p.topics[h.e.contract(h.id)]
	deadline := time.Now().Add(time.Minute)
	for _, ch := range p.chunks {
		if ch.from > prepareAhead-1 {
			break
		}
		select {
		case <-ch.done:
		case <-time.After(time.Until(deadline)):
			t.Fatal("preparation did not reach the bound")
		}
	}
	time.Sleep(50 * time.Millisecond)
	for i := range tp.slots {
		if i >= prepareAhead+maxChunk && tp.slots[i].chunk.claimed.Load() {
			t.Fatalf("command %d prepared while execution has not started", i)
		}
	}
	// As execution advances, so does the preparation, to the end.
	const executed = n - prepareAhead + 1
	for _, m := range msgs[:executed] {
		if out, err := h.e.Execute(context.Background(), h.id, m); err != nil || out.Status != StatusOK {
			t.Fatal(out, err)
		}
	}
	last := p.chunks[len(p.chunks)-1]
	select {
	case <-last.done:
	case <-time.After(time.Minute):
		t.Fatal("the last chunk was not prepared after execution advanced")
	}
	h.flush()
	if h.e.prep != nil {
		t.Fatal("Flush left the preparation")
	}
	if h.e.prepared.Load() != executed {
		t.Fatalf("prepared %d", h.e.prepared.Load())
	}
}

// TestCrashAfterBatch: the database holds whole dispatch batches. A
// copy of the database taken right after a batch (as a crash leaves it)
// reopens at that batch's end with its state root; one taken in the
// middle of the next batch reopens at the same place, and executing the
// log from there reproduces the original's state root, receipts, nonces
// and egress.
func TestCrashAfterBatch(t *testing.T) {
	h := newHarness(t, "payer", hopt{})
	h.install("")
	h.flush()
	b1, b2, _ := troubledLog(t, h)
	topic := mq.ContractTopic(h.id)
	m1 := h.messages(b1)
	h.dispatch(request(t, topic, m1), m1)
	next1, root1 := h.status()
	afterBatch := snapshotDB(t, h)

	m2 := h.messages(b2)
	h.e.Prepare(context.Background(), request(t, topic, m2))
	for _, m := range m2[:7] {
		out, err := h.e.Execute(context.Background(), h.id, m)
		if err != nil {
			t.Fatal(err)
		}
		h.collect(out.Egress)
	}
	midBatch := snapshotDB(t, h)
	for _, m := range m2[7:] {
		out, err := h.e.Execute(context.Background(), h.id, m)
		if err != nil {
			t.Fatal(err)
		}
		h.collect(out.Egress)
	}
	h.seq = m2[len(m2)-1].GetSequence() + 1
	h.flush()
	next2, root2 := h.status()
	if next2 != next1+uint64(len(b2)) || root2 == root1 {
		t.Fatalf("next %d → %d", next1, next2)
	}

	for name, home := range map[string]string{"after the batch": afterBatch, "in the middle of the next": midBatch} {
		r := newHarness(t, "payer", hopt{home: home, sealing: h.sealing, workerSK: h.workerSK})
		if n, root := r.status(); n != next1 || root != root1 {
			t.Fatalf("crash %s: reopened at %d root %x, want %d %x", name, n, root, next1, root1)
		}
		r.seq = next1
		// The relayer redelivers from the checkpoint: the rest of the log
		// executes to the same end.
		m := r.messages(b2)
		r.dispatch(request(t, topic, m), m)
		if n, root := r.status(); n != next2 || root != root2 {
			t.Fatalf("crash %s: re-executed to %d root %x, want %d %x", name, n, root, next2, root2)
		}
		for seq := next1; seq < next2; seq++ {
			_, ja, errA := h.e.contract(h.id).receipt(&h.e.pending, seq)
			_, jb, errB := r.e.contract(r.id).receipt(&r.e.pending, seq)
			if errA != nil || errB != nil || !bytes.Equal(ja, jb) {
				t.Fatalf("crash %s: receipt %d: %s vs %s", name, seq, ja, jb)
			}
		}
		if len(h.egress) != 6 || len(r.egress) != 4 {
			t.Fatalf("crash %s: egress %d, original %d", name, len(r.egress), len(h.egress))
		}
		for i := range r.egress {
			if !proto.Equal(r.egress[i], h.egress[2+i]) {
				t.Fatalf("crash %s: egress %d differs", name, i)
			}
		}
		// The nonces came back with the state: a replay is refused.
		if out := r.command(signer("alice"), 2, "pay", `{}`); out.Status != StatusRejected {
			t.Fatalf("crash %s: replayed nonce %s", name, out.Status)
		}
	}
}

// snapshotDB copies the executor's database directory as it is on disk
// now, into a new worker home: what a crash at this point leaves.
func snapshotDB(t *testing.T, h *harness) string {
	t.Helper()
	home := t.TempDir()
	src := filepath.Join(h.home, "contracts", dbName+".db")
	dst := filepath.Join(home, "contracts", dbName+".db")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return home
}

// failingDB is a database whose batch writes fail while fail is set.
type failingDB struct {
	dbm.DB
	fail bool
}

func (d *failingDB) NewBatch() dbm.Batch { return &failingBatch{Batch: d.DB.NewBatch(), db: d} }

type failingBatch struct {
	dbm.Batch
	db *failingDB
}

func (b *failingBatch) WriteSync() error {
	if b.db.fail {
		return errors.New("disk on fire")
	}
	return b.Batch.WriteSync()
}

// TestFailedWriteRollsBack: when a batch cannot be written, its contract
// goes back to the last durable position — state, position, nonces — and
// the same messages, delivered again, execute as the first time.
func TestFailedWriteRollsBack(t *testing.T) {
	h := newHarness(t, "payer", hopt{})
	h.install("")
	h.flush()
	alice := signer("alice")
	to := account("recipient")
	payloads := make([][]byte, 3)
	for i := range payloads {
		payloads[i] = mustMarshal(t, commandMsg(alice.Public().Key, h.sealCommand(alice, uint64(i+1), "pay",
			`{"to":"`+hex.EncodeToString(to[:])+`","amount":5}`)))
	}
	next0, root0 := h.status()
	fdb := &failingDB{DB: h.e.db, fail: true}
	h.e.db = fdb
	msgs := h.messages(payloads)
	h.e.Prepare(context.Background(), request(t, mq.ContractTopic(h.id), msgs))
	for _, m := range msgs {
		if out, err := h.e.Execute(context.Background(), h.id, m); err != nil || out.Status != StatusOK {
			t.Fatal(out, err)
		}
	}
	if r := h.query(alice, "get", ""); string(r.Result) != `"15"` {
		t.Fatalf("pending state not visible: %+v", r)
	}
	if _, err := h.e.Flush(); !errors.Is(err, runtime.ErrStorage) {
		t.Fatalf("flush: %v", err)
	}
	if n, root := h.status(); n != next0 || root != root0 {
		t.Fatalf("after the failed write: next %d root %x, want %d %x", n, root, next0, root0)
	}
	if r := h.query(alice, "get", ""); string(r.Result) != `"0"` {
		t.Fatalf("state after rollback: %+v", r)
	}
	if r := h.receipt(alice, next0); r.Code != CodePending {
		t.Fatalf("receipt after rollback: %+v", r)
	}
	fdb.fail = false
	h.seq = next0
	if st := h.dispatch(request(t, mq.ContractTopic(h.id), msgs), msgs); strings.Join(st, ",") != "ok,ok,ok" {
		t.Fatalf("redelivered: %v (the nonces were not rolled back)", st)
	}
	h.restart()
	if r := h.query(alice, "get", ""); string(r.Result) != `"15"` {
		t.Fatalf("after restart: %+v", r)
	}
}
