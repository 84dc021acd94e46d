package contracts

import (
	"bytes"
	"crypto/ed25519"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keys"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

func TestUploadCode(t *testing.T) {
	e := newEnv(t, 1000)
	code := testWasm("a", true)
	if err := e.exec(e.bob, &contractsv1.MsgUploadCode{Code: code}); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(code)
	if !bytes.Equal(e.ctx.Store.Get(CodeKey(h)), code) {
		t.Fatal("code not stored")
	}
	if r := Code(e.ctx.Store, h); r.GetSize() != uint64(len(code)) || !bytes.Equal(r.GetUploader(), e.bob[:]) || r.GetUploadedAt() != 1 {
		t.Fatalf("record %v", r)
	}
	if ev := e.lastEvent("code_uploaded"); attr(ev, "code_hash") != types.HexID(h[:]) {
		t.Fatalf("event %v", ev)
	}
	// gzip of another module is inflated and stored raw.
	code2 := testWasm("b", true)
	if err := e.exec(e.bob, &contractsv1.MsgUploadCode{Code: gz(t, code2)}); err != nil {
		t.Fatal(err)
	}
	h2 := sha256.Sum256(code2)
	if !bytes.Equal(e.ctx.Store.Get(CodeKey(h2)), code2) {
		t.Fatal("gzip code not stored raw")
	}

	p := DefaultParams()
	bomb := gz(t, make([]byte, p.MaxCodeBytes+1))
	trailing := append(gz(t, testWasm("c", true)), 0)
	cases := []struct {
		name string
		code []byte
		want types.Code
	}{
		{"already stored", code, CodeCodeExists},
		{"already stored, gzipped", gz(t, code), CodeCodeExists},
		{"empty", nil, CodeInvalidCode},
		{"garbage", []byte("hello world"), CodeInvalidCode},
		{"not a valid module", []byte("\x00asm\x01\x00\x00\x00\x01\xff"), CodeInvalidCode},
		{"missing veil_call", testWasm("d", false), CodeInvalidCode},
		{"missing veil_call, gzipped", gz(t, testWasm("d", false)), CodeInvalidCode},
		{"truncated gzip", gz(t, testWasm("e", true))[:20], CodeInvalidCode},
		{"gzip with trailing data", trailing, CodeInvalidCode},
		{"gzip bomb", bomb, CodeCodeTooLarge},
		{"upload too large", append(testWasm("f", true), make([]byte, p.MaxUploadBytes)...), CodeCodeTooLarge},
	}
	for _, c := range cases {
		start := time.Now()
		e.mustFail(c.name, e.bob, &contractsv1.MsgUploadCode{Code: c.code}, c.want)
		if d := time.Since(start); c.name == "gzip bomb" && d > 2*time.Second {
			t.Errorf("refusing the bomb took %v", d)
		}
	}
}

func FuzzDecodeCode(f *testing.F) {
	f.Add(testWasm("", true))
	f.Add(gz(f, testWasm("x", true)))
	f.Add(testWasm("", false))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff})
	f.Add(gz(f, make([]byte, 1<<16)))
	f.Add([]byte("\x00asm\x01\x00\x00\x00"))
	const maxUpload, maxCode = 1 << 16, 1 << 15
	f.Fuzz(func(t *testing.T, upload []byte) {
		raw, err := DecodeCode(upload, maxUpload, maxCode)
		if err != nil {
			switch types.CodeOf(err) {
			case CodeInvalidCode, CodeCodeTooLarge:
			default:
				t.Fatalf("uncoded error %v", err)
			}
			return
		}
		if len(raw) > maxCode || !bytes.HasPrefix(raw, []byte("\x00asm")) {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		// Deterministic: the same upload decodes to the same module.
		again, err := DecodeCode(upload, maxUpload, maxCode)
		if err != nil || !bytes.Equal(raw, again) {
			t.Fatal("not deterministic")
		}
	})
}

func TestIDs(t *testing.T) {
	dep := types.AccountID{1}
	h := [32]byte{2}
	id := ContractID(dep, h, []byte("salt"))
	want := sha256.Sum256(append(append(append([]byte("veil/contract-id/v1\x00"), dep[:]...), h[:]...), "salt"...))
	if id != want {
		t.Fatal("contract id")
	}
	acc := sha256.Sum256(append([]byte("veil/contract-account/v1\x00"), id[:]...))
	if ContractAccount(id) != types.AccountID(acc) {
		t.Fatal("contract account")
	}
	if !bytes.Equal(EgressSigningBytes([]byte{9}), []byte("veil/contract-egress/v1\x00\x09")) {
		t.Fatal("egress signing bytes")
	}
}

func TestInstantiateWithoutMasterKey(t *testing.T) {
	e := newEnv(t, 1000)
	code := testWasm("", true)
	if err := e.exec(e.bob, &contractsv1.MsgUploadCode{Code: code}); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(code)
	w := e.newWorker()
	e.sync(w)
	msg := &contractsv1.MsgInstantiate{CodeHash: h[:]}
	e.mustFail("no gatekeeper", e.bob, msg, CodeNoMasterKey)
	err := e.exec(e.bob, msg)
	if want := "register a gatekeeper (veil tx registry gatekeeper add)"; err == nil || !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Fatalf("error %v lacks the hint", err)
	}
	// Designated but not yet published: still no key.
	id := w.id()
	if err := e.exec(e.alice, &contractsv1.MsgUploadCode{Code: testWasm("z", true)}); err != nil {
		t.Fatal(err)
	}
	if err := e.exec(e.alice, &registryv1.MsgRegisterGatekeeper{Identity: id[:]}); err != nil {
		t.Fatal(err)
	}
	e.mustFail("pending epoch", e.bob, msg, CodeNoMasterKey)
}

// contractEnv has three online workers, w[0] the gatekeeper with master
// epoch 1 published, and stored code.
type contractEnv struct {
	*env
	w    []*worker
	code [32]byte
}

func newContractEnv(t *testing.T, validity uint64) *contractEnv {
	e := newEnv(t, validity)
	ce := &contractEnv{env: e}
	for range 3 {
		w := e.newWorker()
		e.sync(w)
		ce.w = append(ce.w, w)
	}
	e.gatekeeper(ce.w[0])
	code := testWasm("", true)
	if err := e.exec(e.bob, &contractsv1.MsgUploadCode{Code: code}); err != nil {
		t.Fatal(err)
	}
	ce.code = sha256.Sum256(code)
	return ce
}

func (ce *contractEnv) byID(id []byte) *worker {
	for _, w := range ce.w {
		if wid := w.id(); bytes.Equal(wid[:], id) {
			return w
		}
	}
	ce.t.Fatalf("unknown worker %x", id)
	return nil
}

// contractKeys is what a gatekeeper derives for a contract.
type contractKeys struct {
	hpke hpke.PrivateKey
	sign ed25519.PrivateKey
}

func newContractKeys(t *testing.T) contractKeys {
	k, err := hpke.MLKEM768X25519().GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	_, s, _ := ed25519.GenerateKey(nil)
	return contractKeys{k, s}
}

func (k contractKeys) publication(id [32]byte, epoch uint64, to ...[]byte) *contractsv1.ContractKeyPublication {
	p := &contractsv1.ContractKeyPublication{ContractId: id[:], Epoch: epoch, HpkePublicKey: k.hpke.PublicKey().Bytes(),
		SigningPublicKey: k.sign.Public().(ed25519.PublicKey)}
	for _, w := range to {
		p.Deliveries = append(p.Deliveries, &contractsv1.ContractKeyHandover{Recipient: w, Sealed: append([]byte("sealed-for-"), w[:4]...)})
	}
	return p
}

func TestContractLifecycle(t *testing.T) {
	ce := newContractEnv(t, 1000)
	e := ce.env
	s := e.ctx.Store
	inst := &contractsv1.MsgInstantiate{CodeHash: ce.code[:], Salt: []byte("s1"), InitArgs: []byte(`{"max":10}`), Replicas: 2, Label: "demo"}

	// Bad instantiations change nothing.
	unknown := sha256.Sum256([]byte("nothing"))
	e.mustFail("unknown code", e.bob, &contractsv1.MsgInstantiate{CodeHash: unknown[:]}, CodeCodeNotFound)
	e.mustFail("short code hash", e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:5]}, types.CodeInvalidRequest)
	e.mustFail("too many replicas", e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:], Replicas: 9}, CodeInvalidReplicas)
	e.mustFail("more replicas than online workers", e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:], Replicas: 4}, CodeNotEnoughWorkers)
	e.mustFail("label too long", e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:], Label: string(make([]byte, 65))}, types.CodeInvalidRequest)
	e.mustFail("salt too long", e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:], Salt: make([]byte, 65)}, types.CodeInvalidRequest)
	e.mustFail("init args too long", e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:], InitArgs: make([]byte, DefaultMaxEnvelopeBytes+1)}, types.CodeInvalidRequest)
	// Someone squatting the topic of a predictable id.
	squat := ContractID(e.bob, ce.code, []byte("squat"))
	if _, err := e.q.Send(e.ctx, nil, mq.ContractTopic(squat), []byte("x")); err != nil {
		t.Fatal(err)
	}
	e.mustFail("topic already used", e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:], Salt: []byte("squat")}, CodeContractTopicUsed)

	gkBefore := mq.NextSequence(s, mq.TopicGatekeeper)
	if err := e.exec(e.bob, inst); err != nil {
		t.Fatal(err)
	}
	id := ContractID(e.bob, ce.code, []byte("s1"))
	rec := Contract(s, id)
	onlineIDs := [][]byte{}
	for _, w := range compute.Eligible(s, e.ctx.Height) {
		onlineIDs = append(onlineIDs, w.Identity)
	}
	want, err := Assign(s, e.ctx.Height, id, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	acct := ContractAccount(id)
	if rec.GetReplicas() != 2 || rec.GetKeyEpoch() != 1 || rec.GetLabel() != "demo" || !bytes.Equal(rec.GetAccount(), acct[:]) ||
		len(rec.GetWorkers()) != 2 || !bytes.Equal(rec.GetWorkers()[0], want[0]) || !bytes.Equal(rec.GetWorkers()[1], want[1]) ||
		len(rec.GetHistory()) != 1 || rec.GetHistory()[0].GetReason() != ReasonInstantiated || len(onlineIDs) != 3 {
		t.Fatalf("record %v", rec)
	}
	ev := e.lastEvent("contract_instantiated")
	if attr(ev, "contract") != types.HexID(id[:]) || attr(ev, "address") != e.ctx.Address(acct) || attr(ev, "code_hash") != types.HexID(ce.code[:]) {
		t.Fatalf("event %v", ev)
	}
	var cm contractsv1.ContractMessage
	e.message(mq.ContractTopic(id), 0, Name, &cm)
	if in := cm.GetInit(); !bytes.Equal(in.GetDeployer(), e.bob[:]) || !bytes.Equal(in.GetCodeHash(), ce.code[:]) || string(in.GetArgs()) != `{"max":10}` {
		t.Fatalf("init %v", &cm)
	}
	var gm contractsv1.GatekeeperMessage
	e.message(mq.TopicGatekeeper, gkBefore, Name, &gm)
	req := gm.GetContractKeyRequest()
	if !bytes.Equal(req.GetContractId(), id[:]) || req.GetEpoch() != 1 || len(req.GetWorkers()) != 2 ||
		!bytes.Equal(req.GetWorkers()[0].GetHpkePublicKey(), ce.byID(rec.GetWorkers()[0]).HPKEPublicKey) {
		t.Fatalf("key request %v", req)
	}
	e.mustFail("same salt", e.bob, inst, CodeContractExists)

	// Commands wait for the keys.
	keys := newContractKeys(t)
	signer, err := keysFromURI("//Bob")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := envelope.SealCommand(keys.hpke.PublicKey(), envelope.Call{ContractID: id, Nonce: 1, Method: "guess", Args: []byte(`{"n":3}`)}, signer)
	if err != nil {
		t.Fatal(err)
	}
	e.mustFail("keys not published", e.bob, &contractsv1.MsgPushCommand{ContractId: id[:], Envelope: sealed}, CodeKeysNotPublished)

	// Key publication: only gatekeepers, right epoch, valid keys.
	gk := ce.w[0]
	var other *worker
	for _, w := range ce.w {
		if wid := w.id(); !isAssigned(rec, wid[:]) {
			other = w
		}
	}
	oid := other.id()
	pub := keys.publication(id, 1, rec.GetWorkers()[0], rec.GetWorkers()[1], oid[:])
	notGK := ce.w[1]
	if notGK == gk {
		t.Fatal("test set-up")
	}
	e.refused("not a gatekeeper", notGK, TopicKeys, enc(t, pub), "not_gatekeeper")
	wrongEpoch := keys.publication(id, 2)
	e.refused("wrong epoch", gk, TopicKeys, enc(t, wrongEpoch), "wrong_key_epoch")
	badKey := keys.publication(id, 1)
	badKey.HpkePublicKey = badKey.HpkePublicKey[:50]
	e.refused("bad hpke key", gk, TopicKeys, enc(t, badKey), "invalid_contract_key")
	unknownID := [32]byte{9}
	e.refused("unknown contract", gk, TopicKeys, enc(t, keys.publication(unknownID, 1)), "contract_not_found")

	e.mustEgress(gk, TopicKeys, enc(t, pub))
	rec = Contract(s, id)
	if !bytes.Equal(rec.GetHpkePublicKey(), keys.hpke.PublicKey().Bytes()) || rec.GetKeysPublishedAt() != e.ctx.Height {
		t.Fatal("keys not recorded")
	}
	e.lastEvent("contract_keys_published")
	for _, w := range rec.GetWorkers() {
		var wm contractsv1.WorkerMessage
		e.message(mq.WorkerTopic([32]byte(w)), 0, Name, &wm)
		if d := wm.GetContractKey(); !bytes.Equal(d.GetContractId(), id[:]) || d.GetEpoch() != 1 || !bytes.Equal(d.GetSealed(), append([]byte("sealed-for-"), w[:4]...)) {
			t.Fatalf("delivery %v", &wm)
		}
	}
	if n := mq.NextSequence(s, mq.WorkerTopic(oid)); n != 0 {
		t.Fatal("an unassigned worker got the key")
	}
	// Every gatekeeper answers: equal keys are fine, deliveries go once.
	e.mustEgress(gk, TopicKeys, enc(t, pub))
	for _, w := range rec.GetWorkers() {
		if n := mq.NextSequence(s, mq.WorkerTopic([32]byte(w))); n != 1 {
			t.Fatalf("worker topic has %d messages after a repeated publication", n)
		}
	}
	// Different keys: nothing changes, the incident is an event.
	other2 := newContractKeys(t)
	beforeMismatch := Contract(s, id)
	e.mustEgress(gk, TopicKeys, enc(t, other2.publication(id, 1)))
	e.lastEvent("contract_key_mismatch")
	if !bytes.Equal(Contract(s, id).GetHpkePublicKey(), beforeMismatch.GetHpkePublicKey()) {
		t.Fatal("mismatching keys replaced the published ones")
	}

	// Commands.
	cmd := &contractsv1.MsgPushCommand{ContractId: id[:], Envelope: sealed}
	if err := e.exec(e.bob, cmd); err != nil {
		t.Fatal(err)
	}
	ev = e.lastEvent("contract_command")
	if attr(ev, "contract") != types.HexID(id[:]) || attr(ev, "sequence") != "1" {
		t.Fatalf("event %v", ev)
	}
	e.message(mq.ContractTopic(id), 1, Name, &cm)
	if c := cm.GetCommand(); !bytes.Equal(c.GetSender(), e.bob[:]) || !bytes.Equal(c.GetEnvelope(), sealed) {
		t.Fatalf("command %v", &cm)
	}
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(sealed)) }
	otherKeyEnv, err := envelope.SealCommand(other2.hpke.PublicKey(), envelope.Call{ContractID: id, Nonce: 1, Method: "m"}, signer)
	if err != nil {
		t.Fatal(err)
	}
	badCmds := []struct {
		name string
		id   []byte
		env  []byte
		want types.Code
	}{
		{"unknown contract", unknownID[:], sealed, CodeContractNotFound},
		{"short id", id[:3], sealed, types.CodeInvalidRequest},
		{"too large", id[:], append(bytes.Clone(sealed), make([]byte, DefaultMaxEnvelopeBytes)...), CodeEnvelopeTooLarge},
		{"empty", id[:], nil, CodeInvalidEnvelope},
		{"bad version", id[:], mutate(func(b []byte) []byte { b[0] = 2; return b }), CodeInvalidEnvelope},
		{"query kind", id[:], mutate(func(b []byte) []byte { b[1] = byte(envelope.KindQuery); return b }), CodeWrongEnvelopeKind},
		{"response kind", id[:], mutate(func(b []byte) []byte { b[1] = byte(envelope.KindResponse); return b }), CodeWrongEnvelopeKind},
		{"unknown suite", id[:], mutate(func(b []byte) []byte { b[3] = 0x20; return b }), CodeUnknownEnvelopeSuite},
		{"truncated", id[:], sealed[:100], CodeInvalidEnvelope},
		{"sealed to another key", id[:], otherKeyEnv, CodeWrongContractKey},
	}
	for _, c := range badCmds {
		e.mustFail(c.name, e.bob, &contractsv1.MsgPushCommand{ContractId: c.id, Envelope: c.env}, c.want)
	}

	// Deposits move real balances and log a chain call.
	bobBefore := e.bank.Get(s, e.bob).Free
	amount := types.MustParseAmount("5000000000000")
	if err := e.exec(e.bob, &contractsv1.MsgDeposit{ContractId: id[:], Amount: "5000000000000"}); err != nil {
		t.Fatal(err)
	}
	if got := e.bank.Get(s, acct).Free; got != amount {
		t.Fatalf("contract balance %s", got)
	}
	if d, _ := bobBefore.Sub(e.bank.Get(s, e.bob).Free); d != amount {
		t.Fatalf("bob paid %s", d)
	}
	ev = e.lastEvent("contract_deposit")
	if attr(ev, "sequence") != "2" || attr(ev, "amount") != "5000000000000" {
		t.Fatalf("event %v", ev)
	}
	e.message(mq.ContractTopic(id), 2, Name, &cm)
	if c := cm.GetChainCall(); c.GetMethod() != "deposit" || string(c.GetArgs()) != `{"amount":5000000000000}` || !bytes.Equal(c.GetCaller(), e.bob[:]) {
		t.Fatalf("chain call %v", &cm)
	}
	for _, c := range []struct {
		name, amount string
		want         types.Code
	}{
		{"zero", "0", types.CodeInvalidAmount},
		{"not a number", "lots", types.CodeInvalidAmount},
		{"above u64", "18446744073709551616", types.CodeInvalidAmount},
		{"more than bob has", "18446744073709551615", types.CodeInsufficientFunds},
	} {
		e.mustFail("deposit "+c.name, e.bob, &contractsv1.MsgDeposit{ContractId: id[:], Amount: c.amount}, c.want)
	}
	e.mustFail("deposit to unknown contract", e.bob, &contractsv1.MsgDeposit{ContractId: unknownID[:], Amount: "1"}, CodeContractNotFound)

	// State reports: first root kept, same root no-op, different root disputed.
	wa, wb := ce.byID(rec.GetWorkers()[0]), ce.byID(rec.GetWorkers()[1])
	root := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	report := func(seq uint64, r []byte) []byte {
		return enc(t, &contractsv1.StateReport{ContractId: id[:], Sequence: seq, StateRoot: r})
	}
	e.refused("unassigned reporter", other, TopicState, report(1, root(1)), "worker_not_assigned")
	e.refused("future sequence", wa, TopicState, report(3, root(1)), "contract_sequence_unknown")
	e.refused("short root", wa, TopicState, report(1, root(1)[:31]), "invalid_request")
	e.mustEgress(wa, TopicState, report(1, root(1)))
	e.mustEgress(wb, TopicState, report(1, root(1)))
	n := len(e.events)
	e.mustEgress(wb, TopicState, report(2, root(2)))
	e.mustEgress(wa, TopicState, report(2, root(3)))
	for _, ev := range e.events[n:] {
		if ev.Type == "contract_state_discrepancy" {
			if attr(ev, "sequence") != "2" || attr(ev, "state_root") != types.HexID(root(2)) || attr(ev, "other_state_root") != types.HexID(root(3)) {
				t.Fatalf("event %v", ev)
			}
			n = -1
		}
	}
	if n != -1 {
		t.Fatal("no discrepancy event")
	}
	var roots struct {
		Roots []RootView `json:"roots"`
	}
	queryInto(t, e, "roots", QueryArgs{ID: types.HexID(id[:])}, &roots)
	if len(roots.Roots) != 2 || roots.Roots[0].Disputed || !roots.Roots[1].Disputed || roots.Roots[1].StateRoot != types.HexID(root(2)) {
		t.Fatalf("roots %+v", roots)
	}

	// Contract egress: paid once across two replicas.
	signed := func(seq uint64, k ed25519.PrivateKey, tr ...*contractsv1.Transfer) []byte {
		body := enc(t, &contractsv1.ContractEgress{ContractId: id[:], Sequence: seq, Transfers: tr})
		return enc(t, &contractsv1.SignedContractEgress{Body: body, Signature: ed25519.Sign(k, EgressSigningBytes(body))})
	}
	pay := &contractsv1.Transfer{To: e.ferdie[:], Amount: "2000000000000"}
	ferdieBefore := e.bank.Get(s, e.ferdie).Free
	e.refused("bad signature", wa, TopicEgress, signed(1, other2.sign, pay), "contract_egress_signature")
	e.refused("unassigned sender", other, TopicEgress, signed(1, keys.sign, pay), "worker_not_assigned")
	e.refused("insufficient funds", wa, TopicEgress, signed(1, keys.sign, &contractsv1.Transfer{To: e.ferdie[:], Amount: "6000000000000"}), "insufficient_funds")
	e.refused("future sequence", wa, TopicEgress, signed(3, keys.sign, pay), "contract_sequence_unknown")
	e.mustEgress(wa, TopicEgress, signed(1, keys.sign, pay))
	e.refused("second replica", wb, TopicEgress, signed(1, keys.sign, pay), "contract_egress_duplicate")
	e.refused("older sequence", wb, TopicEgress, signed(0, keys.sign), "contract_egress_duplicate")
	got, _ := e.bank.Get(s, e.ferdie).Free.Sub(ferdieBefore)
	if got != types.MustParseAmount("2000000000000") {
		t.Fatalf("ferdie received %s", got)
	}
	if r := Contract(s, id); !r.GetHasEgress() || r.GetEgressAfter() != 1 {
		t.Fatalf("egress cursor %v", r)
	}
	e.lastEvent("contract_transfer")
	// A later sequence whose transfers all work: the contract may keep dust.
	e.mustEgress(wb, TopicEgress, signed(2, keys.sign, &contractsv1.Transfer{To: e.ferdie[:], Amount: "2999999999999"}))
	if b := e.bank.Get(s, acct).Free; b != types.NewAmount(1) {
		t.Fatalf("contract keeps %s", b)
	}

	// Queries.
	var v ContractView
	queryInto(t, e, "contract", QueryArgs{ID: types.HexID(id[:])}, &v)
	if v.ID != types.HexID(id[:]) || v.Account != e.ctx.Address(acct) || !v.KeysPublished || v.NextSequence != 3 || len(v.Workers) != 2 ||
		v.SigningPublicKey != types.HexID(keys.sign.Public().(ed25519.PublicKey)) || !bytes.Equal(v.HPKEPublicKey, keys.hpke.PublicKey().Bytes()) ||
		v.Deployer != e.ctx.Address(e.bob) || len(v.History) != 1 || v.EgressAfter != 2 {
		t.Fatalf("view %+v", v)
	}
	var cv CodeView
	queryInto(t, e, "code", QueryArgs{Hash: fmt.Sprintf("%x", ce.code)}, &cv)
	if cv.Size != uint64(len(testWasm("", true))) {
		t.Fatalf("code view %+v", cv)
	}
	if _, err := e.c.Query(e.ctx, "contract", []byte(`{"id":"00"}`)); types.CodeOf(err) != types.CodeInvalidRequest {
		t.Fatalf("bad id: %v", err)
	}
	if _, err := e.c.Query(e.ctx, "contract", []byte(fmt.Sprintf(`{"id":"%x"}`, unknownID))); types.CodeOf(err) != types.CodeNotFound {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestContractsQueryPagination(t *testing.T) {
	ce := newContractEnv(t, 1000)
	e := ce.env
	var ids []string
	for i := range 5 {
		if err := e.exec(e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:], Salt: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
		id := ContractID(e.bob, ce.code, []byte{byte(i)})
		ids = append(ids, types.HexID(id[:]))
	}
	var got []string
	after := ""
	for {
		var page struct {
			Contracts []ContractView `json:"contracts"`
			Next      string         `json:"next"`
		}
		queryInto(t, e, "contracts", QueryArgs{After: after, Limit: 2}, &page)
		for _, c := range page.Contracts {
			got = append(got, c.ID)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(got) != 5 {
		t.Fatalf("pages returned %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Fatalf("not sorted: %v", got)
		}
	}
}

func TestReassign(t *testing.T) {
	const validity = 100
	ce := newContractEnv(t, validity)
	e := ce.env
	s := e.ctx.Store
	if err := e.exec(e.bob, &contractsv1.MsgInstantiate{CodeHash: ce.code[:], Replicas: 2}); err != nil {
		t.Fatal(err)
	}
	id := ContractID(e.bob, ce.code, nil)
	rec := Contract(s, id)
	e.mustFail("nothing to change", e.bob, &contractsv1.MsgReassign{ContractId: id[:]}, CodeAssignmentUnchanged)
	e.mustFail("not the deployer", e.ferdie, &contractsv1.MsgReassign{ContractId: id[:]}, types.CodeUnauthorized)
	e.mustFail("unknown contract", e.bob, &contractsv1.MsgReassign{ContractId: make([]byte, 32)}, CodeContractNotFound)

	// Deliver the key to both, then let an assigned worker other than the
	// gatekeeper expire.
	keys := newContractKeys(t)
	gk := ce.w[0]
	gkID := gk.id()
	e.mustEgress(gk, TopicKeys, enc(t, keys.publication(id, 1, rec.GetWorkers()...)))
	gone, kept := rec.GetWorkers()[0], rec.GetWorkers()[1]
	if bytes.Equal(gone, gkID[:]) {
		gone, kept = kept, gone
	}
	e.advance(50)
	for _, w := range ce.w {
		if wid := w.id(); !bytes.Equal(wid[:], gone) {
			e.registerWorker(w)
		}
	}
	e.advance(validity + 1)
	var newcomer []byte
	for _, w := range compute.Eligible(s, e.ctx.Height) {
		if !isAssigned(rec, w.Identity) {
			newcomer = w.Identity
		}
	}
	if newcomer == nil {
		t.Fatal("test set-up: no free worker")
	}
	gkBefore := mq.NextSequence(s, mq.TopicGatekeeper)
	// Sudo may reassign any contract.
	if err := e.exec(e.alice, &contractsv1.MsgReassign{ContractId: id[:]}); err != nil {
		t.Fatal(err)
	}
	rec2 := Contract(s, id)
	if len(rec2.GetWorkers()) != 2 || !bytes.Equal(rec2.GetWorkers()[0], kept) || !bytes.Equal(rec2.GetWorkers()[1], newcomer) ||
		len(rec2.GetHistory()) != 2 || rec2.GetHistory()[1].GetReason() != ReasonReassigned || rec2.GetHistory()[1].GetHeight() != e.ctx.Height {
		t.Fatalf("reassigned record %v", rec2)
	}
	var wm contractsv1.WorkerMessage
	e.message(mq.WorkerTopic([32]byte(gone)), 1, Name, &wm)
	if !bytes.Equal(wm.GetContractUnassigned().GetContractId(), id[:]) {
		t.Fatalf("unassigned message %v", &wm)
	}
	var gm contractsv1.GatekeeperMessage
	e.message(mq.TopicGatekeeper, gkBefore, Name, &gm)
	if r := gm.GetContractKeyRequest(); len(r.GetWorkers()) != 1 || !bytes.Equal(r.GetWorkers()[0].GetIdentity(), newcomer) || r.GetEpoch() != 1 {
		t.Fatalf("key request %v", r)
	}
	// The gatekeeper's answer reaches the newcomer only: the kept worker
	// has the key already, the removed one is no longer assigned.
	keptBefore := mq.NextSequence(s, mq.WorkerTopic([32]byte(kept)))
	goneBefore := mq.NextSequence(s, mq.WorkerTopic([32]byte(gone)))
	e.mustEgress(gk, TopicKeys, enc(t, keys.publication(id, 1, kept, newcomer, gone)))
	if mq.NextSequence(s, mq.WorkerTopic([32]byte(kept))) != keptBefore || mq.NextSequence(s, mq.WorkerTopic([32]byte(gone))) != goneBefore {
		t.Fatal("key delivered twice or to a removed worker")
	}
	e.message(mq.WorkerTopic([32]byte(newcomer)), mq.NextSequence(s, mq.WorkerTopic([32]byte(newcomer)))-1, Name, &wm)
	if !bytes.Equal(wm.GetContractKey().GetContractId(), id[:]) {
		t.Fatalf("newcomer got %v", &wm)
	}
	e.mustFail("unchanged again", e.bob, &contractsv1.MsgReassign{ContractId: id[:]}, CodeAssignmentUnchanged)
}

func queryInto(t *testing.T, e *env, path string, args QueryArgs, into any) {
	t.Helper()
	raw, _ := json.Marshal(args)
	v, err := e.c.Query(e.ctx, path, raw)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	if err := json.Unmarshal(b, into); err != nil {
		t.Fatal(err)
	}
}

func keysFromURI(uri string) (keys.Signer, error) { return keys.FromURI(uri, keys.SchemeSr25519) }
