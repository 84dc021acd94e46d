package executor

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/veil-network/veil/crypto/envelope"
)

// BenchmarkQuery measures one complete query on hello-world: HPKE open,
// signature verification, replay check, the contract call on encrypted
// state, and sealing the response. Envelopes are sealed outside the
// timer (that is the client's work).
func BenchmarkQuery(b *testing.B) {
	h := newHarness(b, "hello-world", hopt{})
	h.install("")
	alice := signer("alice")
	h.command(alice, 1, "increment", `{"by":2}`)
	b.StopTimer()
	envs := make([][]byte, b.N)
	for i := range envs {
		envs[i], _, _ = envelope.SealQuery(h.workerSK.PublicKey(), envelope.QueryRequest{ContractID: h.id, Method: "get_count",
			Expiry: h.now.Add(time.Minute)}, alice)
	}
	h.e.replay, _ = envelope.NewReplayCache(b.N + 1)
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.e.Query(ctx, envs[i], h.now); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportCPU(b, cpu0, "queries")
}

// BenchmarkSessionQuery measures one query under a query session on
// hello-world, the counterpart of BenchmarkQuery: AES-GCM open, counter
// check, the same contract call, and sealing the response under the
// session. Requests are sealed outside the timer; opening the session
// (one sealed query) is not counted.
func BenchmarkSessionQuery(b *testing.B) {
	h := newHarness(b, "hello-world", hopt{})
	h.install("")
	alice := signer("alice")
	h.command(alice, 1, "increment", `{"by":2}`)
	b.StopTimer()
	cs := h.openSession(alice, "")
	envs := make([][]byte, b.N)
	for i := range envs {
		envs[i], _, _ = cs.SealRequest("get_count", nil)
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.e.SessionQuery(ctx, envs[i], h.now); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportCPU(b, cpu0, "queries")
}

// BenchmarkCommand measures executing one command of the log: HPKE open,
// signature and nonce checks, the call, and the atomic synchronous commit
// of state, receipt, nonce and position.
func BenchmarkCommand(b *testing.B) {
	h := newHarness(b, "hello-world", hopt{})
	h.install("")
	alice := signer("alice")
	b.StopTimer()
	msgs := make([]*contractsMsg, b.N)
	for i := range msgs {
		msgs[i] = &contractsMsg{env: h.sealCommand(alice, uint64(i+1), "increment", `{"by":1}`)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.StartTimer()
	for i := 0; i < b.N; i++ {
		m := h.message(commandMsg(alice.Public().Key, msgs[i].env))
		out, err := h.e.Execute(ctx, h.id, m)
		if err != nil || out.Status != StatusOK {
			b.Fatal(out, err)
		}
		h.seq++
	}
	b.StopTimer()
	reportCPU(b, cpu0, "commands")
}

type contractsMsg struct{ env []byte }

// cpuTime is the process's user+system CPU time: on a shared machine the
// wall clock per operation says more about the neighbours than about the
// code, so the benchmarks also report CPU time per operation and the
// rate one fully used core would reach.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, cpu0 time.Duration, what string) {
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), what+"/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/op")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), what+"/cpu-s")
}
