package relay

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/client"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	"github.com/veil-network/veil/gen/veil/node/v1/nodev1connect"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/worker"
)

// pagedNode serves topics of count messages of size bytes each, paged as
// the node pages them: at most the asked-for number and at most
// pageBytes per page, the first message always (proofs do not matter:
// the worker below does not check them).
type pagedNode struct {
	nodev1connect.UnimplementedNodeServiceHandler
	count, size, pageBytes int
}

func (n pagedNode) GetProvenMessages(_ context.Context, req *connect.Request[nodev1.GetProvenMessagesRequest]) (*connect.Response[nodev1.GetProvenMessagesResponse], error) {
	out := &nodev1.GetProvenMessagesResponse{Topic: req.Msg.GetTopic(), Height: req.Msg.GetHeight(), NextSequence: uint64(n.count)}
	used := 0
	for seq := req.Msg.GetFromSequence(); seq < uint64(n.count) && len(out.Messages) < int(req.Msg.GetLimit()); seq++ {
		if len(out.Messages) > 0 && used+n.size > n.pageBytes {
			break
		}
		used += n.size
		out.Messages = append(out.Messages, &nodev1.ProvenMessage{Sequence: seq, Message: bytes.Repeat([]byte{byte(seq)}, n.size)})
	}
	return connect.NewResponse(out), nil
}

// seqWorker accepts messages only at each topic's next sequence, in
// order, and refuses a call of more than worker.MaxMessagesPerCall
// messages outright, as the real worker does; it records each dispatch's
// size, number of topics and number of messages.
type seqWorker struct {
	workerv1connect.UnimplementedWorkerServiceHandler
	next     map[string]uint64
	sizes    []int
	topics   []int
	messages []int
}

func (w *seqWorker) DispatchMessages(_ context.Context, req *connect.Request[workerv1.DispatchMessagesRequest]) (*connect.Response[workerv1.DispatchMessagesResponse], error) {
	w.sizes = append(w.sizes, proto.Size(req.Msg))
	w.topics = append(w.topics, len(req.Msg.GetTopics()))
	n := 0
	for _, tm := range req.Msg.GetTopics() {
		n += len(tm.GetMessages())
	}
	w.messages = append(w.messages, n)
	if n > worker.MaxMessagesPerCall {
		return nil, connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%d messages, at most %d per call", n, worker.MaxMessagesPerCall))
	}
	res := &workerv1.DispatchMessagesResponse{}
	for _, tm := range req.Msg.GetTopics() {
		for _, m := range tm.GetMessages() {
			if m.GetSequence() != w.next[tm.GetTopic()] {
				res.RefusalReason, res.RefusedTopic, res.RefusedSequence = worker.ReasonSequence, tm.GetTopic(), m.GetSequence()
				res.Refusal = fmt.Sprintf("expected %d", w.next[tm.GetTopic()])
				return connect.NewResponse(res), nil
			}
			w.next[tm.GetTopic()]++
			res.Accepted++
		}
	}
	return connect.NewResponse(res), nil
}

// TestRelayPagesByBytes: topics whose messages the node sends in pages
// smaller than the asked-for count (its byte budget) reach the worker
// whole and in order, each page asked for from the sequence after the
// last one received; a dispatch holds as many topics as fit
// dispatchBytes, the others come first in the next one.
func TestRelayPagesByBytes(t *testing.T) {
	const (
		topics = 10
		count  = 100
		size   = 64 << 10
	)
	node := pagedNode{count: count, size: size, pageBytes: 2 << 20}
	wk := relayAll(t, node, topics)
	for i, s := range wk.sizes {
		if s > dispatchBytes+node.pageBytes+64<<10 {
			t.Fatalf("dispatch %d has %d bytes (%d topics)", i, s, wk.topics[i])
		}
	}
	if wk.topics[0] == topics {
		t.Fatalf("the first dispatch holds all %d topics: %v", topics, wk.topics)
	}
}

// TestRelayBoundsMessagesPerDispatch: many topics of small messages,
// each page full at the asked-for count, far below dispatchBytes: a
// dispatch holds at most worker.MaxMessagesPerCall messages (the worker
// refuses a larger call whole, which would stall the relayer for good),
// the last topic of a dispatch gets what is left of that, and the rest
// come in the next dispatch.
func TestRelayBoundsMessagesPerDispatch(t *testing.T) {
	const topics, count = 12, 1000
	wk := relayAll(t, pagedNode{count: count, size: 16, pageBytes: 2 << 20}, topics)
	for i, n := range wk.messages {
		if n > worker.MaxMessagesPerCall {
			t.Fatalf("dispatch %d holds %d messages", i, n)
		}
	}
	if wk.messages[0] != worker.MaxMessagesPerCall {
		t.Fatalf("dispatches hold %v messages: the first is not full", wk.messages)
	}
}

// relayAll relays topics ("contract/00", …) of node's count messages
// each to a seqWorker, in sync rounds as the sync loop runs them, and
// checks that every message arrives, in order. It returns the worker.
func relayAll(t *testing.T, node pagedNode, topics int) *seqWorker {
	t.Helper()
	nmux := http.NewServeMux()
	nmux.Handle(nodev1connect.NewNodeServiceHandler(node))
	nsrv := httptest.NewServer(nmux)
	t.Cleanup(nsrv.Close)
	wk := &seqWorker{next: map[string]uint64{}}
	wmux := http.NewServeMux()
	wmux.Handle(workerv1connect.NewWorkerServiceHandler(wk))
	wsrv := httptest.NewServer(wmux)
	t.Cleanup(wsrv.Close)
	r, err := New(Config{WorkerURL: wsrv.URL, Node: client.New(nsrv.URL), Operator: devSigner(t, "//Alice"), MessageBatch: 1000,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ss := &workerv1.SyncStatus{}
	for i := range topics {
		ss.Topics = append(ss.Topics, &workerv1.TopicPosition{Topic: fmt.Sprintf("contract/%02d", i), ChainNextSequence: uint64(node.count), ChainVersion: 4})
	}
	total := 0
	for range 10 { // rounds, as the sync loop runs them
		n, err := r.relayMessages(context.Background(), make([]byte, 32), ss, 5, 1)
		if err != nil {
			t.Fatal(err)
		}
		total += n
		for _, tp := range ss.Topics {
			tp.NextSequence = wk.next[tp.GetTopic()]
		}
		if n == 0 || total == topics*node.count {
			break
		}
	}
	if total != topics*node.count {
		t.Fatalf("%d messages accepted, want %d", total, topics*node.count)
	}
	for _, tp := range ss.Topics {
		if wk.next[tp.GetTopic()] != uint64(node.count) {
			t.Fatalf("topic %s at %d, want %d", tp.GetTopic(), wk.next[tp.GetTopic()], node.count)
		}
	}
	return wk
}

// TestRelaySyncsTopicBeyondOnePage: a real node, a simulated worker and
// the relayer: the worker's topic holds 50 messages of 60 KiB, about
// 6 MiB with their proofs (each proof holds the value it proves), three
// times what the node sends in one page; the worker, which checks every
// proof and takes messages only in order, ends up with all of them.
func TestRelaySyncsTopicBeyondOnePage(t *testing.T) {
	c := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	w, err := worker.New(ctx, worker.Config{Home: t.TempDir(), TEE: attest.KindSimulated, Listen: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// The relayer's node client records the pages of the worker's topic
	// it receives.
	topic := mq.WorkerTopic([32]byte(w.Identity()))
	type page struct {
		from       uint64
		n, size    int
		first, end uint64
	}
	var (
		mu    sync.Mutex
		pages []page
	)
	record := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			res, err := next(ctx, req)
			q, ok := req.Any().(*nodev1.GetProvenMessagesRequest)
			if err != nil || !ok || q.GetTopic() != topic {
				return res, err
			}
			pm := res.Any().(*nodev1.GetProvenMessagesResponse)
			if msgs := pm.GetMessages(); len(msgs) > 0 {
				mu.Lock()
				pages = append(pages, page{q.GetFromSequence(), len(msgs), proto.Size(pm), msgs[0].GetSequence(), msgs[len(msgs)-1].GetSequence() + 1})
				mu.Unlock()
			}
			return res, err
		}
	})
	rc := client.New(c.URL)
	rc.Node = nodev1connect.NewNodeServiceClient(http.DefaultClient, c.URL, connect.WithInterceptors(record))
	r, err := New(Config{WorkerURL: w.URL(), Node: rc, Operator: devSigner(t, "//Charlie"), MessageBatch: 1000,
		SyncInterval: 100 * time.Millisecond, PollInterval: 100 * time.Millisecond, MinBackoff: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(rctx) })
	defer func() { stop(); wg.Wait() }()

	wc := workerv1connect.NewWorkerServiceClient(http.DefaultClient, w.URL())
	position := func() (uint64, bool) {
		info, err := wc.Info(ctx, connect.NewRequest(&workerv1.InfoRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range info.Msg.GetSync().GetTopics() {
			if tp.GetTopic() == topic {
				return tp.GetNextSequence(), info.Msg.GetBound()
			}
		}
		return 0, info.Msg.GetBound()
	}
	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("%s: timed out (relayer status %+v)", what, r.Status())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitUntil("the worker is registered and bound", func() bool { _, bound := position(); return bound })

	const count, size = 50, 60 << 10
	bob := devSigner(t, "//Bob")
	for tx := range 2 { // two transactions of 25 messages (1.5 MB each)
		var msgs []proto.Message
		for i := range count / 2 {
			msgs = append(msgs, &mqv1.MsgPushMessage{Topic: topic, Payload: bytes.Repeat([]byte{byte(tx*count/2 + i)}, size)})
		}
		if _, err := c.Send(ctx, bob, msgs, client.TxOptions{Wait: true}); err != nil {
			t.Fatalf("push messages: %v", err)
		}
	}
	waitUntil("the worker has every message", func() bool { n, _ := position(); return n == count })
	// The relayer counts what the worker accepted once its dispatch call
	// returns, a moment after the worker shows it.
	waitUntil("the relayer counts every message", func() bool { return r.Status().MessagesRelayed >= count })
	// Several pages, each asked for after the last message received,
	// each under the 4 MiB a gRPC client accepts by default.
	mu.Lock()
	defer mu.Unlock()
	next := uint64(0)
	for i, p := range pages {
		if p.from != p.first || p.size > 4<<20 {
			t.Fatalf("page %d %+v: from %d, %d bytes", i, p, p.from, p.size)
		}
		if p.from == next {
			next = p.end
		}
	}
	if len(pages) < 3 || next != count {
		t.Fatalf("pages %+v: want 3 or more, covering the %d messages", pages, count)
	}
	t.Logf("pages of the worker's topic: %+v", pages)
}
