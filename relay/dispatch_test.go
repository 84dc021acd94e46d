package relay

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"github.com/veil-network/veil/client"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	"github.com/veil-network/veil/gen/veil/node/v1/nodev1connect"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/worker"
)

// messagesNode serves two messages of any topic (their proofs do not
// matter: the worker below does not check them).
type messagesNode struct {
	nodev1connect.UnimplementedNodeServiceHandler
}

func (messagesNode) GetProvenMessages(context.Context, *connect.Request[nodev1.GetProvenMessagesRequest]) (*connect.Response[nodev1.GetProvenMessagesResponse], error) {
	return connect.NewResponse(&nodev1.GetProvenMessagesResponse{NextSequence: 2, Messages: []*nodev1.ProvenMessage{
		{Sequence: 0, Message: []byte("m0")}, {Sequence: 1, Message: []byte("m1")}}}), nil
}

// refusingWorker accepts the first message of a dispatch and refuses the
// second with reason.
type refusingWorker struct {
	workerv1connect.UnimplementedWorkerServiceHandler
	reason string
	calls  int
}

func (w *refusingWorker) DispatchMessages(_ context.Context, req *connect.Request[workerv1.DispatchMessagesRequest]) (*connect.Response[workerv1.DispatchMessagesResponse], error) {
	w.calls++
	t := req.Msg.GetTopics()[0].GetTopic()
	return connect.NewResponse(&workerv1.DispatchMessagesResponse{Accepted: 1, RefusalReason: w.reason, Refusal: "refused",
		RefusedTopic: t, RefusedSequence: 1}), nil
}

// TestDispatchRefusals: a not_subscribed refusal (the worker stopped
// following the topic, possibly while processing that very call) ends
// the round without an error, keeping what the worker accepted; a proof
// refusal is an error.
func TestDispatchRefusals(t *testing.T) {
	nmux := http.NewServeMux()
	nmux.Handle(nodev1connect.NewNodeServiceHandler(messagesNode{}))
	nsrv := httptest.NewServer(nmux)
	defer nsrv.Close()
	for _, tc := range []struct {
		reason  string
		wantErr string
	}{
		{worker.ReasonNotSubscribed, ""},
		{worker.ReasonProof, "the worker refused contract/ab/1 (proof)"},
	} {
		wk := &refusingWorker{reason: tc.reason}
		wmux := http.NewServeMux()
		wmux.Handle(workerv1connect.NewWorkerServiceHandler(wk))
		wsrv := httptest.NewServer(wmux)
		r, err := New(Config{WorkerURL: wsrv.URL, Node: client.New(nsrv.URL), Operator: devSigner(t, "//Alice"), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ss := &workerv1.SyncStatus{Topics: []*workerv1.TopicPosition{{Topic: "contract/ab", NextSequence: 0, ChainNextSequence: 2, ChainVersion: 4}}}
		n, err := r.relayMessages(context.Background(), make([]byte, 32), ss, 5, 1)
		wsrv.Close()
		if n != 1 || wk.calls != 1 {
			t.Errorf("%s: %d accepted in %d calls, want 1 in 1", tc.reason, n, wk.calls)
		}
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tc.reason, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: error %v, want %q", tc.reason, err, tc.wantErr)
		}
	}
}
