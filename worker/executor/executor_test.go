package executor

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/crypto/envelope"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

func TestCommandReceiptAndQuery(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	alice, bob := signer("alice"), signer("bob")
	out := h.command(alice, 1, "increment", `{"by":2}`)
	if out.Status != StatusOK {
		t.Fatalf("increment: %+v", out)
	}
	if r := h.query(bob, "get_count", ""); !r.OK || string(r.Result) != `{"count":2}` {
		t.Fatalf("get_count: %+v", r)
	}
	rc := decodeReceipt(t, h.receipt(alice, 1))
	want := Receipt{Sequence: 1, Height: 101, Status: StatusOK, Result: json.RawMessage(`{"count":2}`),
		Events: []ReceiptEvent{{Topic: "incremented", Data: json.RawMessage(`{"count":2}`)}}, GasUsed: rc.GasUsed}
	if rc.GasUsed == 0 || !receiptEqual(rc, want) {
		t.Fatalf("receipt %+v", rc)
	}
	// The exact JSON the CLI decodes.
	raw := h.receipt(alice, 1).Result
	if !bytes.HasPrefix(raw, []byte(`{"sequence":1,"height":101,"status":"ok","result":{"count":2},"error":"","events":[{"topic":"incremented","data":{"count":2}}],"gas_used":`)) {
		t.Fatalf("receipt JSON %s", raw)
	}
	if r := h.receipt(bob, 1); r.OK || r.Code != CodeNotAuthorized {
		t.Fatalf("bob read alice's receipt: %+v", r)
	}
	if r := h.receipt(alice, 7); r.OK || r.Code != CodePending {
		t.Fatalf("future receipt: %+v", r)
	}
	if r := h.query(alice, ReceiptMethod, `{"seq":1}`); r.OK || r.Code != CodeInvalid {
		t.Fatalf("bad receipt args: %+v", r)
	}
	// Init's receipt is the deployer's; the deployer here is not a
	// signer we hold, so nobody else reads it.
	if r := h.receipt(alice, 0); r.OK || r.Code != CodeNotAuthorized {
		t.Fatalf("init receipt read by alice: %+v", r)
	}
	if r := h.query(alice, "no_such_method", ""); r.OK || r.Code != CodeReverted {
		t.Fatalf("unknown method: %+v", r)
	}
	// A chain call's receipt is its caller's.
	h.push(&contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_ChainCall{ChainCall: &contractsv1.ChainCall{
		Caller: alice.Public().Bytes(), Method: "increment", Args: []byte(`{"by":3}`)}}})
	if rc := decodeReceipt(t, h.receipt(alice, 2)); rc.Status != StatusOK || string(rc.Result) != `{"count":5}` {
		t.Fatalf("chain call receipt %+v", rc)
	}
	// State reports: at sequence 0 (a multiple of 64), then on Flush.
	h.flush()
	if len(h.reports) != 2 || h.reports[0].Sequence != 0 || h.reports[1].Sequence != 2 {
		t.Fatalf("reports %+v", h.reports)
	}
	if _, root := h.status(); !bytes.Equal(root[:], h.reports[1].StateRoot) {
		t.Fatal("status root differs from the reported one")
	}
	h.flush()
	if len(h.reports) != 2 {
		t.Fatal("flush without execution reported again")
	}
}

func receiptEqual(a, b Receipt) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestNonceReplayAndTamperRejected(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	alice, mallory := signer("alice"), signer("mallory")
	env := h.sealCommand(alice, 5, "increment", `{"by":1}`)
	if out := h.push(commandMsg(alice.Public().Key, env)); out.Status != StatusOK {
		t.Fatal(out)
	}
	_, root := h.status()
	// The same envelope copied into mallory's transaction: replayed nonce.
	if out := h.push(commandMsg(mallory.Public().Key, env)); out.Status != StatusRejected {
		t.Fatal(out)
	}
	rc := decodeReceipt(t, h.receipt(mallory, 2))
	if rc.Status != StatusRejected || !strings.Contains(rc.Error, "replayed") || string(rc.Result) != "null" {
		t.Fatalf("replay receipt %+v", rc)
	}
	// A lower nonce too.
	if out := h.command(alice, 4, "increment", `{}`); out.Status != StatusRejected {
		t.Fatal(out)
	}
	// A tampered envelope: rejected, readable by the sender.
	bad := h.sealCommand(alice, 6, "increment", `{}`)
	bad[len(bad)-3] ^= 1
	if out := h.push(commandMsg(mallory.Public().Key, bad)); out.Status != StatusRejected {
		t.Fatal(out)
	}
	if rc := decodeReceipt(t, h.receipt(mallory, 4)); !strings.Contains(rc.Error, "decryption") {
		t.Fatalf("tamper receipt %+v", rc)
	}
	// A command for another contract.
	other, err := envelope.SealCommand(h.ck.HPKE.PublicKey(), envelope.Call{ContractID: account("other"), Nonce: 9, Method: "increment"}, alice)
	if err != nil {
		t.Fatal(err)
	}
	if out := h.push(commandMsg(alice.Public().Key, other)); out.Status != StatusRejected {
		t.Fatal(out)
	}
	// Garbage payload: consumes the sequence, nobody's receipt.
	m := h.message(nil)
	m.Payload = []byte{0xff, 0xff, 0xff}
	if out := h.pushRaw(m); out.Status != OutcomeMalformed {
		t.Fatal(out)
	}
	h.flush()
	if _, after := h.status(); after != root {
		t.Fatal("rejected commands changed the state")
	}
	if r := h.query(alice, "get_count", ""); string(r.Result) != `{"count":1}` {
		t.Fatalf("count %+v", r)
	}
	// Alice's nonce 6 is still fresh: the tampered copy did not burn it.
	if out := h.command(alice, 6, "increment", `{}`); out.Status != StatusOK {
		t.Fatal(out)
	}
}

func TestSecretNoteOwnerOnlyAndNoPlaintextOnDisk(t *testing.T) {
	h := newHarness(t, "secret-note", hopt{})
	h.install("")
	alice, bob := signer("alice"), signer("bob")
	const note = "the eagle lands at dawn, bring 7 oranges"
	if out := h.command(alice, 1, "set_note", `{"text":"`+note+`"}`); out.Status != StatusOK {
		t.Fatal(out)
	}
	if r := h.query(alice, "get_note", ""); !r.OK || !strings.Contains(string(r.Result), note) {
		t.Fatalf("alice: %+v", r)
	}
	ownerArg := `{"owner":"` + hex.EncodeToString(alice.Public().Bytes()) + `"}`
	if r := h.query(bob, "get_note", ownerArg); r.OK || r.Code != CodeReverted || r.Error != "not authorized" {
		t.Fatalf("bob: %+v", r)
	}
	if r := h.receipt(bob, 1); r.Code != CodeNotAuthorized {
		t.Fatalf("bob reads alice's receipt: %+v", r)
	}
	h.flush()
	if err := h.e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{"note": []byte(note), "state key": h.ck.StateKey[:], "random seed": h.ck.RandomSeed[:],
		"sealing key": h.sealing}
	files := 0
	err := filepath.WalkDir(h.home, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for what, s := range secrets {
			if bytes.Contains(b, s) {
				t.Errorf("%s found in plaintext in %s", what, p)
			}
		}
		return nil
	})
	if err != nil || files == 0 {
		t.Fatalf("walk: %v (%d files)", err, files)
	}
	h.open()
	if r := h.query(alice, "get_note", ""); !strings.Contains(string(r.Result), note) {
		t.Fatalf("after restart: %+v", r)
	}
}

func TestRestartResumesWithoutReexecution(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	alice := signer("alice")
	for i := uint64(1); i <= 3; i++ {
		h.command(alice, i, "increment", `{"by":1}`)
	}
	msgs := h.seq
	next, root := h.status()
	h.restart()
	if n, r := h.status(); n != next || r != root || n != msgs {
		t.Fatalf("after restart next %d root %x, before %d %x", n, r, next, root)
	}
	// The relayer delivers the log again from an older position.
	h.seq = 1
	if out := h.pushRaw(h.message(nil)); out.Status != OutcomeSkipped {
		t.Fatal(out)
	}
	h.seq = msgs
	// The nonce tracker survived: nonce 3 is spent.
	if out := h.command(alice, 3, "increment", `{}`); out.Status != StatusRejected {
		t.Fatal(out)
	}
	if out := h.command(alice, 4, "increment", `{}`); out.Status != StatusOK {
		t.Fatal(out)
	}
	if r := h.query(alice, "get_count", ""); string(r.Result) != `{"count":4}` {
		t.Fatalf("count %+v", r)
	}
	// A gap is refused and changes nothing.
	h.seq += 2
	if _, err := h.e.Execute(context.Background(), h.id, h.message(nil)); !errors.Is(err, ErrSequence) {
		t.Fatalf("gap: %v", err)
	}
}

// TestReplayOnFreshWorker: a newly assigned worker (other home, other
// worker key, memory-only) that replays the log reaches the same state
// roots and receipts: losing a worker loses no state.
func TestReplayOnFreshWorker(t *testing.T) {
	a := newHarness(t, "payer", hopt{})
	a.install("")
	alice := signer("alice")
	var log [][]byte
	log = append(log, mustMarshal(t, initMsg(a)))
	cmds := []struct {
		nonce        uint64
		method, args string
	}{{1, "pay", `{"to":"` + hex.EncodeToString(alice.Public().Bytes()) + `","amount":10}`}, {2, "env", ""}, {3, "revert", ""}, {4, "pay", `{"to":"` + hex.EncodeToString(alice.Public().Bytes()) + `","amount":5}`}}
	for _, c := range cmds {
		cm := commandMsg(alice.Public().Key, a.sealCommand(alice, c.nonce, c.method, c.args))
		log = append(log, mustMarshal(t, cm))
		a.push(cm)
	}
	a.flush()
	b := newHarness(t, "payer", hopt{ephemeral: true})
	b.install("")
	for _, p := range log[1:] {
		m := b.message(nil)
		m.Payload = p
		b.pushRaw(m)
	}
	b.flush()
	if len(a.reports) != len(b.reports) {
		t.Fatalf("reports %d vs %d", len(a.reports), len(b.reports))
	}
	for i := range a.reports {
		if !proto.Equal(a.reports[i], b.reports[i]) {
			t.Fatalf("report %d differs: %x vs %x", i, a.reports[i].StateRoot, b.reports[i].StateRoot)
		}
	}
	for seq := uint64(1); seq < a.seq; seq++ {
		ra, rb := decodeReceipt(t, a.receipt(alice, seq)), decodeReceipt(t, b.receipt(alice, seq))
		if !receiptEqual(ra, rb) {
			t.Fatalf("receipt %d: %+v vs %+v", seq, ra, rb)
		}
	}
	if len(a.egress) != 2 || len(b.egress) != 2 || !proto.Equal(a.egress[1], b.egress[1]) {
		t.Fatalf("egress %v vs %v", a.egress, b.egress)
	}
	// The env call saw the message's clock and height, not the worker's.
	rc := decodeReceipt(t, a.receipt(alice, 2))
	var env struct {
		Caller string
		Origin uint32
		Height uint64
		Time   int64
	}
	if err := json.Unmarshal(rc.Result, &env); err != nil {
		t.Fatal(err)
	}
	if env.Height != 102 || env.Time != time.Unix(1_700_000_012, 0).UnixNano() || env.Origin != 0 || env.Caller != hex.EncodeToString(alice.Public().Bytes()) {
		t.Fatalf("env %+v", env)
	}
}

func initMsg(h *harness) *contractsv1.ContractMessage {
	return &contractsv1.ContractMessage{Kind: &contractsv1.ContractMessage_Init{Init: &contractsv1.Init{Deployer: h.deployer[:]}}}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEgressAndFailures(t *testing.T) {
	h := newHarness(t, "payer", hopt{})
	h.install("")
	alice := signer("alice")
	to := account("recipient")
	out := h.command(alice, 1, "pay", `{"to":"`+hex.EncodeToString(to[:])+`","amount":1234}`)
	if out.Status != StatusOK || len(h.egress) != 1 {
		t.Fatalf("pay: %+v, egress %d", out, len(h.egress))
	}
	se := h.egress[0]
	pub := h.ck.Signing.Public()
	if !ed25519.Verify(pub.Key[:], append([]byte("veil/contract-egress/v1\x00"), se.Body...), se.Signature) {
		t.Fatal("egress signature does not verify")
	}
	var body contractsv1.ContractEgress
	if err := proto.Unmarshal(se.Body, &body); err != nil {
		t.Fatal(err)
	}
	if [32]byte(body.ContractId) != h.id || body.Sequence != 1 || len(body.Transfers) != 1 ||
		[32]byte(body.Transfers[0].To) != to || body.Transfers[0].Amount != "1234" {
		t.Fatalf("egress body %+v", &body)
	}
	// Malformed transfer events are skipped and noted.
	h.command(alice, 2, "bad_pay", `{"to":"`+hex.EncodeToString(to[:])+`","amount":7}`)
	rc := decodeReceipt(t, h.receipt(alice, 2))
	if rc.Status != StatusOK || !strings.Contains(rc.Error, "skipped 2 malformed") || len(h.egress) != 2 {
		t.Fatalf("bad_pay receipt %+v", rc)
	}
	if rc.Events[1].Data == nil || string(rc.Events[1].Data) != `"bm90IGpzb24="` {
		t.Fatalf("non-JSON event data %s", rc.Events[1].Data)
	}
	// A redelivered message (after a lost checkpoint) re-sends its egress.
	m := h.message(nil)
	m.Sequence = 1
	if out, err := h.e.Execute(context.Background(), h.id, m); err != nil || out.Status != OutcomeSkipped || len(out.Egress) != 1 ||
		!proto.Equal(mustUnmarshalEgress(t, out.Egress[0].Payload), h.egress[0]) {
		t.Fatalf("redelivery: %+v %v", out, err)
	}
	h.flush()
	_, root := h.status()
	// Calls that write and then fail leave the state as it was.
	for i, c := range []struct{ method, status, err string }{
		{"spin", StatusFailed, "out of gas"}, {"panic", StatusFailed, "boom"}, {"revert", StatusReverted, "no way"},
	} {
		if out := h.command(alice, uint64(3+i), c.method, ""); out.Status != c.status || len(out.Egress) != 0 {
			t.Fatalf("%s: %+v", c.method, out)
		}
		rc := decodeReceipt(t, h.receipt(alice, h.seq-1))
		if !strings.Contains(rc.Error, c.err) || rc.GasUsed == 0 {
			t.Fatalf("%s receipt %+v", c.method, rc)
		}
		if c.method == "spin" && rc.GasUsed != h.e.rt.Config().GasLimitPerCall {
			t.Fatalf("out of gas used %d", rc.GasUsed)
		}
	}
	h.flush()
	if _, after := h.status(); after != root {
		t.Fatal("failed calls changed the state")
	}
	if out := h.command(alice, 2, "pay", `{"to":"`+hex.EncodeToString(to[:])+`","amount":1}`); out.Status != StatusRejected {
		t.Fatal("nonce of a failed command is reusable")
	}
}

func TestQueryRefusals(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	alice := signer("alice")
	ctx := context.Background()
	// Not ready: no key yet.
	if r := h.query(alice, "get_count", ""); r.OK || r.Code != CodeNotReady {
		t.Fatalf("before install: %+v", r)
	}
	h.install("")
	env, _ := h.sealQuery(alice, h.id, "get_count", "")
	if _, err := h.e.Query(ctx, env, h.now); err != nil {
		t.Fatal(err)
	}
	if _, err := h.e.Query(ctx, env, h.now); !errors.Is(err, ErrBadEnvelope) || !errors.Is(err, envelope.ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	env, _ = h.sealQuery(alice, h.id, "get_count", "")
	if _, err := h.e.Query(ctx, env, h.now.Add(2*time.Minute)); !errors.Is(err, envelope.ErrExpired) {
		t.Fatalf("expired: %v", err)
	}
	other := newHarness(t, "hello-world", hopt{ephemeral: true})
	env, _ = other.sealQuery(alice, h.id, "get_count", "")
	if _, err := h.e.Query(ctx, env, h.now); !errors.Is(err, envelope.ErrWrongRecipient) {
		t.Fatalf("wrong recipient: %v", err)
	}
	env, _ = h.sealQuery(alice, h.id, "get_count", "")
	env[len(env)-1] ^= 1
	if _, err := h.e.Query(ctx, env, h.now); !errors.Is(err, ErrBadEnvelope) {
		t.Fatalf("tampered: %v", err)
	}
	// Unassigned: not served, not executed; re-delivery resumes.
	if err := h.e.HandleUnassigned(h.id); err != nil {
		t.Fatal(err)
	}
	if r := h.query(alice, "get_count", ""); r.Code != CodeNotReady {
		t.Fatalf("unassigned: %+v", r)
	}
	if _, err := h.e.Execute(ctx, h.id, h.message(nil)); !errors.Is(err, ErrNotReady) {
		t.Fatalf("unassigned execute: %v", err)
	}
	h.restart()
	if _, ok := h.e.Ready()[h.id]; ok {
		t.Fatal("unassignment forgotten on restart")
	}
	if ready, err := h.e.HandleContractKey(ctx, &contractsv1.ContractKeyDelivery{ContractId: h.id[:], Epoch: 1, CodeHash: h.e.Status()[0].CodeHash}); err != nil || !ready {
		t.Fatalf("re-assignment: %v %v", ready, err)
	}
	if r := h.query(alice, "get_count", ""); !r.OK {
		t.Fatalf("after re-assignment: %+v", r)
	}
}

// TestConcurrentQueriesDuringCommands runs queries while commands
// execute (run with -race): every answer is a count some committed
// prefix of the log produced, never decreasing.
func TestConcurrentQueriesDuringCommands(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	alice := signer("alice")
	const n = 20
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var last uint64
			for !stop.Load() {
				env, qc, err := envelope.SealQuery(h.workerSK.PublicKey(), envelope.QueryRequest{ContractID: h.id, Method: "get_count",
					Expiry: h.now.Add(time.Minute)}, alice)
				if err != nil {
					errs <- err
					return
				}
				resp, err := h.e.Query(context.Background(), env, h.now)
				if err != nil {
					errs <- err
					return
				}
				pt, err := qc.OpenResponse(resp)
				if err != nil {
					errs <- err
					return
				}
				var r struct {
					OK     bool
					Result struct{ Count uint64 }
				}
				if err := json.Unmarshal(pt, &r); err != nil || !r.OK || r.Result.Count < last || r.Result.Count > n {
					errs <- errors.New("bad answer " + string(pt))
					return
				}
				last = r.Result.Count
			}
		}()
	}
	for i := uint64(1); i <= n; i++ {
		if out := h.command(alice, i, "increment", `{}`); out.Status != StatusOK {
			t.Fatal(out)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func mustUnmarshalEgress(t *testing.T, b []byte) *contractsv1.SignedContractEgress {
	var s contractsv1.SignedContractEgress
	if err := proto.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// A replica behind the contract's proven log (a newcomer replaying it, a
// worker back from downtime) refuses reads instead of answering from
// stale state; receipts stay available (pending when not executed).
func TestCatchingUpRefusesReads(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	alice, bob := signer("alice"), signer("bob")
	h.command(alice, 1, "increment", `{"by":2}`)
	// The chain proves a log two entries longer than executed.
	h.e.NoteChainNext(h.id, h.seq+2)
	r := h.query(bob, "get_count", "")
	if r.OK || r.Code != CodeNotReady || !strings.Contains(r.Error, "catching up") {
		t.Fatalf("behind the log: %+v", r)
	}
	if rc := decodeReceipt(t, h.receipt(alice, 1)); rc.Status != StatusOK {
		t.Fatalf("receipt while behind: %+v", rc)
	}
	h.command(alice, 2, "increment", `{"by":1}`)
	h.command(alice, 3, "increment", `{"by":1}`)
	if r := h.query(bob, "get_count", ""); !r.OK || string(r.Result) != `{"count":4}` {
		t.Fatalf("caught up: %+v", r)
	}
}

// TestValidAmount pins the transfer amounts the executor signs: canonical
// positive decimals up to 2^64-1, nothing else.
func TestValidAmount(t *testing.T) {
	for s, want := range map[string]bool{
		"1": true, "1234": true, "18446744073709551615": true,
		"": false, "0": false, "01": false, "+1": false, "-1": false, "1e3": false, " 1": false, "1.0": false,
		"18446744073709551616": false, "100000000000000000000": false, "340282366920938463463374607431768211455": false,
	} {
		if got := validAmount(s); got != want {
			t.Errorf("validAmount(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestRawJSON: valid JSON is kept (compacted), anything else becomes a
// base64 string, and empty bytes are null.
func TestRawJSON(t *testing.T) {
	for in, want := range map[string]string{
		"":                `null`,
		` {"a": [1, 2]} `: `{"a":[1,2]}`,
		`"x"`:             `"x"`,
		`{"a":`:           `"eyJhIjo="`,
		"\xff":            `"/w=="`,
		`1 2`:             `"MSAy"`,
	} {
		if got := string(rawJSON([]byte(in))); got != want {
			t.Errorf("rawJSON(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestCloseWipesContractKeys: the contracts' secrets do not outlive the
// executor.
func TestCloseWipesContractKeys(t *testing.T) {
	h := newHarness(t, "hello-world", hopt{})
	h.install("")
	h.e.mu.RLock()
	c := h.e.contracts[h.id]
	h.e.mu.RUnlock()
	if c == nil || c.keys.StateKey == ([32]byte{}) || !slices.ContainsFunc(c.nonceIdx, func(b byte) bool { return b != 0 }) {
		t.Fatal("test set-up: no installed keys")
	}
	if err := h.e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if c.keys.StateKey != ([32]byte{}) || c.keys.RandomSeed != ([32]byte{}) ||
		slices.ContainsFunc(c.nonceIdx, func(b byte) bool { return b != 0 }) || slices.ContainsFunc(c.randomPRK, func(b byte) bool { return b != 0 }) {
		t.Fatal("contract secrets survive Close")
	}
}
