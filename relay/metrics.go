package relay

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the relayer's Prometheus metrics, in a registry of its own
// (several relayers run in one 'veil dev' process).
type metrics struct {
	reg             *prometheus.Registry
	workerSynced    prometheus.Gauge
	chainHeight     prometheus.Gauge
	lag             prometheus.Gauge
	headers         prometheus.Counter
	messages        prometheus.Counter
	egress          prometheus.Counter
	registrations   prometheus.Counter
	errors          *prometheus.CounterVec
	headerBatchSecs prometheus.Histogram
	nonceResyncs    prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		workerSynced: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "veil_relay_worker_synced_height", Help: "The worker's verified height as it last reported it.",
		}),
		chainHeight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "veil_relay_chain_height", Help: "The node's latest block height.",
		}),
		lag: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "veil_relay_lag_blocks", Help: "Chain height minus the worker's verified height.",
		}),
		headers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "veil_relay_headers_relayed_total", Help: "Light blocks the worker accepted from this relayer.",
		}),
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "veil_relay_messages_relayed_total", Help: "Proven messages the worker accepted from this relayer.",
		}),
		egress: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "veil_relay_egress_submitted_total", Help: "Worker egress messages committed on chain by this relayer.",
		}),
		registrations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "veil_relay_registrations_total", Help: "Successful registration transactions.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "veil_relay_errors_total", Help: "Failed rounds, by loop (registration, sync, egress), and failed contract code provisions (code).",
		}, []string{"loop"}),
		headerBatchSecs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "veil_relay_header_batch_seconds", Help: "Time the worker took to verify one batch of light blocks.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		nonceResyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "veil_relay_nonce_resyncs_total",
			Help: "Operator transactions the chain refused for a nonce out of step (the account used elsewhere, or a transaction dropped from the mempool), re-signed with the chain's nonce.",
		}),
	}
	m.reg.MustRegister(m.workerSynced, m.chainHeight, m.lag, m.headers, m.messages, m.egress, m.registrations, m.errors, m.headerBatchSecs, m.nonceResyncs)
	return m
}

// Registry exposes the relayer's metrics registry.
func (r *Relayer) Registry() *prometheus.Registry { return r.m.reg }
