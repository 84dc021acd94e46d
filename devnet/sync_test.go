package devnet_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"connectrpc.com/connect"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/devnet"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/worker"
)

func topicPos(info *workerv1.InfoResponse, topic string) uint64 {
	for _, tp := range info.GetSync().GetTopics() {
		if tp.GetTopic() == topic {
			return tp.GetNextSequence()
		}
	}
	return 0
}

// pingEvent scans blocks from `from` for the worker_synced event that
// answers the ping at sequence seq; it returns the block height (0 if not
// found up to the head).
func pingEvent(t *testing.T, c *client.Client, from int64, identity []byte, seq uint64) int64 {
	t.Helper()
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := "0x" + hex.EncodeToString(identity)
	for h := from; h <= st.GetLatestHeight(); h++ {
		b, err := c.Block(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		for _, tx := range b.GetBlock().GetTxs() {
			for _, ev := range tx.GetEvents() {
				if ev.GetType() != "worker_synced" {
					continue
				}
				attrs := map[string]string{}
				for _, a := range ev.GetAttributes() {
					attrs[a.GetKey()] = a.GetValue()
				}
				if attrs["worker"] == want && attrs["ping_sequence"] == strconv.FormatUint(seq, 10) {
					return h
				}
			}
		}
	}
	return 0
}

// TestWorkerFollowsChainAndAnswersPing: a dev network's worker is kept in
// sync by its relayer (trust root, light blocks, proven messages), a ping
// pushed to its topic is processed only once proven and answered with an
// egress sync report that the chain accepts from the registered worker,
// and the registry shows the synced height.
func TestWorkerFollowsChainAndAnswersPing(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	n := startWith(t, devnet.Options{Reset: true, BlockTime: 150 * time.Millisecond, Workers: 1, NoCompute: true})
	defer n.Stop()
	c := n.Client()
	w := n.Workers[0]
	id := w.Identity()
	waitFor(t, 30*time.Second, "worker registered and synced", func() bool {
		st, err := c.Status(context.Background())
		info := w.Info()
		return err == nil && workerRecord(t, c, id) != nil && info.GetSyncedHeight() >= st.GetLatestHeight()-2 && info.GetSyncedHeight() > 3
	})
	info := w.Info()
	if !info.GetSync().GetTrustRootInitialised() || info.GetSync().GetTrustRoot().GetChainId() != n.Info.ChainID || len(info.GetSync().GetVerifiedAppHash()) != 32 {
		t.Fatalf("sync status %v", info.GetSync())
	}

	alice, _ := keys.FromURI("//Alice", keys.SchemeSr25519)
	topic := mq.WorkerTopic([32]byte(id))
	ping, _ := json.Marshal(worker.Command{Op: worker.OpPing})
	res, err := c.Send(context.Background(), alice, []proto.Message{
		&mqv1.MsgPushMessage{Topic: topic, Payload: []byte("not a command")},
		&mqv1.MsgPushMessage{Topic: topic, Payload: ping},
	}, client.TxOptions{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	took := waitFor(t, 20*time.Second, "ping processed and answered on chain", func() bool {
		return topicPos(w.Info(), topic) == 2 && pingEvent(t, c, res.GetHeight(), id, 1) > 0
	})
	t.Logf("ping committed at %d, answered on chain %v later", res.GetHeight(), took)
	rec := workerRecord(t, c, id)
	if rec.SyncedHeight <= 0 || rec.SyncReportedAt <= res.GetHeight() {
		t.Fatalf("registry sync record %+v", rec)
	}
	info = w.Info()
	if s := info.GetSync(); s.GetMessagesProcessed() != 2 || s.GetLastRefusal() != "" {
		t.Fatalf("sync status after ping: %v", s)
	}
	// The relayer proves the chain's egress sequence back to the worker,
	// which then holds no pending egress.
	waitFor(t, 10*time.Second, "egress acknowledged", func() bool {
		s := w.Info().GetSync()
		return s.GetEgressPending() == 0 && s.GetEgressAcknowledged() == s.GetEgressNextSequence() && s.GetEgressNextSequence() >= 1
	})
	if s := n.Relayers[0].Status(); s.HeadersRelayed == 0 || s.MessagesRelayed != 2 || s.EgressSubmitted == 0 {
		t.Fatalf("relayer status %+v", s)
	}
	var q struct {
		NextSequence uint64 `json:"next_sequence"`
	}
	if _, err := c.QueryModule(context.Background(), mq.Name, "egress", map[string]string{"sender": hex.EncodeToString(id)}, &q); err != nil || q.NextSequence < 1 {
		t.Fatalf("chain egress sequence %d %v", q.NextSequence, err)
	}
}

// pushTo commits count messages to topic from //Alice.
func pushTo(t *testing.T, c *client.Client, topic string, count int) int64 {
	t.Helper()
	alice := mustSigner(t, "//Alice")
	msgs := make([]proto.Message, count)
	for i := range msgs {
		msgs[i] = &mqv1.MsgPushMessage{Topic: topic, Payload: []byte(fmt.Sprintf("m%d", i))}
	}
	res, err := c.Send(context.Background(), alice, msgs, client.TxOptions{Wait: true})
	if err != nil {
		t.Fatal(err)
	}
	return res.GetHeight()
}

// caughtUp waits until the worker verified the chain's head (within 2
// blocks) and processed every message of topic up to want.
func caughtUp(t *testing.T, n *devnet.Network, what string, topic string, want uint64) {
	t.Helper()
	c := n.Client()
	waitFor(t, 30*time.Second, what, func() bool {
		st, err := c.Status(context.Background())
		info := n.Workers[0].Info()
		return err == nil && info.GetSyncedHeight() >= st.GetLatestHeight()-2 && topicPos(info, topic) >= want
	})
}

// TestWorkerSyncSurvivesRestarts: restarting the relayer, the worker (from
// its sealed checkpoint, without re-verifying the chain from genesis) or
// the node keeps the worker in sync and its messages processed exactly
// once; so does restarting the whole network.
func TestWorkerSyncSurvivesRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	home := t.TempDir()
	n := startWith(t, devnet.Options{Home: home, Reset: true, BlockTime: 150 * time.Millisecond, Workers: 1, NoCompute: true})
	defer func() { n.Stop() }()
	c := n.Client()
	id := [32]byte(n.Workers[0].Identity())
	topic := mq.WorkerTopic(id)
	if err := c.WaitHeight(context.Background(), 25); err != nil {
		t.Fatal(err)
	}
	pushTo(t, c, topic, 3)
	caughtUp(t, n, "initial sync", topic, 3)

	// Relayer restart: the new relayer resumes from what the worker says.
	if err := n.RestartRelayer(0); err != nil {
		t.Fatal(err)
	}
	pushTo(t, c, topic, 2)
	caughtUp(t, n, "after a relayer restart", topic, 5)

	// Worker restart: it restores its checkpoint and is fed only the
	// blocks it missed.
	before := n.Workers[0].Info()
	if err := n.RestartWorker(0); err != nil {
		t.Fatal(err)
	}
	restored := n.Workers[0].Info()
	if restored.GetSyncedHeight() < before.GetSyncedHeight() || topicPos(restored, topic) != 5 ||
		restored.GetSync().GetHeadersVerified() < before.GetSync().GetHeadersVerified() {
		t.Fatalf("restored sync state %v, before %v", restored.GetSync(), before.GetSync())
	}
	pushTo(t, c, topic, 2)
	caughtUp(t, n, "after a worker restart", topic, 7)
	st, _ := c.Status(context.Background())
	if relayed := n.Relayers[0].Status().HeadersRelayed; relayed > st.GetLatestHeight()-before.GetSyncedHeight() {
		t.Fatalf("the restarted worker was fed %d headers, but only %d blocks came after its checkpoint at %d", relayed,
			st.GetLatestHeight()-before.GetSyncedHeight(), before.GetSyncedHeight())
	}

	// Node restart under a running worker and relayer.
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := n.RestartNode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	pushTo(t, c, topic, 2)
	caughtUp(t, n, "after a node restart", topic, 9)

	// The whole network, stopped and started again from its homes.
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n = startWith(t, devnet.Options{Home: home, BlockTime: 150 * time.Millisecond, Workers: 1, NoCompute: true})
	c = n.Client()
	pushTo(t, c, topic, 1)
	caughtUp(t, n, "after a network restart", topic, 10)
	info := n.Workers[0].Info()
	if s := info.GetSync(); s.GetMessagesProcessed() != 10 || s.GetLastRefusal() != "" || s.GetConflict() != nil {
		t.Fatalf("messages processed exactly once: %v", s)
	}
	rec := workerRecord(t, c, id[:])
	if rec == nil || rec.SyncedHeight == 0 {
		t.Fatalf("the worker's periodic sync reports did not reach the registry: %+v", rec)
	}
}

// validatorsHash is the validator-set hash in the header at height h.
func validatorsHash(t *testing.T, c *client.Client, h int64) []byte {
	t.Helper()
	res, err := c.Node.GetLightBlocks(context.Background(), connect.NewRequest(&nodev1.GetLightBlocksRequest{FromHeight: h, Count: 1}))
	if err != nil || len(res.Msg.GetLightBlocks()) != 1 {
		t.Fatalf("light block %d: %v", h, err)
	}
	var lb cmtproto.LightBlock
	if err := lb.Unmarshal(res.Msg.GetLightBlocks()[0]); err != nil {
		t.Fatal(err)
	}
	return lb.SignedHeader.Header.ValidatorsHash
}

// TestWorkerFollowsValidatorSetChange: an NPoS era that changes the
// validator set (a nomination raises one validator's power) hands over to
// the new set in a header the old set signs; the worker's light client
// follows it without a refusal.
func TestWorkerFollowsValidatorSetChange(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	n := startWith(t, devnet.Options{Reset: true, Validators: 2, BlockTime: 150 * time.Millisecond, Workers: 1, NoCompute: true,
		EditGenesis: func(st app.GenesisState) error {
			var g staking.Genesis
			if err := json.Unmarshal(st[staking.Name], &g); err != nil {
				return err
			}
			g.Params.EraLength = 5
			g.Params.Slashing.DowntimeWindow = 0
			b, err := json.Marshal(g)
			st[staking.Name] = b
			return err
		}})
	defer n.Stop()
	c := n.Client()
	ctx := context.Background()
	caughtUp(t, n, "initial sync", mq.TopicSystem, 0)
	st, _ := c.Status(ctx)
	initial := validatorsHash(t, c, st.GetLatestHeight())
	bobStash, err := devnet.ValidatorStash(1)
	if err != nil {
		t.Fatal(err)
	}
	stake, _ := types.NewAmount(1_000_000_000_000).Mul64(500_000)
	if _, err := c.Send(ctx, mustSigner(t, "//Eve"), []proto.Message{
		&stakingv1.MsgBond{Value: stake.String(), Payee: &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_STASH}},
		&stakingv1.MsgNominate{Targets: [][]byte{bobStash[:]}},
	}, client.TxOptions{Wait: true}); err != nil {
		t.Fatal(err)
	}
	var changed int64
	waitFor(t, 60*time.Second, "a validator-set change", func() bool {
		st, err := c.Status(ctx)
		if err != nil {
			return false
		}
		if h := st.GetLatestHeight(); !bytes.Equal(validatorsHash(t, c, h), initial) {
			changed = h
			return true
		}
		return false
	})
	waitFor(t, 30*time.Second, "sync across the change", func() bool { return n.Workers[0].Info().GetSyncedHeight() > changed+2 })
	info := n.Workers[0].Info()
	if info.GetSyncedHeight() <= changed || info.GetSync().GetLastRefusal() != "" {
		t.Fatalf("worker at %d (set changed at %d): %v", info.GetSyncedHeight(), changed, info.GetSync())
	}
	t.Logf("validator set changed at height %d; worker verified up to %d", changed, info.GetSyncedHeight())
}

// TestLightClientAPI: the node's light-client endpoints return consecutive
// verifiable light blocks (capped), refuse bad arguments, and serve proven
// messages one proof each or as one batch, at a given or the latest state.
func TestLightClientAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	n := startWith(t, devnet.Options{Reset: true, BlockTime: 100 * time.Millisecond})
	defer n.Stop()
	c := n.Client()
	ctx := context.Background()
	st, err := c.Status(ctx)
	if err != nil || st.GetInitialHeight() != 1 {
		t.Fatalf("status initial height %d: %v", st.GetInitialHeight(), err)
	}
	h := pushTo(t, c, "app/ab", 5)
	if err := c.WaitHeight(ctx, h+1); err != nil {
		t.Fatal(err)
	}
	res, err := c.Node.GetLightBlocks(ctx, connect.NewRequest(&nodev1.GetLightBlocksRequest{FromHeight: 1, Count: 10_000}))
	if err != nil {
		t.Fatal(err)
	}
	got := res.Msg.GetLightBlocks()
	if int64(len(got)) != min(res.Msg.GetLatestHeight(), 500) {
		t.Fatalf("%d light blocks up to head %d", len(got), res.Msg.GetLatestHeight())
	}
	for i, b := range got {
		var lb cmtproto.LightBlock
		if err := lb.Unmarshal(b); err != nil || lb.SignedHeader.Header.Height != int64(i+1) || lb.ValidatorSet == nil {
			t.Fatalf("light block %d: %v", i+1, err)
		}
	}
	if res, err := c.Node.GetLightBlocks(ctx, connect.NewRequest(&nodev1.GetLightBlocksRequest{FromHeight: 1_000_000, Count: 3})); err != nil || len(res.Msg.GetLightBlocks()) != 0 {
		t.Fatalf("beyond the head: %v %v", res, err)
	}
	if _, err := c.Node.GetLightBlocks(ctx, connect.NewRequest(&nodev1.GetLightBlocksRequest{FromHeight: 0})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("height 0: %v", err)
	}

	for _, batch := range []bool{false, true} {
		pm, err := c.Node.GetProvenMessages(ctx, connect.NewRequest(&nodev1.GetProvenMessagesRequest{Topic: "app/ab", FromSequence: 1, Limit: 3, Height: h, Batch: batch}))
		if err != nil {
			t.Fatal(err)
		}
		m := pm.Msg
		if m.GetHeight() != h || m.GetNextSequence() != 5 || len(m.GetMessages()) != 3 || m.GetMessages()[0].GetSequence() != 1 ||
			len(m.GetNextSequenceProof()) == 0 || (len(m.GetBatchProof()) > 0) != batch || (len(m.GetMessages()[0].GetProof()) > 0) == batch {
			t.Fatalf("batch=%v: %v", batch, m)
		}
	}
	latest, err := c.Node.GetProvenMessages(ctx, connect.NewRequest(&nodev1.GetProvenMessagesRequest{Topic: "contract/none"}))
	if err != nil || latest.Msg.GetNextSequence() != 0 || len(latest.Msg.GetMessages()) != 0 || len(latest.Msg.GetNextSequenceProof()) == 0 || latest.Msg.GetHeight() < h {
		t.Fatalf("empty topic at the latest state: %v %v", latest, err)
	}
	if _, err := c.Node.GetProvenMessages(ctx, connect.NewRequest(&nodev1.GetProvenMessagesRequest{Topic: "Bad Topic"})); connect.CodeOf(err) != connect.CodeInvalidArgument {
		t.Fatalf("bad topic: %v", err)
	}
	if _, err := c.Node.GetProvenMessages(ctx, connect.NewRequest(&nodev1.GetProvenMessagesRequest{Topic: "app/ab", Height: 1_000_000})); connect.CodeOf(err) != connect.CodeOutOfRange {
		t.Fatalf("future version: %v", err)
	}
}
