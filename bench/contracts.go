package bench

import (
	"context"
	"crypto/hpke"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/devnet"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

// ContractOptions configure Contracts, the confidential-contract benchmark:
// a dev network with simulated TEE workers running hello-world, measured
// in three phases (command latency, command throughput, query rate).
type ContractOptions struct {
	// Dir holds the network (default: a temporary directory, removed).
	Dir string
	// BlockTime is the block interval (default 1 s, the premise).
	BlockTime time.Duration
	// Workers run in the network (default 1); Replicas execute the
	// contract (default 1).
	Workers  int
	Replicas int
	// Wasm is hello-world built to wasm (default: built from
	// contracts/examples/hello-world with the Go toolchain).
	Wasm []byte
	// LatencyCalls sequential commands, each submitted at a random point
	// of a block interval and timed until its receipt is readable
	// (default 40).
	LatencyCalls int
	// Commands are submitted as fast as the chain takes them by Accounts
	// accounts, PerTx commands per transaction (defaults 4000, 40, 20).
	Commands int
	Accounts int
	PerTx    int
	// QueryDuration and QueryConcurrency shape the query phase (defaults
	// 10 s, 8 concurrent callers).
	QueryDuration    time.Duration
	QueryConcurrency int
	// Sessions sends the queries under query sessions (one sealed opening
	// query per caller, then symmetric requests).
	Sessions bool
	Logger   *slog.Logger
	Progress func(string)
}

// Percentiles summarise durations in milliseconds.
type Percentiles struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	Max   float64 `json:"max_ms"`
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q int) float64 {
		i := (len(s)*q + 99) / 100
		i = min(max(i-1, 0), len(s)-1)
		return float64(s[i].Microseconds()) / 1000
	}
	return Percentiles{Count: len(s), P50: at(50), P90: at(90), P99: at(99), Max: float64(s[len(s)-1].Microseconds()) / 1000}
}

// ContractReport is the outcome of Contracts.
type ContractReport struct {
	BlockTimeMs int64 `json:"block_time_ms"`
	Workers     int   `json:"workers"`
	Replicas    int   `json:"replicas"`
	// Latency: submit → committed → executed by a worker → receipt read.
	Latency Percentiles `json:"command_latency"`
	// Throughput: Commands executed by every replica, from the first
	// submission to the last execution.
	Commands       int     `json:"commands"`
	CommandSeconds float64 `json:"command_seconds"`
	CommandsPerSec float64 `json:"commands_per_second"`
	// Queries: sealed queries answered end to end over HTTP (client
	// sealing and opening included, in the same process).
	Queries         int         `json:"queries"`
	QueryErrors     int         `json:"query_errors"`
	QueriesPerSec   float64     `json:"queries_per_second"`
	QueryLatency    Percentiles `json:"query_latency"`
	QueryCPUPerCore float64     `json:"queries_per_cpu_second"`
	QuerySessions   bool        `json:"query_sessions"`
}

func (o *ContractOptions) defaults() {
	if o.BlockTime <= 0 {
		o.BlockTime = time.Second
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	o.Replicas = min(o.Replicas, o.Workers)
	if o.LatencyCalls <= 0 {
		o.LatencyCalls = 40
	}
	if o.Commands <= 0 {
		o.Commands = 4000
	}
	if o.Accounts <= 0 {
		o.Accounts = 40
	}
	if o.PerTx <= 0 {
		o.PerTx = 20
	}
	if o.QueryDuration <= 0 {
		o.QueryDuration = 10 * time.Second
	}
	if o.QueryConcurrency <= 0 {
		o.QueryConcurrency = 8
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Contracts runs the confidential-contract benchmark. Every phase is
// bounded by count and time and stops by itself.
func Contracts(ctx context.Context, o ContractOptions) (*ContractReport, error) {
	o.defaults()
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			o.Progress(fmt.Sprintf(format, args...))
		}
	}
	if len(o.Wasm) == 0 {
		progress("building hello-world to wasm")
		wasm, err := client.BuildContract(ctx, filepath.Join(moduleRoot(), "contracts", "examples", "hello-world"))
		if err != nil {
			return nil, err
		}
		o.Wasm = wasm
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "veil-bench-contracts-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	progress("starting a dev network (%d worker(s), %s blocks) with a gatekeeper", o.Workers, o.BlockTime)
	n, err := devnet.Start(ctx, devnet.Options{Home: dir, Reset: true, BlockTime: o.BlockTime, Workers: o.Workers, Gatekeeper: true, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	defer n.Stop()
	c := n.Client()
	cs := client.NewContracts(c, n.Info)
	cs.PollInterval = 10 * time.Millisecond
	if o.Sessions {
		cs.Sessions = &client.QuerySessions{}
		defer cs.Sessions.Close()
	}
	alice, err := keys.FromURI("//Alice", keys.SchemeSr25519)
	if err != nil {
		return nil, err
	}
	// A fresh dev network's workers need a sync report before the chain
	// assigns them: retry the deployment until they are online.
	var dep *client.Deployment
	if err := waitUntil(ctx, 90*time.Second, func() bool {
		dep, err = cs.Deploy(ctx, alice, client.DeployRequest{Code: o.Wasm, Replicas: uint32(o.Replicas), Label: "bench"})
		return err == nil
	}); err != nil {
		return nil, fmt.Errorf("deploy hello-world: %w", err)
	}
	id := dep.ID
	progress("hello-world deployed as %s on %d replica(s)", id.Hex(), o.Replicas)
	rep := &ContractReport{BlockTimeMs: o.BlockTime.Milliseconds(), Workers: o.Workers, Replicas: o.Replicas, QuerySessions: o.Sessions}

	// Phase 1: latency of one command at a time, submitted at a random
	// point of the block interval (a user does not wait for a block).
	var lat []time.Duration
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range o.LatencyCalls {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(rng.Int64N(int64(o.BlockTime)))):
		}
		start := time.Now()
		if _, err := cs.Call(ctx, alice, id, "increment", []byte(`{"by":1}`), client.CallOptions{Wait: true}); err != nil {
			return nil, fmt.Errorf("latency call %d: %w", i, err)
		}
		lat = append(lat, time.Since(start))
	}
	rep.Latency = percentiles(lat)
	progress("command latency: p50 %.0f ms, p99 %.0f ms over %d calls", rep.Latency.P50, rep.Latency.P99, rep.Latency.Count)

	// Phase 2: throughput. Fund the senders, seal every command, then
	// submit pipelined transactions from all senders at once.
	executedBefore := minExecuted(n, id, o.Replicas)
	signers, err := fundSenders(ctx, c, alice, o.Accounts)
	if err != nil {
		return nil, err
	}
	ci, err := cs.GetContract(ctx, id)
	if err != nil {
		return nil, err
	}
	pub, err := client.CommandKey(ci)
	if err != nil {
		return nil, err
	}
	perAccount := (o.Commands + o.Accounts - 1) / o.Accounts
	progress("sealing %d commands from %d accounts", perAccount*o.Accounts, o.Accounts)
	txs := make([][][]byte, len(signers))
	sealErrs := make([]error, len(signers))
	var wg sync.WaitGroup
	for i, s := range signers {
		wg.Go(func() { txs[i], sealErrs[i] = sealCommands(ctx, c, s, pub, id, perAccount, o.PerTx) })
	}
	wg.Wait()
	if err := errors.Join(sealErrs...); err != nil {
		return nil, fmt.Errorf("prepare commands: %w", err)
	}
	total := perAccount * o.Accounts
	target := executedBefore + uint64(total)
	progress("submitting %d commands in %d-command transactions", total, o.PerTx)
	start := time.Now()
	var submitErr atomic.Value
	for i := range signers {
		wg.Go(func() {
			for _, raw := range txs[i] {
				for {
					_, err := c.Submit(ctx, raw, false)
					if err == nil {
						break
					}
					if ctx.Err() != nil {
						return
					}
					// A full mempool pushes back: wait for a block.
					if time.Since(start) > 5*time.Minute {
						submitErr.Store(err)
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	if err, _ := submitErr.Load().(error); err != nil {
		return nil, fmt.Errorf("submit: %w", err)
	}
	if err := waitUntil(ctx, 5*time.Minute, func() bool { return minExecuted(n, id, o.Replicas) >= target }); err != nil {
		return nil, fmt.Errorf("workers executed %d of %d commands: %w", minExecuted(n, id, o.Replicas)-executedBefore, total, err)
	}
	elapsed := time.Since(start)
	rep.Commands, rep.CommandSeconds = total, elapsed.Seconds()
	rep.CommandsPerSec = float64(total) / elapsed.Seconds()
	progress("throughput: %d commands executed by every replica in %.1f s = %.0f/s", total, rep.CommandSeconds, rep.CommandsPerSec)

	// Phase 3: queries, end to end over HTTP, QueryConcurrency callers,
	// to the workers of the record read above (no chain read per query).
	var qlat []time.Duration
	var mu sync.Mutex
	var qerr atomic.Int64
	qctx, cancel := context.WithTimeout(ctx, o.QueryDuration)
	defer cancel()
	cpuStart := processCPU()
	qstart := time.Now()
	for range o.QueryConcurrency {
		wg.Go(func() {
			var local []time.Duration
			for qctx.Err() == nil {
				t := time.Now()
				if _, err := cs.QueryContract(qctx, alice, ci, "get_count", nil); err != nil {
					if qctx.Err() == nil {
						qerr.Add(1)
					}
					continue
				}
				local = append(local, time.Since(t))
			}
			mu.Lock()
			qlat = append(qlat, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	qelapsed := time.Since(qstart)
	cpu := processCPU() - cpuStart
	rep.Queries, rep.QueryErrors = len(qlat), int(qerr.Load())
	rep.QueriesPerSec = float64(len(qlat)) / qelapsed.Seconds()
	rep.QueryLatency = percentiles(qlat)
	if cpu > 0 {
		rep.QueryCPUPerCore = float64(len(qlat)) / cpu.Seconds()
	}
	progress("queries: %.0f/s end to end (p99 %.1f ms), %.0f per CPU-second of the whole process", rep.QueriesPerSec, rep.QueryLatency.P99, rep.QueryCPUPerCore)
	return rep, nil
}

// sealCommands seals perAccount increment commands from s and signs them
// into transactions of perTx commands with consecutive nonces from the
// account's next one.
func sealCommands(ctx context.Context, c *client.Client, s keys.Signer, pub hpke.PublicKey, id client.ContractID, perAccount, perTx int) ([][]byte, error) {
	acct, err := c.Account(ctx, s.Public().Hex())
	if err != nil {
		return nil, err
	}
	nonce := acct.GetNonce()
	var txs [][]byte
	for sent := 0; sent < perAccount; {
		var msgs []proto.Message
		for ; len(msgs) < perTx && sent < perAccount; sent++ {
			env, err := envelope.SealCommand(pub, envelope.Call{ContractID: id, Nonce: uint64(sent + 1), Method: "increment", Args: []byte(`{"by":1}`)}, s)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, &contractsv1.MsgPushCommand{ContractId: id[:], Envelope: env})
		}
		n := nonce
		raw, err := c.BuildTx(ctx, s, msgs, client.TxOptions{Nonce: &n, ExpiryBlocks: 600})
		if err != nil {
			return nil, err
		}
		txs = append(txs, raw)
		nonce++
	}
	return txs, nil
}

// minExecuted is how far the slowest assigned worker has executed the
// contract's log.
func minExecuted(n *devnet.Network, id client.ContractID, replicas int) uint64 {
	var got []uint64
	for _, w := range n.Workers {
		for _, st := range w.Info().GetContracts() {
			if string(st.GetContractId()) == string(id[:]) && st.GetReady() {
				got = append(got, st.GetNextSequence())
			}
		}
	}
	if len(got) < replicas {
		return 0
	}
	return slices.Min(got)
}

// fundSenders creates count sr25519 accounts from fixed seeds and funds
// them from //Alice in one transaction per 64.
func fundSenders(ctx context.Context, c *client.Client, alice keys.Signer, count int) ([]keys.Signer, error) {
	amount, err := types.ParseAmount("1000000000000000")
	if err != nil {
		return nil, err
	}
	var signers []keys.Signer
	var msgs []proto.Message
	flush := func() error {
		if len(msgs) == 0 {
			return nil
		}
		_, err := c.Send(ctx, alice, msgs, client.TxOptions{Wait: true})
		msgs = nil
		return err
	}
	for i := range count {
		s := keys.NewSr25519FromSeed(senderSeed(i))
		signers = append(signers, s)
		to := s.Public().Key
		msgs = append(msgs, &bankv1.MsgTransfer{To: to[:], Amount: amount.String()})
		if len(msgs) == 64 {
			if err := flush(); err != nil {
				return nil, fmt.Errorf("fund senders: %w", err)
			}
		}
	}
	if err := flush(); err != nil {
		return nil, fmt.Errorf("fund senders: %w", err)
	}
	return signers, nil
}

// moduleRoot finds the repository root (the directory with go.mod) from
// the working directory, so the benchmark builds the example wherever it
// is started within the tree.
func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// String renders the report as indented JSON.
func (r *ContractReport) String() string {
	b, _ := json.MarshalIndent(r, "", "  ")
	return string(b)
}

// processCPU is the CPU time (user + system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
