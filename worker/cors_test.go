package worker

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/internal/httpcors"
)

const uiOrigin = "http://127.0.0.1:26690"

func startCORSWorker(t *testing.T, origins []string) *Worker {
	t.Helper()
	w, _ := newTestWorker(t, t.TempDir(), func(c *Config) { c.CORSOrigins = origins })
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func corsPreflight(t *testing.T, url, origin string) *http.Response {
	t.Helper()
	r, _ := http.NewRequest(http.MethodOptions, url, nil)
	r.Header.Set("Origin", origin)
	r.Header.Set("Access-Control-Request-Method", "POST")
	r.Header.Set("Access-Control-Request-Headers", "content-type,connect-protocol-version")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// browserPost is what a page's fetch sends for a Connect JSON call.
func browserPost(t *testing.T, url, origin, body string) (*http.Response, string) {
	t.Helper()
	r, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	r.Header.Set("Origin", origin)
	r.Header.Set("Sec-Fetch-Site", "same-site")
	r.Header.Set("Sec-Fetch-Mode", "cors")
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Connect-Protocol-Version", "1")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestCORSUserProcedures: the Web UI may query contracts and read Info.
func TestCORSUserProcedures(t *testing.T) {
	w := startCORSWorker(t, nil) // nil: DefaultCORSOrigins, "*"
	for _, proc := range []string{workerv1connect.ContractServiceQueryProcedure, workerv1connect.ContractServiceSessionQueryProcedure, workerv1connect.WorkerServiceInfoProcedure} {
		resp := corsPreflight(t, w.URL()+proc, uiOrigin)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s preflight: %d, Allow-Origin %q", proc, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	resp, body := browserPost(t, w.URL()+workerv1connect.WorkerServiceInfoProcedure, uiOrigin, "{}")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"workerInfo"`) || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("Info from a page: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	// A malformed envelope is the executor's answer (invalid_argument),
	// readable by the page.
	resp, body = browserPost(t, w.URL()+workerv1connect.ContractServiceQueryProcedure, uiOrigin, `{"envelope":"AAEC"}`)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "invalid_argument") || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("Query from a page: %d %q %v", resp.StatusCode, body, resp.Header)
	}
}

// TestCORSControlProceduresRefused: no page may drive the relayer's
// procedures: their preflight is refused, and so is a request sent
// without one; the procedure never runs.
func TestCORSControlProceduresRefused(t *testing.T) {
	w := startCORSWorker(t, []string{"*"})
	for _, proc := range []string{
		workerv1connect.WorkerServiceAttestationProcedure, workerv1connect.WorkerServiceBindProcedure,
		workerv1connect.WorkerServiceInitTrustRootProcedure, workerv1connect.WorkerServiceSyncHeadersProcedure,
		workerv1connect.WorkerServiceDispatchMessagesProcedure, workerv1connect.WorkerServiceProvideCodeProcedure,
		workerv1connect.WorkerServiceGetEgressProcedure, workerv1connect.WorkerServiceReportRegistrationProcedure,
	} {
		resp := corsPreflight(t, w.URL()+proc, uiOrigin)
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s preflight: %d, Allow-Origin %q", proc, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		if resp, _ := browserPost(t, w.URL()+proc, uiOrigin, "{}"); resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s from a page: %d", proc, resp.StatusCode)
		}
	}
	// A valid Bind from a page did not bind the worker; the relayer's
	// (no browser headers) does.
	bind := `{"chainId":"veil-test","genesisHash":"` + strings.Repeat("BwcH", 10) + `Bwc="}`
	browserPost(t, w.URL()+workerv1connect.WorkerServiceBindProcedure, uiOrigin, bind)
	if w.Info().GetBound() {
		t.Fatal("a web page bound the worker")
	}
	r, _ := http.NewRequest(http.MethodPost, w.URL()+workerv1connect.WorkerServiceBindProcedure, strings.NewReader(bind))
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !w.Info().GetBound() {
		t.Fatalf("relayer's bind: status %d, bound %v", resp.StatusCode, w.Info().GetBound())
	}
}

// TestCORSWorkerAllowList: a listed origin only; a bad entry stops New.
func TestCORSWorkerAllowList(t *testing.T) {
	w := startCORSWorker(t, []string{uiOrigin})
	q := w.URL() + workerv1connect.ContractServiceQueryProcedure
	if resp := corsPreflight(t, q, uiOrigin); resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != uiOrigin {
		t.Errorf("listed origin: %d %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	if resp := corsPreflight(t, q, "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("other origin: %d", resp.StatusCode)
	}
	none := startCORSWorker(t, []string{})
	if resp := corsPreflight(t, none.URL()+workerv1connect.WorkerServiceInfoProcedure, uiOrigin); resp.StatusCode != http.StatusForbidden {
		t.Errorf("empty list: %d", resp.StatusCode)
	}
	_, err := New(context.Background(), Config{Home: t.TempDir(), TEE: "simulated", CORSOrigins: []string{"127.0.0.1:26690"}})
	if !errors.Is(err, httpcors.ErrBadOrigin) {
		t.Fatalf("bad origin accepted: %v", err)
	}
}
