package queue_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/devnet"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	"github.com/veil-network/veil/worker/lightclient"
	"github.com/veil-network/veil/worker/queue"
)

func lightBlock(t *testing.T, lc *local.Local, h int64) *cmttypes.LightBlock {
	t.Helper()
	ctx := context.Background()
	c, err := lc.Commit(ctx, &h)
	if err != nil {
		t.Fatal(err)
	}
	page, per := 1, 100
	v, err := lc.Validators(ctx, &h, &page, &per)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := cmttypes.ValidatorSetFromExistingValidators(v.Validators)
	if err != nil {
		t.Fatal(err)
	}
	return &cmttypes.LightBlock{SignedHeader: &c.SignedHeader, ValidatorSet: vals}
}

// TestInboxDeliversOnlyProvenInOrder: messages pushed on chain reach the
// inbox only with valid proofs, exactly once, in sequence; every kind of
// relayer misbehaviour is refused without effect.
func TestInboxDeliversOnlyProvenInOrder(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	n, err := devnet.Start(ctx, devnet.Options{Home: t.TempDir(), Reset: true, Logger: slog.New(slog.DiscardHandler), BlockTime: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	c := n.Client()
	alice, _ := keys.FromURI("//Alice", keys.SchemeSr25519)
	const topic = "app/ab"
	for i := 0; i < 3; i++ {
		if _, err := c.Send(ctx, alice, []proto.Message{&mqv1.MsgPushMessage{Topic: topic, Payload: []byte{byte('a' + i)}}}, client.TxOptions{Wait: true}); err != nil {
			t.Fatal(err)
		}
	}
	other := "app/cd"
	if _, err := c.Send(ctx, alice, []proto.Message{&mqv1.MsgPushMessage{Topic: other, Payload: []byte("x")}}, client.TxOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}

	// Follow the chain with a light client up to the head.
	st, _ := c.Status(ctx)
	head := st.GetLatestHeight()
	if err := c.WaitHeight(ctx, head+1); err != nil {
		t.Fatal(err)
	}
	lcl := local.New(n.Nodes[0].Comet)
	first := lightBlock(t, lcl, 1)
	lc, _ := lightclient.New(lightclient.TrustRoot{ChainID: n.Info.ChainID, InitialHeight: 1, Validators: first.ValidatorSet}, lightclient.Options{})
	for h := int64(1); h <= head+1; h++ {
		if err := lc.Update(lightBlock(t, lcl, h)); err != nil {
			t.Fatalf("light block %d: %v", h, err)
		}
	}
	version := head // state after block `head`, committed by header head+1
	tree := n.Nodes[0].App.Tree()
	proven := func(tp string, seq uint64, v int64) ([]byte, *mqv1.Message, error) {
		p, err := tree.GetProven(mq.MessageKey(tp, seq), v, true)
		if err != nil {
			return nil, nil, err
		}
		var m mqv1.Message
		proto.Unmarshal(p.Value, &m)
		return p.Value, &m, nil
	}
	in := queue.NewInbox(lc)
	if err := in.Subscribe(topic, 0); err != nil {
		t.Fatal(err)
	}

	raw0, _, _ := proven(topic, 0, version)
	raw1, _, _ := proven(topic, 1, version)
	p0, _ := tree.GetProven(mq.MessageKey(topic, 0), version, true)
	p1, _ := tree.GetProven(mq.MessageKey(topic, 1), version, true)
	pOther, _ := tree.GetProven(mq.MessageKey(other, 0), version, true)

	// Skipped sequence.
	if err := in.Deliver(version, topic, 1, raw1, p1.Proof); !errors.Is(err, queue.ErrNotNext) {
		t.Fatalf("skip: %v", err)
	}
	// A bad proof: message 1's proof for message 0's bytes.
	if err := in.Deliver(version, topic, 0, raw0, p1.Proof); !errors.Is(err, queue.ErrNotProven) {
		t.Fatalf("proof for another key: %v", err)
	}
	// Another topic's message passed off as this topic's.
	rawOther, _, _ := proven(other, 0, version)
	if err := in.Deliver(version, topic, 0, rawOther, pOther.Proof); !errors.Is(err, queue.ErrNotProven) {
		t.Fatalf("other topic's message: %v", err)
	}
	// Forged bytes.
	forged := append([]byte{}, raw0...)
	forged[len(forged)-1] ^= 1
	if err := in.Deliver(version, topic, 0, forged, p0.Proof); !errors.Is(err, queue.ErrNotProven) {
		t.Fatalf("forged message: %v", err)
	}
	// A proof for another height (the root of version-1 does not match).
	if err := in.Deliver(version-1, topic, 0, raw0, p0.Proof); !errors.Is(err, queue.ErrNotProven) {
		t.Fatalf("proof for another height: %v", err)
	}
	// A height the light client has not verified.
	if err := in.Deliver(version+50, topic, 0, raw0, p0.Proof); !errors.Is(err, queue.ErrNotProven) {
		t.Fatalf("unverified height: %v", err)
	}
	if got := in.Take(); len(got) != 0 {
		t.Fatalf("refused deliveries produced %d messages", len(got))
	}

	// In order: accepted exactly once.
	for seq := uint64(0); seq < 3; seq++ {
		raw, _, err := proven(topic, seq, version)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := tree.GetProven(mq.MessageKey(topic, seq), version, true)
		if err := in.Deliver(version, topic, seq, raw, p.Proof); err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
	}
	// Replay and reorder.
	if err := in.Deliver(version, topic, 1, raw1, p1.Proof); !errors.Is(err, queue.ErrNotNext) {
		t.Fatalf("replay: %v", err)
	}
	msgs := in.Take()
	if len(msgs) != 3 || string(msgs[0].GetPayload()) != "a" || string(msgs[2].GetPayload()) != "c" {
		t.Fatalf("delivered %v", msgs)
	}
	if next, _ := in.Next(topic); next != 3 {
		t.Fatalf("next %d", next)
	}
}

func TestOutboxSignsGaplessEgress(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	o := queue.NewOutbox(key, 5)
	for i := 0; i < 3; i++ {
		if seq, err := o.Send("system", []byte{byte(i)}); err != nil || seq != uint64(5+i) {
			t.Fatalf("send %d: %d %v", i, seq, err)
		}
	}
	if _, err := o.Send("Bad Topic", nil); err == nil {
		t.Fatal("invalid topic accepted")
	}
	all := o.From(0)
	if len(all) != 3 {
		t.Fatalf("from 0: %d", len(all))
	}
	for i, m := range all {
		em, sender, err := mq.DecodeEgress(m.GetMessage(), m.GetSignature())
		if err != nil || em.GetSequence() != uint64(5+i) || sender != [32]byte(key.Public().(ed25519.PublicKey)) {
			t.Fatalf("egress %d: %v", i, err)
		}
	}
	o.Ack(7)
	if rest := o.From(0); len(rest) != 1 {
		t.Fatalf("after ack: %d", len(rest))
	}
	if o.From(8) != nil {
		t.Fatal("beyond the end")
	}
}
