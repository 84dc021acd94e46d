package compute

import (
	"testing"

	"github.com/veil-network/veil/chain/store"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
)

// FuzzHandleEgress feeds arbitrary payloads to the module's egress
// decoders (benchmark reports and heartbeat answers) from a computing
// worker with an open challenge: nothing panics, and a refused payload
// leaves the chain's invariants intact (issuance, stakes, indexes).
func FuzzHandleEgress(f *testing.F) {
	e := newEnv(f, heartbeatParams(), longValidity)
	w := e.computing(e.alice, 1000, toks(100))
	c := e.untilChallenged(w)
	f.Add(true, enc(f, &computev1.BenchmarkReport{Score: 500, DurationMs: 1000, Iterations: 16000}))
	f.Add(false, enc(f, &computev1.HeartbeatAnswer{ChallengeHeight: c.GetHeight(), Nonce: c.GetNonce(), SyncedHeight: e.ctx.Height}))
	f.Add(false, []byte{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add(true, []byte{})
	f.Fuzz(func(t *testing.T, benchmark bool, payload []byte) {
		// Each input runs on its own copy of the state, as mq runs each
		// egress message in its own cache.
		st := e.store().Clone()
		cache := store.NewCache(st)
		ctx := e.ctx.WithStore(cache)
		topic := TopicHeartbeat
		if benchmark {
			topic = TopicBenchmark
		}
		if err := e.c.HandleEgress(ctx, w.id(), topic, payload); err != nil {
			return
		}
		cache.Write()
		checkInvariants(t, st, e.bank)
	})
}
