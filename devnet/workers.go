package devnet

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	"github.com/veil-network/veil/attest"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/relay"
	"github.com/veil-network/veil/worker"
)

// WorkerPortOffset: worker i of a network with a port base listens on
// PortBase+WorkerPortOffset+i (26700 for the first worker by default, the
// worker's own default port).
const WorkerPortOffset = 100

// DevReportEvery is how often (in verified blocks) dev workers report their
// sync height on chain, so 'veil query workers' shows it moving.
const DevReportEvery = 20

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
	funded := map[string]bool{}
	for _, b := range g.Balances {
		funded[b.Address] = true
	}
	for i := range n {
		s, err := workerOperator(i)
		if err != nil {
			return nil, err
		}
		addr := types.AccountID(s.Public().Key).Address(42)
		if !funded[addr] {
			g.Balances = append(g.Balances, bank.GenesisBalance{Address: addr, Free: bank.DevEndowment})
		}
	}
	b, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	st[bank.Name] = b
	return json.Marshal(st)
}

// startWorkers starts Opts.Workers simulated workers and their relayers.
// Each relayer talks to validator i mod N, registers its worker in the
// background (with 1 s blocks, a few seconds after start) and keeps it in
// sync: light blocks, proven messages, egress.
func (n *Network) startWorkers() error {
	if n.Opts.Workers <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.stopRel = cancel
	n.relDone = make(chan struct{}, n.Opts.Workers)
	for i := range n.Opts.Workers {
		listen := "127.0.0.1:0"
		if n.Opts.PortBase > 0 {
			listen = fmt.Sprintf("127.0.0.1:%d", n.Opts.PortBase+WorkerPortOffset+i)
		}
		name := fmt.Sprintf("worker%d", i)
		log := n.Opts.Logger.With("worker", name)
		w, err := worker.New(ctx, worker.Config{Home: WorkerHome(n.Opts.Home, i), TEE: attest.KindSimulated, Listen: listen,
			ReportEvery: DevReportEvery, Logger: log})
		if err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		if err := w.Start(); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		n.Workers = append(n.Workers, w)
		op, err := workerOperator(i)
		if err != nil {
			return err
		}
		nd := n.Nodes[i%len(n.Nodes)]
		r, err := relay.New(relay.Config{
			WorkerURL: w.URL(), Node: client.New(nd.APIURL()), Operator: op,
			Collateral: &relay.PCS{}, PollInterval: n.Opts.BlockTime, MinBackoff: n.Opts.BlockTime, Logger: log,
			SyncInterval: min(relay.DefaultSyncInterval, n.Opts.BlockTime/4), MaxBackoff: 5 * time.Second,
		})
		if err != nil {
			return err
		}
		n.Relayers = append(n.Relayers, r)
		go func() {
			defer func() { n.relDone <- struct{}{} }()
			_ = r.Run(ctx)
		}()
		n.Info.Workers = append(n.Info.Workers, client.WorkerInfo{
			Name: name, API: w.URL(), Identity: "0x" + hex.EncodeToString(w.Identity()), TEE: string(w.Kind()),
			Operator: types.AccountID(op.Public().Key).Address(42), OperatorURI: WorkerOperatorURI(i),
			Home: WorkerHome(n.Opts.Home, i), RelayNode: nd.APIURL(),
		})
	}
	return nil
}

// stopWorkers stops the relayers (waiting for them) and then the workers.
func (n *Network) stopWorkers() {
	if n.stopRel != nil {
		n.stopRel()
		for range n.Relayers {
			<-n.relDone
		}
		n.stopRel = nil
	}
	for _, w := range n.Workers {
		_ = w.Close()
	}
	n.Workers, n.Relayers = nil, nil
}
