package executor

import (
	"context"
	"encoding/binary"
	"fmt"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keys"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
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

// BenchmarkCommand measures one command with a synchronous database
// write of its own, as when it is alone in its dispatch call: HPKE open,
// signature and nonce checks, the call, and the write of state, receipt,
// nonce and position (the state report Flush adds is left out, as
// before). No preparation: one command has nothing to run ahead of.
func BenchmarkCommand(b *testing.B) {
	h := newHarness(b, "hello-world", hopt{})
	h.install("")
	h.flush()
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
		h.e.execMu.Lock()
		err = h.e.commitPending()
		h.e.execMu.Unlock()
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportCPU(b, cpu0, "commands")
}

// BenchmarkCommandBatch measures commands dispatched n per call, as the
// syncer runs them: Prepare with the call's (unverified) messages, then
// Execute for each in order, then Flush (one synchronous write and one
// state report per call). b.N counts commands, so ns/op and cpu-µs/op
// are per command; each command comes from its own caller, as in a busy
// network. The relayer's proof checks are not included (see the worker
// package's benchmarks).
func BenchmarkCommandBatch(b *testing.B) {
	for _, scheme := range []keys.Scheme{keys.SchemeEd25519, keys.SchemeSr25519} {
		for _, n := range []int{40, 200} {
			b.Run(fmt.Sprintf("%s/%d", scheme, n), func(b *testing.B) { benchCommandBatch(b, scheme, n) })
		}
	}
}

func benchCommandBatch(b *testing.B, scheme keys.Scheme, n int) {
	h := newHarness(b, "hello-world", hopt{})
	h.install("")
	h.flush()
	callers := make([]keys.Signer, n)
	for i := range callers {
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		if scheme == keys.SchemeSr25519 {
			callers[i] = keys.NewSr25519FromSeed(seed)
		} else {
			callers[i] = keys.NewEd25519FromSeed(seed)
		}
	}
	b.StopTimer()
	// Seal every command and build the dispatch calls outside the timer.
	type call struct {
		req  *workerv1.DispatchMessagesRequest
		msgs []*mqv1.Message
	}
	var calls []call
	seq := h.seq
	for done := 0; done < b.N; {
		k := min(n, b.N-done)
		c := call{req: &workerv1.DispatchMessagesRequest{Version: 1}}
		tm := &workerv1.TopicMessages{Topic: mq.ContractTopic(h.id)}
		for j := range k {
			who := callers[j]
			env := h.sealCommand(who, uint64(done/n+1), "increment", `{"by":1}`)
			h.seq = seq
			m := h.message(commandMsg(who.Public().Key, env))
			raw, err := proto.Marshal(m)
			if err != nil {
				b.Fatal(err)
			}
			tm.Messages = append(tm.Messages, &workerv1.ProvenMessage{Sequence: seq, Message: raw})
			c.msgs = append(c.msgs, m)
			seq++
		}
		c.req.Topics = []*workerv1.TopicMessages{tm}
		calls = append(calls, c)
		done += k
	}
	h.seq = seq
	ctx := context.Background()
	prepared0 := h.e.prepared.Load()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.StartTimer()
	for _, c := range calls {
		h.e.Prepare(ctx, c.req)
		for _, m := range c.msgs {
			out, err := h.e.Execute(ctx, h.id, m)
			if err != nil || out.Status != StatusOK {
				b.Fatal(out, err)
			}
		}
		if _, err := h.e.Flush(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportCPU(b, cpu0, "commands")
	if got := h.e.prepared.Load() - prepared0; got != uint64(b.N) {
		b.Fatalf("%d of %d commands were opened by the preparation", got, b.N)
	}
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
