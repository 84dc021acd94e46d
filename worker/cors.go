package worker

import (
	"fmt"
	"net/http"

	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/internal/httpcors"
)

// DefaultCORSOrigins is what a nil Config.CORSOrigins means: pages of any
// origin may query contracts and read Info. Both are safe for any page:
// queries are sealed to the worker's key and signed by the user, answers
// sealed back to the querier, and Info is what the chain's registry shows
// anyway; no credentials are ever involved (internal/httpcors).
func DefaultCORSOrigins() []string { return []string{httpcors.Any} }

func corsPolicy(origins []string) (*httpcors.Policy, error) {
	if origins == nil {
		origins = DefaultCORSOrigins()
	}
	p, err := httpcors.New(origins)
	if err != nil {
		return nil, fmt.Errorf("worker: CORS origins: %w", err)
	}
	return p, nil
}

// routeAPI mounts the worker's two Connect services on mux with the
// browser policy of each procedure. Pages (the Web UI, dApps) may call
// the user-facing ones — ContractService (Query, SessionQuery) and the
// read-only WorkerService/Info — under the origin allow-list. Every other
// WorkerService procedure is the relayer's: Attestation (the identity's
// consent to an operator), Bind, InitTrustRoot, SyncHeaders,
// DispatchMessages, ProvideCode, GetEgress, ReportRegistration. A web page
// must not be able to drive them, not even with a "simple" request that
// needs no preflight, so they refuse any request a browser made
// (httpcors.RefuseBrowsers). That is the default for the whole service
// path: a procedure added later is closed to browsers until it is listed
// here.
func routeAPI(mux *http.ServeMux, cors *httpcors.Policy, workerPath string, worker http.Handler, contractPath string, contracts http.Handler) {
	mux.Handle(workerPath, httpcors.RefuseBrowsers(worker))
	// An exact path beats the service's prefix pattern.
	mux.Handle(workerv1connect.WorkerServiceInfoProcedure, cors.Handler(worker))
	mux.Handle(contractPath, cors.Handler(contracts))
}
