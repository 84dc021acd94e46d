package devnet

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/node"
	"github.com/veil-network/veil/relay"
	"github.com/veil-network/veil/worker"
)

// WorkerPortOffset: worker i of a network with a port base listens on
// PortBase+WorkerPortOffset+i (26700 for the first worker by default, the
// worker's own default port).
const WorkerPortOffset = 100

// DevReportEvery is how often (in verified blocks) dev workers report their
// sync height on chain, so 'veil query workers' shows it moving. Only a
// worker that has reported is online for contract assignment, so a short
// interval keeps a fresh dev network's start-up (gatekeeper, example
// contracts) within seconds.
const DevReportEvery = 5

// DevBenchmarkDuration is how long dev workers benchmark themselves at
// start (the score P only has to be positive and plausible on a dev
// machine; a production worker runs worker.DefaultBenchmarkDuration).
const DevBenchmarkDuration = 100 * time.Millisecond

// DevComputeStake is the stake each dev worker's relayer starts computing
// with (raised to the chain's minimum k·√P if that is higher): 1,000
// tokens of the operator's dev endowment (decimal base units).
const DevComputeStake = "1000000000000000"

// DevChallengesPerHour makes each dev worker answer a heartbeat about
// every 30 s, so heartbeats and rewards are visible at once.
const DevChallengesPerHour = 120

// DevResponseWindow is the least time a dev worker has to answer a
// heartbeat challenge.
const DevResponseWindow = 10 * time.Second

// devComputeGenesis tunes the compute section for a dev chain: its block
// time, and frequent heartbeats.
func devComputeGenesis(appState json.RawMessage, blockTime time.Duration) (json.RawMessage, error) {
	var st map[string]json.RawMessage
	if err := json.Unmarshal(appState, &st); err != nil {
		return nil, fmt.Errorf("dev genesis app_state: %w", err)
	}
	var g compute.Genesis
	raw, ok := st[compute.Name]
	if !ok {
		raw = (&compute.Module{}).DefaultGenesis()
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, fmt.Errorf("dev genesis compute section: %w", err)
	}
	if blockTime <= 0 {
		blockTime = time.Second
	}
	g.Params.ExpectedBlockMs = uint64(max(blockTime.Milliseconds(), 1))
	g.Params.ChallengesPerHour = DevChallengesPerHour
	// A live worker answers within a few blocks, but a dev machine under
	// load (tests, builds) can stall it for seconds: give it at least
	// DevResponseWindow, however fast the blocks.
	g.Params.ResponseWindowBlocks = max(g.Params.ResponseWindowBlocks, uint64((DevResponseWindow+blockTime-1)/blockTime))
	b, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	st[compute.Name] = b
	return json.Marshal(st)
}

// WorkerOperatorURI is the secret URI of worker i's operator account:
// //Alice//worker<i> (sr25519), a dev-known account derived from //Alice
// and funded in the dev genesis. Dedicated operators keep the relayers'
// transactions from racing the nonces of the accounts people use by hand.
func WorkerOperatorURI(i int) string { return fmt.Sprintf("//Alice//worker%d", i) }

func workerOperator(i int) (keys.Signer, error) {
	s, err := keys.FromURI(WorkerOperatorURI(i), keys.SchemeSr25519)
	if err != nil {
		return nil, fmt.Errorf("worker operator %d: %w", i, err)
	}
	return s, nil
}

// WorkerHome is worker i's data directory under the network's home.
func WorkerHome(home string, i int) string {
	return filepath.Join(home, "workers", fmt.Sprintf("worker%d", i))
}

// fundWorkerOperators adds the operators of n workers to the bank section
// of appState (unless already funded), so their relayers can pay fees.
func fundWorkerOperators(appState json.RawMessage, n int) (json.RawMessage, error) {
	if n <= 0 {
		return appState, nil
	}
	var st map[string]json.RawMessage
	if err := json.Unmarshal(appState, &st); err != nil {
		return nil, fmt.Errorf("dev genesis app_state: %w", err)
	}
	var g bank.Genesis
	if raw, ok := st[bank.Name]; ok {
		if err := json.Unmarshal(raw, &g); err != nil {
			return nil, fmt.Errorf("dev genesis bank section: %w", err)
		}
	} else if err := json.Unmarshal((&bank.Module{}).DefaultGenesis(), &g); err != nil {
		return nil, err
	}
	addrs := make([]string, n)
	for i := range n {
		s, err := workerOperator(i)
		if err != nil {
			return nil, err
		}
		addrs[i] = types.AccountID(s.Public().Key).Address(42)
	}
	fundDev(&g, addrs...)
	b, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	st[bank.Name] = b
	return json.Marshal(st)
}

// fundDev gives each of addrs a dev endowment in g, unless it has a
// balance there already.
func fundDev(g *bank.Genesis, addrs ...string) {
	funded := make(map[string]bool, len(g.Balances))
	for _, b := range g.Balances {
		funded[b.Address] = true
	}
	for _, a := range addrs {
		if !funded[a] {
			g.Balances = append(g.Balances, bank.GenesisBalance{Address: a, Free: bank.DevEndowment})
			funded[a] = true
		}
	}
}

// relayProc is a running relayer.
type relayProc struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (p relayProc) stop() {
	if p.cancel != nil {
		p.cancel()
		<-p.done
	}
}

// startWorkers starts Opts.Workers simulated workers and their relayers.
// Each relayer talks to validator i mod N, registers its worker in the
// background (with 1 s blocks, a few seconds after start) and keeps it in
// sync: light blocks, proven messages, egress.
func (n *Network) startWorkers() error {
	for i := range max(n.Opts.Workers, 0) {
		listen := "127.0.0.1:0"
		if n.Opts.PortBase > 0 {
			listen = fmt.Sprintf("127.0.0.1:%d", n.Opts.PortBase+WorkerPortOffset+i)
		}
		w, err := n.newWorker(i, listen)
		if err != nil {
			return err
		}
		n.Workers = append(n.Workers, w)
		r, p, err := n.startRelayer(i, w)
		if err != nil {
			return err
		}
		n.Relayers, n.relays = append(n.Relayers, r), append(n.relays, p)
		op, _ := workerOperator(i)
		n.Info.Workers = append(n.Info.Workers, client.WorkerInfo{
			Name: workerName(i), API: w.URL(), Identity: "0x" + hex.EncodeToString(w.Identity()), TEE: string(w.Kind()),
			Operator: types.AccountID(op.Public().Key).Address(42), OperatorURI: WorkerOperatorURI(i),
			Home: WorkerHome(n.Opts.Home, i), RelayNode: n.relayNode(i).APIURL(),
		})
	}
	return nil
}

func workerName(i int) string { return fmt.Sprintf("worker%d", i) }

func (n *Network) relayNode(i int) *node.Node { return n.Nodes[i%len(n.Nodes)] }

// newWorker opens and starts worker i (its sealed keys and sync state
// survive in its home).
func (n *Network) newWorker(i int, listen string) (*worker.Worker, error) {
	log := n.Opts.Logger.With("worker", workerName(i))
	w, err := worker.New(context.Background(), worker.Config{Home: WorkerHome(n.Opts.Home, i), TEE: attest.KindSimulated, Listen: listen,
		ReportEvery: DevReportEvery, BenchmarkDuration: DevBenchmarkDuration, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", workerName(i), err)
	}
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", workerName(i), err)
	}
	return w, nil
}

// startRelayer starts worker i's relayer in the background.
func (n *Network) startRelayer(i int, w *worker.Worker) (*relay.Relayer, relayProc, error) {
	op, err := workerOperator(i)
	if err != nil {
		return nil, relayProc{}, err
	}
	var stake *types.Amount
	if !n.Opts.NoCompute {
		a := types.MustParseAmount(DevComputeStake)
		stake = &a
	}
	r, err := relay.New(relay.Config{
		WorkerURL: w.URL(), Node: client.New(n.relayNode(i).APIURL()), Operator: op, ComputeStake: stake,
		Collateral: &relay.PCS{}, PollInterval: n.Opts.BlockTime, MinBackoff: n.Opts.BlockTime,
		Logger: n.Opts.Logger.With("worker", workerName(i)),
		// New blocks reach the worker within a fraction of a block; a
		// restarted node within seconds.
		SyncInterval: min(relay.DefaultSyncInterval, n.Opts.BlockTime/4), MaxBackoff: 5 * time.Second,
	})
	if err != nil {
		return nil, relayProc{}, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := relayProc{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		_ = r.Run(ctx)
	}()
	return r, p, nil
}

// RestartRelayer stops worker i's relayer and starts a new one (tests:
// the relayer keeps no state of its own).
func (n *Network) RestartRelayer(i int) error {
	n.relays[i].stop()
	r, p, err := n.startRelayer(i, n.Workers[i])
	if err != nil {
		return err
	}
	n.Relayers[i], n.relays[i] = r, p
	return nil
}

// RestartWorker stops worker i and its relayer, then starts both again on
// the same API address: the worker resumes from its sealed keys and sync
// checkpoint.
func (n *Network) RestartWorker(i int) error {
	n.relays[i].stop()
	addr := strings.TrimPrefix(n.Workers[i].URL(), "http://")
	if err := n.Workers[i].Close(); err != nil {
		return err
	}
	w, err := n.newWorker(i, addr)
	if err != nil {
		return err
	}
	n.Workers[i] = w
	r, p, err := n.startRelayer(i, w)
	if err != nil {
		return err
	}
	n.Relayers[i], n.relays[i] = r, p
	return nil
}

// RestartNode stops validator i's node and starts it again from its home,
// with the same ports; workers and relayers keep running (and retry).
func (n *Network) RestartNode(ctx context.Context, i int) error {
	if err := n.Nodes[i].Stop(); err != nil {
		return err
	}
	nd, err := node.Start(ctx, validatorHome(n.Opts.Home, i), n.nodeOpts[i])
	if err != nil {
		return fmt.Errorf("restart validator%d: %w", i, err)
	}
	n.Nodes[i] = nd
	return nil
}

// StopWorker stops worker i and its relayer for good (tests: a worker
// that went away). Its data stays in WorkerHome; Stop skips it.
func (n *Network) StopWorker(i int) error {
	if n.stopped[i] {
		return nil
	}
	n.relays[i].stop()
	n.relays[i] = relayProc{}
	if n.stopped == nil {
		n.stopped = map[int]bool{}
	}
	n.stopped[i] = true
	return n.Workers[i].Close()
}

// stopWorkers stops the relayers (waiting for them) and then the workers.
func (n *Network) stopWorkers() {
	for _, p := range n.relays {
		p.stop()
	}
	for i, w := range n.Workers {
		if !n.stopped[i] {
			_ = w.Close()
		}
	}
	n.Workers, n.Relayers, n.relays, n.stopped = nil, nil, nil, nil
}
