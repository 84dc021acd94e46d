package relay

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
)

func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func TestNewValidates(t *testing.T) {
	s, _ := keys.FromURI("//Alice", keys.SchemeSr25519)
	if _, err := New(Config{Node: client.New("http://x"), Operator: s}); err == nil {
		t.Fatal("no worker URL accepted")
	}
	r, err := New(Config{WorkerURL: "http://w", Node: client.New("http://x"), Operator: s, ReattestPercent: 150, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if r.cfg.ReattestPercent != DefaultReattestPercent || r.cfg.MaxBackoff < r.cfg.MinBackoff || r.cfg.Collateral == nil {
		t.Fatalf("defaults not applied: %+v", r.cfg)
	}
}

// TestRunSurvivesUnreachableNode: with neither node nor worker reachable,
// the relayer keeps retrying with growing backoff, records why, and stops
// cleanly when cancelled.
func TestRunSurvivesUnreachableNode(t *testing.T) {
	s, _ := keys.FromURI("//Alice", keys.SchemeSr25519)
	r, err := New(Config{WorkerURL: closedURL(t), Node: client.New(closedURL(t)), Operator: s,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := r.Run(ctx); err != nil {
		t.Fatalf("Run returned %v on cancel", err)
	}
	if st := r.Status(); !strings.Contains(st.LastError, "node status") || st.Registrations != 0 {
		t.Fatalf("status %+v", st)
	}
}

// FuzzQuotePlatform: arbitrary quote bytes never panic the PCK
// certificate extraction.
func FuzzQuotePlatform(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, q []byte) {
		fmspc, ca, err := QuotePlatform(q)
		if err == nil && (len(fmspc) != 12 || (ca != "platform" && ca != "processor")) {
			t.Fatalf("accepted %q %q", fmspc, ca)
		}
	})
}

// FuzzPCSResponses: malformed PCS bodies are refused, never panic.
func FuzzPCSResponses(f *testing.F) {
	f.Add([]byte(`{"tcbInfo":{"a":1},"signature":"ab"}`))
	f.Add([]byte(`30820100`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _, _ = signedJSON(body, "tcbInfo")
		_, _ = derCRL(body, "crl")
	})
}
