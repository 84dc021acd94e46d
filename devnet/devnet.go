// Package devnet runs a whole Veil network in one process on loopback: N
// validators with distinct homes and ports, the Substrate dev accounts
// funded, and a network.json describing every endpoint. 'veil dev' and the
// integration tests use it; the same components run as separate processes
// in production ('veil node start').
package devnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/node"
	"github.com/veil-network/veil/relay"
	"github.com/veil-network/veil/worker"
)

// DefaultChainID of dev networks.
const DefaultChainID = "veil-dev"

// DefaultPortBase: validator i uses PortBase+10*i (+0 p2p, +1 CometBFT
// RPC, +2 Veil API); the Web UI PortBase+UIPortOffset, worker i
// PortBase+WorkerPortOffset+i.
const DefaultPortBase = 26600

// Options configure a dev network.
type Options struct {
	Home string
	// PortBase of the first validator; 0 picks free ports (tests).
	PortBase   int
	Validators int
	// Reset wipes Home first; otherwise an existing network resumes.
	Reset   bool
	ChainID string
	Logger  *slog.Logger
	// AppState overrides the default dev genesis app_state (tests).
	AppState json.RawMessage
	// BlockTime is the target block interval (default 1s).
	BlockTime time.Duration
	Verbose   bool
	// Workers is the number of simulated TEE workers, each with its own
	// relayer registering it from the operator account WorkerOperatorURI(i)
	// (funded in genesis). 0 runs none. Each worker benchmarks itself
	// (DevBenchmarkDuration) and its relayer binds it and keeps it
	// computing with DevComputeStake, so heartbeats, rewards and random
	// scheduling work from the start.
	Workers int
	// NoCompute leaves the workers registered but unbound: nothing is
	// staked and no contract can be scheduled on them (tests of the
	// compute CLI bind and start by hand).
	NoCompute bool
	// EditGenesis, when set, edits the dev genesis app_state last (after
	// the staking section with the validators is added), e.g. to shorten
	// eras in tests.
	EditGenesis func(app.GenesisState) error
	// Gatekeeper designates worker 0 as gatekeeper (sudo) once it is
	// registered and waits until it has published the master key, so
	// contracts can be instantiated. Implied by Contracts.
	Gatekeeper bool
	// Contracts is a directory holding the example contracts built to
	// wasm (<name>.wasm for each of ExampleContracts; 'make contracts'
	// writes bin/contracts). When set, Start deploys them (from //Alice,
	// once: a resumed network finds them) and lists them in network.json
	// under "contracts". Needs Workers > 0.
	Contracts string
	// ContractReplicas is the number of workers assigned to each example
	// contract (default min(2, Workers)).
	ContractReplicas int
	// UIDir is a built Web UI (a Vite app: index.html and assets/, 'make
	// web' writes web/app/dist). When set, the network serves it on
	// 127.0.0.1:PortBase+UIPortOffset (a free port without a port base)
	// along with /network.json, the network's public description, and
	// lists its URL in network.json as "ui". A directory without
	// index.html is served as a page explaining how to build the UI.
	UIDir string
}

// Network is a running dev network.
type Network struct {
	Opts    Options
	Nodes   []*node.Node
	Info    *client.Network
	netFile string
	// Workers and their Relayers, index-aligned with Info.Workers.
	Workers  []*worker.Worker
	Relayers []*relay.Relayer
	// relays stop each relayer (index-aligned with Relayers).
	relays []relayProc
	// nodeOpts is how each node was started, for RestartNode.
	nodeOpts []node.Options
	// stopped marks workers StopWorker stopped.
	stopped map[int]bool
	// ui serves Opts.UIDir (nil without one).
	ui *uiServer
}

type ports struct{ p2p, rpc, api int }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func allocPorts(base, n int) ([]ports, error) {
	out := make([]ports, n)
	for i := range out {
		if base > 0 {
			b := base + 10*i
			out[i] = ports{b, b + 1, b + 2}
			continue
		}
		var ps [3]int
		for j := range ps {
			p, err := freePort()
			if err != nil {
				return nil, fmt.Errorf("find a free port: %w", err)
			}
			ps[j] = p
		}
		out[i] = ports{ps[0], ps[1], ps[2]}
	}
	return out, nil
}

// NetworkFile is where a dev network's description is written.
func NetworkFile(home string) string { return filepath.Join(home, "network.json") }

func validatorHome(home string, i int) string {
	return filepath.Join(home, "validators", fmt.Sprintf("validator%d", i))
}

// Start creates (or resumes) and starts the network. It returns once every
// node is running and the first block is committed.
func Start(ctx context.Context, o Options) (*Network, error) {
	if o.Home == "" {
		return nil, errors.New("a home directory is required")
	}
	if o.Validators <= 0 {
		o.Validators = 1
	}
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BlockTime <= 0 {
		o.BlockTime = time.Second
	}
	if o.Reset {
		if err := os.RemoveAll(o.Home); err != nil {
			return nil, fmt.Errorf("reset %s: %w", o.Home, err)
		}
	}
	if err := os.MkdirAll(o.Home, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", o.Home, err)
	}
	existing := countExisting(o.Home)
	if existing > 0 && existing != o.Validators {
		return nil, fmt.Errorf("%s holds a network of %d validators, not %d: use --reset to start a new one", o.Home, existing, o.Validators)
	}
	ps, err := allocPorts(o.PortBase, o.Validators)
	if err != nil {
		return nil, err
	}
	monikers := make([]string, o.Validators)
	confs := make([]*cmtcfg.Config, o.Validators)
	for i := range o.Validators {
		monikers[i] = fmt.Sprintf("validator%d", i)
		c := node.DevCometConfig(validatorHome(o.Home, i), monikers[i], ps[i].p2p, ps[i].rpc)
		c.Consensus.TimeoutCommit = o.BlockTime
		confs[i] = c
		// Keys and config only: the genesis needs every validator's key.
		if _, err := node.Init(validatorHome(o.Home, i), node.InitOptions{Comet: c, Moniker: monikers[i], SkipGenesis: true}); err != nil {
			return nil, err
		}
	}
	if existing == 0 {
		if err := writeGenesis(o); err != nil {
			return nil, err
		}
	}
	// Persistent peers: every validator dials every other.
	for i, c := range confs {
		var peers []string
		for j := range confs {
			if j != i {
				peers = append(peers, fmt.Sprintf("%s@127.0.0.1:%d", nodeID(validatorHome(o.Home, j)), ps[j].p2p))
			}
		}
		c.P2P.PersistentPeers = strings.Join(peers, ",")
	}

	n := &Network{Opts: o, netFile: NetworkFile(o.Home)}
	for i, c := range confs {
		vc := node.DefaultVeilConfig()
		vc.APIListen = fmt.Sprintf("127.0.0.1:%d", ps[i].api)
		nopts := node.Options{Logger: o.Logger.With("node", monikers[i]), Comet: c, Veil: &vc, VerboseConsensus: o.Verbose}
		nd, err := node.Start(ctx, validatorHome(o.Home, i), nopts)
		if err != nil {
			n.Stop()
			return nil, fmt.Errorf("start %s: %w", monikers[i], err)
		}
		n.Nodes = append(n.Nodes, nd)
		n.nodeOpts = append(n.nodeOpts, nopts)
	}
	first := n.Nodes[0]
	n.Info = &client.Network{
		ChainID: first.Comet.GenesisDoc().ChainID,
		Node:    client.Endpoints{API: first.APIURL(), RPC: first.RPCURL(), P2P: fmt.Sprintf("tcp://127.0.0.1:%d", ps[0].p2p)},
		Workers: []client.WorkerInfo{},
		Home:    o.Home,
		PID:     os.Getpid(),
	}
	for i, nd := range n.Nodes {
		n.Info.Validators = append(n.Info.Validators, client.Validator{
			Moniker: monikers[i], Home: nd.Home, NodeID: nodeID(nd.Home),
			Node: client.Endpoints{API: nd.APIURL(), RPC: nd.RPCURL(), P2P: fmt.Sprintf("tcp://127.0.0.1:%d", ps[i].p2p)},
		})
	}
	if o.UIDir != "" {
		if err := n.startUI(); err != nil {
			n.Stop()
			return nil, err
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c := client.New(first.APIURL())
	if err := c.WaitHeight(wctx, first.App.Tree().Version()+1); err != nil {
		n.Stop()
		return nil, fmt.Errorf("network did not produce a block: %w", err)
	}
	if err := n.startWorkers(); err != nil {
		n.Stop()
		return nil, err
	}
	if err := n.writeInfo(); err != nil {
		n.Stop()
		return nil, err
	}
	if err := n.setupContracts(ctx); err != nil {
		n.Stop()
		return nil, err
	}
	if len(n.Info.Contracts) > 0 {
		if err := n.writeInfo(); err != nil {
			n.Stop()
			return nil, err
		}
	}
	return n, nil
}

func countExisting(home string) int {
	n := 0
	for {
		if _, err := os.Stat(filepath.Join(validatorHome(home, n), "config", "genesis.json")); err != nil {
			return n
		}
		n++
	}
}

// nodeID reads a node's p2p id; node keys exist after Init, and a missing
// one surfaces as an error when that node starts.
func nodeID(home string) string {
	id, _ := node.NodeID(home)
	return id
}

func writeGenesis(o Options) error {
	appState := o.AppState
	if appState == nil {
		var err error
		if appState, err = json.Marshal(app.DefaultGenesis(app.NewModuleSet().Modules)); err != nil {
			return err
		}
	}
	appState, err := fundWorkerOperators(appState, o.Workers)
	if err != nil {
		return err
	}
	if appState, err = devComputeGenesis(appState, o.BlockTime); err != nil {
		return err
	}
	// The validators are staking's genesis validators; genesis.json lists
	// them with the power staking's InitChain gives them, so both agree.
	appState, power, err := addStakingGenesis(appState, o.Home, o.Validators)
	if err != nil {
		return err
	}
	if appState, err = editGenesis(appState, o.EditGenesis); err != nil {
		return err
	}
	doc := &cmttypes.GenesisDoc{
		ChainID:         o.ChainID,
		GenesisTime:     time.Now().UTC().Round(time.Millisecond),
		InitialHeight:   1,
		ConsensusParams: node.DefaultConsensusParams(),
		AppState:        appState,
	}
	for i := range o.Validators {
		pub, err := node.ValidatorPubKey(validatorHome(o.Home, i))
		if err != nil {
			return err
		}
		doc.Validators = append(doc.Validators, cmttypes.GenesisValidator{
			Address: pub.Address(), PubKey: pub, Power: power, Name: fmt.Sprintf("validator%d", i),
		})
	}
	if err := doc.ValidateAndComplete(); err != nil {
		return fmt.Errorf("dev genesis: %w", err)
	}
	for i := range o.Validators {
		if err := doc.SaveAs(filepath.Join(validatorHome(o.Home, i), "config", "genesis.json")); err != nil {
			return fmt.Errorf("write genesis: %w", err)
		}
	}
	return nil
}

// Stop stops the UI server, the workers and every node (in reverse order)
// and removes network.json so clients do not talk to a stopped network.
func (n *Network) Stop() error {
	n.stopUI()
	n.stopWorkers()
	var errs []error
	for i := len(n.Nodes) - 1; i >= 0; i-- {
		if err := n.Nodes[i].Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	n.Nodes = nil
	if n.netFile != "" {
		os.Remove(n.netFile)
	}
	return errors.Join(errs...)
}

// Client returns an SDK client for the first validator's API.
func (n *Network) Client() *client.Client { return client.New(n.Info.Node.API) }
