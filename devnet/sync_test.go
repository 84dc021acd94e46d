package devnet_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/devnet"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
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
	n := startWith(t, devnet.Options{Reset: true, BlockTime: 150 * time.Millisecond, Workers: 1})
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
	_ = registry.TopicSynced
	_ = fmt.Sprint
}
