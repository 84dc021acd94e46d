package api

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	ics23 "github.com/cosmos/ics23/go"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/chain/types"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	"github.com/veil-network/veil/gen/veil/node/v1/nodev1connect"
)

// grpcDefaultMaxBytes is the response size gRPC clients accept unless
// told otherwise (grpc-go's default MaxCallRecvMsgSize, and others').
const grpcDefaultMaxBytes = 4 << 20

const provenTopic = "app/big"

// provenNode commits payloads, in order, on provenTopic (the mq module
// with params, through its own Send, as a block would) in a real state
// store, and serves the API over it: gRPC over h2c and Connect with JSON,
// both accepting at most grpcDefaultMaxBytes per response. It returns
// both clients and the committed root the proofs must verify against.
func provenNode(t *testing.T, params mq.Params, payloads [][]byte) (grpcc, jsonc nodev1connect.NodeServiceClient, root []byte) {
	t.Helper()
	a, err := app.New(app.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	ctx := &types.Context{Store: a.Tree().Working(), ChainID: "api-test", Height: 1, Time: time.Unix(1_700_000_000, 0)}
	m := mq.New()
	g, err := json.Marshal(types.ParamsGenesis[mq.Params]{Params: params})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.InitGenesis(ctx, g); err != nil {
		t.Fatal(err)
	}
	for i, p := range payloads {
		if seq, err := m.Send(ctx, mq.ModuleOrigin("test"), provenTopic, p); err != nil || seq != uint64(i) {
			t.Fatalf("send %d: sequence %d, %v", i, seq, err)
		}
	}
	root, _, err = a.Tree().Commit()
	if err != nil {
		t.Fatal(err)
	}

	srv, err := New(a, nil, slog.New(slog.DiscardHandler)).HTTPServer([]string{"*"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	url := "http://" + ln.Addr().String()
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	grpcc = nodev1connect.NewNodeServiceClient(&http.Client{Transport: &http.Transport{Protocols: &h2c}}, url,
		connect.WithGRPC(), connect.WithReadMaxBytes(grpcDefaultMaxBytes))
	jsonc = nodev1connect.NewNodeServiceClient(http.DefaultClient, url, connect.WithProtoJSON(), connect.WithReadMaxBytes(grpcDefaultMaxBytes))
	return grpcc, jsonc, root
}

// payload is message i's distinct payload of n bytes.
func payload(i, n int) []byte {
	b := bytes.Repeat([]byte{byte(i)}, n)
	binary.BigEndian.PutUint32(b, uint32(i))
	return b
}

// provenPages reads provenTopic from sequence 0 to its end as a client
// does: each page from the sequence after the last one received. It
// checks every page (see checkPage) and returns them.
func provenPages(t *testing.T, c nodev1connect.NodeServiceClient, root []byte, payloads [][]byte, batch bool, limit uint32) []*nodev1.GetProvenMessagesResponse {
	t.Helper()
	var pages []*nodev1.GetProvenMessagesResponse
	from := uint64(0)
	for from < uint64(len(payloads)) {
		res, err := c.GetProvenMessages(context.Background(), connect.NewRequest(&nodev1.GetProvenMessagesRequest{
			Topic: provenTopic, FromSequence: from, Limit: limit, Batch: batch}))
		if err != nil {
			t.Fatalf("page from %d (batch %v): %v", from, batch, err)
		}
		pg := res.Msg
		checkPage(t, pg, root, payloads, from, batch)
		if n := len(pg.GetMessages()); n == 0 || n > int(limit) {
			t.Fatalf("page from %d: %d messages, limit %d", from, n, limit)
		}
		pages = append(pages, pg)
		from = pg.GetMessages()[len(pg.GetMessages())-1].GetSequence() + 1
	}
	return pages
}

// pageSizes is the number of messages of each page.
func pageSizes(pages []*nodev1.GetProvenMessagesResponse) []int {
	var out []int
	for _, pg := range pages {
		out = append(out, len(pg.GetMessages()))
	}
	return out
}

// pageBytes is what the budget counts of a page: its messages and their
// proofs (single proofs or the batch proof).
func pageBytes(pg *nodev1.GetProvenMessagesResponse) int {
	n := len(pg.GetBatchProof())
	for _, m := range pg.GetMessages() {
		n += len(m.GetMessage()) + len(m.GetProof())
	}
	return n
}

// checkPage: the page is the topic's messages from sequence from, in
// order, each the stored message of its payload and proven against root
// (its own proof, or the batch proof); the topic's next sequence is
// proven; message and proof bytes stay within ProvenMessagesBytes unless
// the page is a single message.
func checkPage(t *testing.T, pg *nodev1.GetProvenMessagesResponse, root []byte, payloads [][]byte, from uint64, batch bool) {
	t.Helper()
	if pg.GetTopic() != provenTopic || pg.GetHeight() != 1 || pg.GetNextSequence() != uint64(len(payloads)) {
		t.Fatalf("page from %d: topic %q, height %d, next %d", from, pg.GetTopic(), pg.GetHeight(), pg.GetNextSequence())
	}
	var np ics23.CommitmentProof
	if err := np.Unmarshal(pg.GetNextSequenceProof()); err != nil {
		t.Fatal(err)
	}
	if err := store.VerifyProof(root, &np, mq.NextSequenceKey(provenTopic), binary.BigEndian.AppendUint64(nil, uint64(len(payloads)))); err != nil {
		t.Fatalf("next sequence proof: %v", err)
	}
	var bp ics23.CommitmentProof
	if batch {
		if err := bp.Unmarshal(pg.GetBatchProof()); err != nil {
			t.Fatalf("page from %d: batch proof: %v", from, err)
		}
	} else if len(pg.GetBatchProof()) != 0 {
		t.Fatalf("page from %d: a batch proof without batch", from)
	}
	for i, m := range pg.GetMessages() {
		seq := from + uint64(i)
		if m.GetSequence() != seq {
			t.Fatalf("page from %d: message %d has sequence %d", from, i, m.GetSequence())
		}
		var stored mqv1.Message
		if err := proto.Unmarshal(m.GetMessage(), &stored); err != nil || stored.GetSequence() != seq || stored.GetTopic() != provenTopic ||
			!bytes.Equal(stored.GetPayload(), payloads[seq]) {
			t.Fatalf("message %d is not the one sent (%v)", seq, err)
		}
		key := mq.MessageKey(provenTopic, seq)
		if batch {
			if len(m.GetProof()) != 0 {
				t.Fatalf("message %d: its own proof in batch mode", seq)
			}
			if !ics23.VerifyMembership(ics23.IavlSpec, root, &bp, key, m.GetMessage()) {
				t.Fatalf("message %d: the batch proof does not prove it", seq)
			}
		} else {
			var p ics23.CommitmentProof
			if err := p.Unmarshal(m.GetProof()); err != nil {
				t.Fatal(err)
			}
			if err := store.VerifyProof(root, &p, key, m.GetMessage()); err != nil {
				t.Fatalf("message %d: %v", seq, err)
			}
		}
	}
	if used := pageBytes(pg); len(pg.GetMessages()) > 1 && used > ProvenMessagesBytes {
		t.Fatalf("page from %d: %d messages with %d bytes of messages and proofs, budget %d", from, len(pg.GetMessages()), used, ProvenMessagesBytes)
	}
}

// TestProvenMessagesByteBudget: a topic of 64 KiB messages (with a few
// small ones between them), ~6 MiB in all and twice that with proofs
// (an ICS23 existence proof holds the value it proves), comes in pages
// that fit the byte budget and what a gRPC client accepts by default,
// with and without batch proofs; read page after page from the last
// sequence received, every message arrives once, in order, proven. The
// pages are full: each ends only where the next message with its proof
// would not have fit. Batch pages hold the same messages (a message
// counts its single proof's size). The count limit still applies, and
// Connect's JSON form of a full page also fits a default client.
func TestProvenMessagesByteBudget(t *testing.T) {
	var payloads [][]byte
	for i := range 100 {
		n := 64 << 10
		if i%4 == 3 {
			n = 200
		}
		payloads = append(payloads, payload(i, n))
	}
	grpcc, jsonc, root := provenNode(t, mq.DefaultParams(), payloads)
	single := provenPages(t, grpcc, root, payloads, false, MaxProvenMessages)
	if len(single) < 5 {
		t.Fatalf("pages of %v messages, want 5 or more for ~12 MiB of messages and proofs", pageSizes(single))
	}
	for i, pg := range single[:len(single)-1] {
		next := single[i+1].GetMessages()[0]
		if used, more := pageBytes(pg), len(next.GetMessage())+len(next.GetProof()); used+more <= ProvenMessagesBytes {
			t.Errorf("page %d (%d messages, %d bytes) ends before message %d (%d bytes) that fits the budget", i, len(pg.GetMessages()), used, next.GetSequence(), more)
		}
	}
	batched := provenPages(t, grpcc, root, payloads, true, MaxProvenMessages)
	if fmt.Sprint(pageSizes(batched)) != fmt.Sprint(pageSizes(single)) {
		t.Fatalf("batch pages of %v messages, single-proof pages of %v", pageSizes(batched), pageSizes(single))
	}
	t.Logf("pages of %v messages; %d bytes with single proofs, %d with a batch proof (first page)", pageSizes(single), pageBytes(single[0]), pageBytes(batched[0]))

	if sizes := pageSizes(provenPages(t, grpcc, root, payloads, true, 7)); len(sizes) != 15 || sizes[0] != 7 {
		t.Fatalf("limit 7: pages %v", sizes)
	}
	res, err := jsonc.GetProvenMessages(context.Background(), connect.NewRequest(&nodev1.GetProvenMessagesRequest{Topic: provenTopic, Limit: MaxProvenMessages}))
	if err != nil {
		t.Fatalf("JSON page: %v", err)
	}
	checkPage(t, res.Msg, root, payloads, 0, false)
	if len(res.Msg.GetMessages()) != len(single[0].GetMessages()) {
		t.Fatalf("JSON page of %d messages, protobuf page of %d", len(res.Msg.GetMessages()), len(single[0].GetMessages()))
	}
}

// TestProvenMessagesHugeMessage: a message that with its proof is larger
// than the budget (the payload limit raised to 1.5 MiB) comes alone on
// its page, and the pages around it stop before it and go on after it.
func TestProvenMessagesHugeMessage(t *testing.T) {
	const huge = 3 << 19
	var payloads [][]byte
	for i := range 11 {
		n := 1 << 10
		if i == 5 {
			n = huge
		}
		payloads = append(payloads, payload(i, n))
	}
	grpcc, _, root := provenNode(t, mq.Params{MaxPayloadBytes: huge}, payloads)
	for _, batch := range []bool{false, true} {
		pages := provenPages(t, grpcc, root, payloads, batch, MaxProvenMessages)
		if sizes := pageSizes(pages); fmt.Sprint(sizes) != "[5 1 5]" {
			t.Fatalf("batch %v: pages of %v messages, want [5 1 5]", batch, sizes)
		}
		if used := pageBytes(pages[1]); used <= ProvenMessagesBytes {
			t.Fatalf("the huge message's page has %d bytes, within the budget", used)
		}
	}
}
