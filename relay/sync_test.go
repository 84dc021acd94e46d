package relay

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
)

type unboundWorker struct {
	workerv1connect.UnimplementedWorkerServiceHandler
}

func (unboundWorker) Info(context.Context, *connect.Request[workerv1.InfoRequest]) (*connect.Response[workerv1.InfoResponse], error) {
	return connect.NewResponse(&workerv1.InfoResponse{}), nil
}

// TestSyncLoopSaysWhyItWaits: a sync loop that cannot proceed logs the
// reason once (not every round), and an unreachable node is an error with
// backoff, recorded in the status.
func TestSyncLoopSaysWhyItWaits(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle(workerv1connect.NewWorkerServiceHandler(unboundWorker{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var logs bytes.Buffer
	s, _ := keys.FromURI("//Alice", keys.SchemeSr25519)
	r, err := New(Config{WorkerURL: srv.URL, Node: client.New(closedURL(t)), Operator: s, SyncInterval: 10 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	r.loop(ctx, "sync", r.cfg.SyncInterval, nil, r.syncStep)
	if n := strings.Count(logs.String(), "not bound to a chain yet"); n != 1 {
		t.Fatalf("the wait reason was logged %d times:\n%s", n, logs.String())
	}
}

func TestProgressLine(t *testing.T) {
	var term bytes.Buffer
	p := newProgress(&term, slog.New(slog.DiscardHandler), 0)
	p.start = time.Now().Add(-time.Second)
	p.last = time.Time{}
	p.update(500, 2000)
	p.update(2000, 2000)
	p.done()
	out := term.String()
	if !strings.Contains(out, "\rsyncing worker: height 500/2000 (25.0%)") || !strings.Contains(out, "headers/s, ETA") || !strings.HasSuffix(out, "\n") {
		t.Fatalf("progress output %q", out)
	}
}
