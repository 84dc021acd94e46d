package worker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the worker's Prometheus metrics. Each worker has its own
// registry (no global state), so several workers can run in one process
// (veil dev, tests).
type metrics struct {
	reg              *prometheus.Registry
	syncedHeight     prometheus.Gauge
	chainHeight      prometheus.Gauge
	headersVerified  prometheus.Counter
	messages         *prometheus.CounterVec
	refusals         *prometheus.CounterVec
	egressPending    prometheus.Gauge
	egressNext       prometheus.Gauge
	checkpointSecond prometheus.Histogram
	commands         *prometheus.CounterVec
	queries          *prometheus.CounterVec
	querySeconds     prometheus.Histogram
	heartbeats       *prometheus.CounterVec
	benchmarkScore   prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		syncedHeight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "veil_worker_synced_height", Help: "Latest header height verified by the worker's light client.",
		}),
		chainHeight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "veil_worker_chain_height", Help: "Chain height as last reported by the relayer (unverified).",
		}),
		headersVerified: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "veil_worker_headers_verified_total", Help: "Light blocks verified and applied.",
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veil_worker_messages_processed_total", Help: "Proven ingress messages processed, by topic kind (worker, system) and outcome.",
		}, []string{"topic", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veil_worker_refusals_total", Help: "Light blocks and messages refused, by input and reason (docs/lightclient.md). " +
				"Only some reasons mean bad relayer input (verification, proof, sequence, mismatch, malformed, ...); " +
				"not_subscribed (a topic the worker does not or no longer follows) and backpressure do not.",
		}, []string{"input", "reason"}),
		egressPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "veil_worker_egress_pending", Help: "Signed egress messages not yet accepted by the chain (as proven to the worker).",
		}),
		egressNext: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "veil_worker_egress_next_sequence", Help: "Next egress sequence the worker assigns.",
		}),
		checkpointSecond: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "veil_worker_checkpoint_seconds", Help: "Time to seal and write the sync checkpoint.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
	}
	m.commands = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "veil_worker_contract_commands_total", Help: "Contract log messages executed, by receipt status (ok, reverted, failed, rejected) or skipped/malformed.",
	}, []string{"status"})
	m.queries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "veil_worker_contract_queries_total", Help: "Contract queries answered, by outcome (ok, an error code, refused, overloaded, unavailable).",
	}, []string{"outcome"})
	m.querySeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "veil_worker_contract_query_seconds", Help: "Time to open, answer and seal one contract query.",
		Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
	})
	m.heartbeats = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "veil_worker_heartbeats_total", Help: "Heartbeat challenges from the chain, by outcome (answered, late: answered past the deadline, malformed, failed).",
	}, []string{"outcome"})
	m.benchmarkScore = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "veil_worker_benchmark_score", Help: "Score P of the benchmark run at start (0 until it completes or when disabled).",
	})
	m.reg.MustRegister(m.syncedHeight, m.chainHeight, m.headersVerified, m.messages, m.refusals, m.egressPending,
		m.egressNext, m.checkpointSecond, m.commands, m.queries, m.querySeconds, m.heartbeats, m.benchmarkScore)
	return m
}

// executorMetrics feeds the executor's outcomes to the worker's registry.
type executorMetrics struct{ m *metrics }

func (x executorMetrics) Command(status string) { x.m.commands.WithLabelValues(status).Inc() }

func (x executorMetrics) Query(outcome string, d time.Duration) {
	x.m.queries.WithLabelValues(outcome).Inc()
	x.m.querySeconds.Observe(d.Seconds())
}

// Registry exposes the worker's metrics registry (tests, embedding).
func (w *Worker) Registry() *prometheus.Registry { return w.metrics.reg }

// ServeMetrics serves reg's /metrics on addr, which must be a loopback
// address: the metrics reveal the worker's (or relayer's) activity and
// belong to its operator. onErr is called if the server stops on an error.
func ServeMetrics(addr string, reg *prometheus.Registry, onErr func(error)) (*http.Server, net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics listen on %s: %w", addr, err)
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		ln.Close()
		return nil, nil, fmt.Errorf("metrics address %s is not loopback", addr)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			onErr(err)
		}
	}()
	return srv, ln, nil
}

// ShutdownServer stops an HTTP server (ServeMetrics', the worker API),
// waiting at most five seconds for requests in flight, then closing
// their connections (nil is a no-op).
func ShutdownServer(srv *http.Server) error {
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// A client that keeps a request running (a relayer mid-call on a
		// loaded machine) must not make stopping fail: close what is left.
		return srv.Close()
	}
	return err
}
