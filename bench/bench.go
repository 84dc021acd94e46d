// Package bench measures end-to-end chain throughput: signed transfers
// driven into a single-validator node until finalized, and, in the same run
// on the same machine, CometBFT's own kvstore example application driven the
// same way, so the ratio says what Veil's state machine costs on top of
// consensus.
package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	abci "github.com/cometbft/cometbft/abci/types"
	cmtcfg "github.com/cometbft/cometbft/config"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/rpc/client/local"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/randomness"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keys"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
	txv1 "github.com/veil-network/veil/gen/veil/tx/v1"
	"github.com/veil-network/veil/node"
	"google.golang.org/protobuf/types/known/anypb"
)

// Options of a transfer benchmark.
type Options struct {
	// Txs is the number of transfers (and of kvstore txs).
	Txs int
	// Accounts sending in parallel (each sends Txs/Accounts in nonce order).
	Accounts int
	// Scheme of the sender keys.
	Scheme keys.Scheme
	// BlockTime is CometBFT's commit timeout.
	BlockTime time.Duration
	// Submitters is the number of concurrent submitting goroutines, as
	// concurrent API clients would be.
	Submitters int
	// SkipKVStore skips the reference run.
	SkipKVStore bool
	Dir         string
	Logger      *slog.Logger
	// Progress receives human-readable progress lines (may be nil).
	Progress func(string)
}

// Result of one run.
type Result struct {
	App         string        `json:"app"`
	Txs         int           `json:"txs"`
	Finalized   int           `json:"finalized"`
	Failed      int           `json:"failed"`
	Blocks      int           `json:"blocks"`
	Duration    time.Duration `json:"duration_ns"`
	TPS         float64       `json:"tps"`
	LatencyP50  time.Duration `json:"commit_latency_p50_ns"`
	LatencyP99  time.Duration `json:"commit_latency_p99_ns"`
	MaxBlockTxs int           `json:"max_block_txs"`
	// SubmitDuration is how long the submitters took to hand every
	// transaction to the mempool (ingestion alone, without finalization).
	SubmitDuration time.Duration `json:"submit_duration_ns"`
	SubmitErrors   int           `json:"submit_errors"`
}

// Report is what 'veil bench transfers' prints.
type Report struct {
	Veil    Result   `json:"veil"`
	KVStore *Result  `json:"kvstore,omitempty"`
	Ratio   *float64 `json:"ratio,omitempty"`
	Scheme  string   `json:"scheme"`
	Senders int      `json:"senders"`
}

func (o *Options) defaults() {
	if o.Txs <= 0 {
		o.Txs = 30_000
	}
	if o.Accounts <= 0 {
		o.Accounts = 1_000
	}
	if o.Submitters <= 0 {
		o.Submitters = 8
	}
	if o.Scheme == "" {
		o.Scheme = keys.SchemeSr25519
	}
	if o.BlockTime <= 0 {
		o.BlockTime = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = func(string) {}
	}
}

// Transfers runs the benchmark.
func Transfers(ctx context.Context, o Options) (*Report, error) {
	o.defaults()
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "veil-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	rep := &Report{Scheme: string(o.Scheme), Senders: o.Accounts}
	o.Progress(fmt.Sprintf("signing %d transfers from %d %s accounts…", o.Txs, o.Accounts, o.Scheme))
	signers, txs, err := signTransfers(o)
	if err != nil {
		return nil, err
	}
	o.Progress("running Veil…")
	v, err := runVeil(ctx, o, filepath.Join(dir, "veil"), signers, txs)
	if err != nil {
		return nil, fmt.Errorf("veil run: %w", err)
	}
	rep.Veil = *v
	if !o.SkipKVStore {
		o.Progress("running CometBFT kvstore…")
		kv := make([][]byte, o.Txs)
		for i := range kv {
			kv[i] = fmt.Appendf(nil, "bench-key-%08d=value-%08d", i, i)
		}
		k, err := runComet(ctx, o, filepath.Join(dir, "kvstore"), "kvstore", kvstore.NewPersistentApplication(filepath.Join(dir, "kvstore-app")), kv)
		if err != nil {
			return nil, fmt.Errorf("kvstore run: %w", err)
		}
		rep.KVStore = k
		if k.TPS > 0 {
			r := v.TPS / k.TPS
			rep.Ratio = &r
		}
	}
	return rep, nil
}

// senderSeed derives benchmark keys deterministically (no secret: these
// accounts exist only in the benchmark's throwaway chain).
func senderSeed(i int) [32]byte {
	return sha256.Sum256(binary.BigEndian.AppendUint64([]byte("veil/bench/sender/"), uint64(i)))
}

func newSigner(scheme keys.Scheme, seed [32]byte) (keys.Signer, error) {
	return keys.FromURI(fmt.Sprintf("0x%x", seed[:]), scheme)
}

func signTransfers(o Options) ([]keys.Signer, [][]byte, error) {
	signers := make([]keys.Signer, o.Accounts)
	for i := range signers {
		s, err := newSigner(o.Scheme, senderSeed(i))
		if err != nil {
			return nil, nil, err
		}
		signers[i] = s
	}
	perAccount := (o.Txs + o.Accounts - 1) / o.Accounts
	txs := make([][]byte, 0, o.Txs)
	// Nonce-major order: every account's nonce 0, then every nonce 1, … so
	// the mempool always holds executable transactions.
	type job struct{ i, nonce, idx int }
	var jobs []job
	for n := 0; n < perAccount; n++ {
		for i := range signers {
			if len(jobs) == o.Txs {
				break
			}
			jobs = append(jobs, job{i, n, len(jobs)})
		}
	}
	txs = txs[:len(jobs)]
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	workers := 2
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := w; j < len(jobs); j += workers {
				jb := jobs[j]
				to := types.AccountID(signers[(jb.i+1)%len(signers)].Public().Key)
				msg, _ := types.PackMsg(&bankv1.MsgTransfer{To: to[:], Amount: "1000000"})
				pub := signers[jb.i].Public()
				raw, err := auth.Encode(&txv1.TxBody{
					ChainId: benchChainID, Sender: pub.Key[:], Nonce: uint64(jb.nonce),
					Fee: "1000000000", ExpiryHeight: 1_000, Messages: []*anypb.Any{msg},
				}, signers[jb.i])
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				txs[jb.idx] = raw
			}
		}()
	}
	wg.Wait()
	return signers, txs, firstErr
}

const benchChainID = "veil-bench"

func benchGenesis(signers []keys.Signer) (json.RawMessage, error) {
	ms := app.NewModuleSet()
	st := app.DefaultGenesis(ms.Modules)
	var g bank.Genesis
	if err := json.Unmarshal(st["bank"], &g); err != nil {
		return nil, err
	}
	g.Params.ExistentialDeposit = types.NewAmount(1)
	for _, s := range signers {
		g.Balances = append(g.Balances, bank.GenesisBalance{Address: s.Public().Address(42), Free: types.MustParseAmount("1000000000000000000")})
	}
	b, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	st["bank"] = b
	return json.Marshal(st)
}

func runVeil(ctx context.Context, o Options, home string, signers []keys.Signer, txs [][]byte) (*Result, error) {
	appState, err := benchGenesis(signers)
	if err != nil {
		return nil, err
	}
	conf := benchConfig(home, o.BlockTime)
	if _, err := node.Init(home, node.InitOptions{Comet: conf, ChainID: benchChainID, AppState: appState, Moniker: "bench"}); err != nil {
		return nil, err
	}
	vc := node.DefaultVeilConfig()
	vc.APIListen = "127.0.0.1:0"
	n, err := node.Start(ctx, home, node.Options{Logger: o.Logger, Comet: conf, Veil: &vc})
	if err != nil {
		return nil, err
	}
	defer n.Stop()
	// The node's API ingress: signature pre-verification on the request's
	// goroutine, then the mempool.
	return drive(ctx, o, "veil", n.Comet, n.App.PreVerify, txs)
}

func runComet(ctx context.Context, o Options, home, name string, application abci.Application, txs [][]byte) (*Result, error) {
	conf := benchConfig(home, o.BlockTime)
	if _, err := node.Init(home, node.InitOptions{Comet: conf, ChainID: benchChainID, AppState: json.RawMessage(`{}`), Moniker: "bench"}); err != nil {
		return nil, err
	}
	nodeKey, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		return nil, err
	}
	pv := privval.LoadFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	cn, err := cmtnode.NewNodeWithContext(ctx, conf, pv, nodeKey, proxy.NewLocalClientCreator(application),
		cmtnode.DefaultGenesisDocProviderFunc(conf), cmtcfg.DefaultDBProvider,
		cmtnode.DefaultMetricsProvider(conf.Instrumentation), node.NewCometLogger(o.Logger, false))
	if err != nil {
		return nil, err
	}
	if err := cn.Start(); err != nil {
		return nil, err
	}
	defer func() { cn.Stop(); cn.Wait() }()
	return drive(ctx, o, name, cn, nil, txs)
}

func benchConfig(home string, blockTime time.Duration) *cmtcfg.Config {
	c := node.DevCometConfig(home, "bench", 0, 0)
	c.P2P.ListenAddress = "tcp://127.0.0.1:0"
	c.RPC.ListenAddress = ""
	c.Consensus.TimeoutCommit = blockTime
	c.Mempool.Size = 200_000
	c.Mempool.CacheSize = 200_000
	c.TxIndex.Indexer = "kv"
	return c
}

// drive submits every tx into the node's mempool from concurrent submitters
// (CometBFT's in-process RPC client, so both apps see identical submission
// cost; each CheckTx result is checked), then follows
// committed blocks until every submitted transaction is finalized.
func drive(ctx context.Context, o Options, name string, cn *cmtnode.Node, preSubmit func([]byte) error, txs [][]byte) (*Result, error) {
	cl := local.New(cn)
	sub, err := cl.Subscribe(ctx, "bench", "tm.event='NewBlock'", 10_000)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	defer cl.UnsubscribeAll(context.Background(), "bench")

	// Start at a block boundary so the first block is not a partial one.
	select {
	case <-sub:
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("%s produced no block", name)
	}

	submitted := make(map[[32]byte]time.Time, len(txs))
	var mu sync.Mutex
	res := &Result{App: name, Txs: len(txs)}
	start := time.Now()
	// Submitter w owns the accounts a ≡ w (mod S) and sends their
	// transactions in nonce order, so no transaction arrives before its
	// predecessor (the mempool would rightly refuse it). On an early
	// return they are cancelled and waited for, so none outlives the node.
	submitCtx, cancelSubmit := context.WithCancel(ctx)
	submitDone := make(chan struct{})
	defer func() { cancelSubmit(); <-submitDone }()
	var submitWG sync.WaitGroup
	submitWG.Add(o.Submitters)
	go func() {
		submitWG.Wait()
		mu.Lock()
		res.SubmitDuration = time.Since(start)
		mu.Unlock()
		close(submitDone)
	}()
	for w := range o.Submitters {
		go func() {
			defer submitWG.Done()
			for i := range txs {
				if submitCtx.Err() != nil {
					return
				}
				if (i%o.Accounts)%o.Submitters != w {
					continue
				}
				tx := txs[i]
				h := sha256.Sum256(tx)
				mu.Lock()
				submitted[h] = time.Now()
				mu.Unlock()
				var err error
				if preSubmit != nil {
					err = preSubmit(tx)
				}
				if err == nil {
					var r *ctypes.ResultBroadcastTx
					if r, err = cl.BroadcastTxSync(submitCtx, tx); err == nil && r.Code != 0 {
						err = fmt.Errorf("code %d: %s", r.Code, r.Log)
					}
				}
				if err != nil {
					mu.Lock()
					res.SubmitErrors++
					mu.Unlock()
				}
			}
		}()
	}

	var latencies []time.Duration
	var last time.Time
	deadline := time.After(10 * time.Minute)
	done := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return res.Finalized+res.Failed+res.SubmitErrors >= len(txs)
	}
	for !done() {
		select {
		case ev := <-sub:
			blk, ok := ev.Data.(cmttypes.EventDataNewBlock)
			if !ok {
				continue
			}
			now := time.Now()
			// Every Veil block starts with its proposer's randomness
			// proof; only the transfers count.
			n := len(blk.Block.Txs)
			if n > 0 && randomness.IsProofTx(blk.Block.Txs[0]) {
				n--
			}
			if n > 0 {
				res.Blocks++
				last = now
			}
			res.MaxBlockTxs = max(res.MaxBlockTxs, n)
			mu.Lock()
			for i, tx := range blk.Block.Txs {
				t0, ok := submitted[sha256.Sum256(tx)]
				if !ok {
					continue
				}
				if blk.ResultFinalizeBlock.TxResults[i].Code == 0 {
					res.Finalized++
				} else {
					res.Failed++
				}
				latencies = append(latencies, now.Sub(t0))
			}
			mu.Unlock()
			o.Progress(fmt.Sprintf("  %s: block %d with %d txs (%d/%d finalized)", name, blk.Block.Height, len(blk.Block.Txs), res.Finalized, len(txs)))
		case <-deadline:
			return nil, fmt.Errorf("%s: only %d of %d transactions finalized after 10 minutes", name, res.Finalized, len(txs))
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	<-submitDone // every submitter returned: SubmitDuration is set
	res.Duration = last.Sub(start)
	if res.Duration > 0 {
		res.TPS = float64(res.Finalized) / res.Duration.Seconds()
	}
	slices.Sort(latencies)
	if n := len(latencies); n > 0 {
		res.LatencyP50 = latencies[n/2]
		res.LatencyP99 = latencies[min(n-1, n*99/100)]
	}
	return res, nil
}
