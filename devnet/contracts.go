package devnet

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/compute"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// ExampleContract is one of the example contracts a dev network deploys.
type ExampleContract struct {
	// Name is the example's directory under contracts/examples, the wasm
	// file's base name in Options.Contracts, the contract's label and its
	// key in network.json's "contracts".
	Name string
	// Init is the public argument of the contract's init method.
	Init string
}

// ExampleContracts are deployed by a dev network with Options.Contracts,
// from <Contracts>/<Name>.wasm ('make contracts' builds them into
// bin/contracts).
var ExampleContracts = []ExampleContract{
	{Name: "hello-world"},
	{Name: "secret-note"},
	{Name: "secret-wallet"},
	{Name: "guess-number", Init: `{"max":100}`},
}

// setupTimeout bounds the gatekeeper and contract set-up of Start: worker
// registration, the master key, four uploads and their keys take about
// 10-20 blocks.
const setupTimeout = 2 * time.Minute

// sudoURI is the dev chain's sudo account (genesis).
const sudoURI = "//Alice"

// setupContracts designates worker 0 as gatekeeper (when asked, or when
// contracts are to be deployed), waits for the master key, and deploys
// the example contracts from Opts.Contracts into Info.Contracts. A
// resumed network finds the gatekeeper and the contracts in place and
// only records them.
func (n *Network) setupContracts(ctx context.Context) error {
	if !n.Opts.Gatekeeper && n.Opts.Contracts == "" {
		return nil
	}
	if len(n.Workers) == 0 {
		if n.Opts.Contracts != "" {
			return errors.New("deploying contracts needs at least one worker (--workers)")
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, setupTimeout)
	defer cancel()
	sudo, err := keys.FromURI(sudoURI, keys.SchemeSr25519)
	if err != nil {
		return err
	}
	defer keys.Wipe(sudo)
	c := n.Client()
	if err := n.ensureGatekeeper(ctx, c, sudo); err != nil {
		return err
	}
	if n.Opts.Contracts == "" {
		return nil
	}
	return n.deployExamples(ctx, c, sudo)
}

// ensureGatekeeper designates worker 0 once it is registered (unless it
// is a gatekeeper already) and waits until a master key is published.
func (n *Network) ensureGatekeeper(ctx context.Context, c *client.Client, sudo keys.Signer) error {
	id := n.Workers[0].Identity()
	idHex := hex.EncodeToString(id)
	log := n.Opts.Logger
	for {
		var gk registry.GatekeepersView
		if _, err := c.QueryModule(ctx, registry.Name, "gatekeepers", nil, &gk); err != nil {
			return fmt.Errorf("gatekeepers query: %w", err)
		}
		isGK := slices.ContainsFunc(gk.Gatekeepers, func(g registry.GatekeeperView) bool {
			b, err := registry.ParseIdentity(g.Identity)
			return err == nil && bytes.Equal(b, id)
		})
		for _, m := range gk.MasterKeys {
			if m.PublishedAt > 0 || len(m.HPKEPublicKey) > 0 {
				if isGK {
					log.Info("gatekeeper ready", "worker", workerName(0), "master_key_epoch", m.Epoch)
				}
				return nil
			}
		}
		if !isGK && len(gk.Gatekeepers) == 0 {
			registered, err := n.workerRegistered(ctx, c, idHex)
			if err != nil {
				return err
			}
			if registered {
				log.Info("designating the gatekeeper", "worker", workerName(0), "identity", idHex)
				_, err := c.Send(ctx, sudo, []proto.Message{&registryv1.MsgRegisterGatekeeper{Identity: id}}, client.TxOptions{Wait: true})
				var txErr *client.TxError
				if err != nil && !(errors.As(err, &txErr) && txErr.Code() == registry.CodeGatekeeperExists) {
					return fmt.Errorf("designate %s as gatekeeper: %w", workerName(0), err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the gatekeeper %s did not publish a master key in time (is its relayer running? see 'veil worker status --worker %s'): %w",
				workerName(0), n.Workers[0].URL(), ctx.Err())
		case <-time.After(n.Opts.BlockTime / 2):
		}
	}
}

func (n *Network) workerRegistered(ctx context.Context, c *client.Client, idHex string) (bool, error) {
	var v registry.WorkerView
	_, err := c.QueryModule(ctx, registry.Name, "worker", registry.WorkerQuery{Identity: idHex}, &v)
	if err != nil {
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return !v.Stale, nil
}

// deployExamples deploys the examples (skipping those already on chain)
// with pipelined transactions from the sudo account, waits for their keys
// and records them in Info.Contracts.
func (n *Network) deployExamples(ctx context.Context, c *client.Client, deployer keys.Signer) error {
	cs := client.NewContracts(c, n.Info)
	cs.PollInterval = max(n.Opts.BlockTime/4, 50*time.Millisecond)
	replicas := n.Opts.ContractReplicas
	if replicas <= 0 {
		replicas = min(2, len(n.Workers))
	}
	named := map[string]client.NetworkContract{}
	var reqs []client.DeployRequest
	for _, ex := range ExampleContracts {
		path := filepath.Join(n.Opts.Contracts, ex.Name+".wasm")
		code, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("contract %s: %w (build the examples with 'make contracts')", ex.Name, err)
		}
		hash := client.CodeHash(code)
		id := client.ContractIDFor([32]byte(deployer.Public().Key), hash, nil)
		if ci, err := cs.GetContract(ctx, id); err == nil {
			// Resumed: every contract must have its keys before the
			// network is announced as ready (DeployMany waits for the
			// new ones).
			if !ci.KeysPublished {
				if ci, err = cs.WaitKeys(ctx, id); err != nil {
					return fmt.Errorf("contract %s: %w", ex.Name, err)
				}
			}
			named[ex.Name] = client.NetworkContract{ID: id.Hex(), Address: ci.Account, CodeHash: hex.EncodeToString(hash[:])}
			continue
		} else if !isNotFound(err) {
			return err
		}
		var init []byte
		if ex.Init != "" {
			init = []byte(ex.Init)
		}
		reqs = append(reqs, client.DeployRequest{Code: code, InitArgs: init, Replicas: uint32(replicas), Label: ex.Name})
	}
	if len(reqs) > 0 {
		start := time.Now()
		if err := n.waitEligible(ctx, c, replicas); err != nil {
			return err
		}
		ds, err := cs.DeployMany(ctx, deployer, reqs)
		if err != nil {
			return fmt.Errorf("deploy the example contracts: %w", err)
		}
		for i, d := range ds {
			named[reqs[i].Label] = client.NetworkContract{ID: d.ID.Hex(), Address: d.Address, CodeHash: hex.EncodeToString(d.CodeHash[:])}
		}
		n.Opts.Logger.Info("example contracts deployed", "count", len(ds), "replicas", replicas, "took", time.Since(start).Round(time.Millisecond))
	}
	return n.Info.SetNamedContracts(named)
}

// waitEligible waits until k workers can be drawn for a contract: bound,
// computing, attested and syncing (their relayers bind and start them a
// few blocks after registration, once the benchmark score is on chain).
func (n *Network) waitEligible(ctx context.Context, c *client.Client, k int) error {
	for {
		var ws []compute.WorkerView
		if _, err := c.QueryModule(ctx, compute.Name, "workers", nil, &ws); err != nil {
			return fmt.Errorf("compute workers query: %w", err)
		}
		eligible := 0
		for _, w := range ws {
			if w.Eligible {
				eligible++
			}
		}
		if eligible >= k {
			return nil
		}
		if n.Opts.NoCompute {
			return fmt.Errorf("%d of the %d workers a contract needs are computing, and NoCompute keeps the others unbound", eligible, k)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of the %d workers the example contracts need are computing (see 'veil query compute workers'): %w", eligible, k, ctx.Err())
		case <-time.After(n.Opts.BlockTime / 2):
		}
	}
}

func isNotFound(err error) bool { return connect.CodeOf(err) == connect.CodeNotFound }
