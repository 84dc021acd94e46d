package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	dbm "github.com/cometbft/cometbft-db"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	"github.com/cometbft/cometbft/proxy"
	"github.com/cometbft/cometbft/rpc/client/local"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/node/api"
)

// Options configure Start beyond the files in the home.
type Options struct {
	Logger *slog.Logger
	// VerboseConsensus shows CometBFT's info logs.
	VerboseConsensus bool
	// Comet, when set, replaces config.toml (dev networks build it in code).
	Comet *cmtcfg.Config
	// Veil, when set, replaces config/veil.json.
	Veil *VeilConfig
}

// Node is a running Veil node.
type Node struct {
	Home   string
	App    *app.App
	Comet  *cmtnode.Node
	API    *api.Service
	apiURL string
	rpcURL string
	http   *http.Server
	log    *slog.Logger
	dbs    *dbTracker
}

// dbTracker remembers every database CometBFT opens: v0.38's node does not
// close its indexer database on Stop, which would keep the LevelDB lock
// and make a restart in the same process fail.
type dbTracker struct {
	mu  sync.Mutex
	dbs []dbm.DB
}

func (t *dbTracker) provide(ctx *cmtcfg.DBContext) (dbm.DB, error) {
	db, err := cmtcfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	c := &closeTolerantDB{DB: db}
	t.mu.Lock()
	t.dbs = append(t.dbs, c)
	t.mu.Unlock()
	return c, nil
}

// closeTolerantDB answers reads after Close as "not found" instead of
// with leveldb's ErrClosed. CometBFT v0.38's consensus reactor starts a
// queryMaj23Routine per peer that it does not wait for on Stop; one that
// wakes after the stores are closed loads a commit, gets ErrClosed and
// panics ("leveldb: closed"), taking the whole process down with it — a
// real hazard for anything that stops a node in-process (tests, 'veil
// dev'). Reads hold the read lock so Close cannot interleave with one.
type closeTolerantDB struct {
	dbm.DB
	mu     sync.RWMutex
	closed bool
}

func (d *closeTolerantDB) Get(key []byte) ([]byte, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return nil, nil
	}
	return d.DB.Get(key)
}

func (d *closeTolerantDB) Has(key []byte) (bool, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return false, nil
	}
	return d.DB.Has(key)
}

func (d *closeTolerantDB) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	return d.DB.Close()
}

// closeAll closes the databases; ones CometBFT closed already just report
// that, which is ignored.
func (t *dbTracker) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, db := range t.dbs {
		_ = db.Close()
	}
	t.dbs = nil
}

// Start opens the node's stores, starts CometBFT with the Veil app
// in-process (one mutex per ABCI connection), and serves
// the Connect API. It returns once the node is running; call Stop to shut
// down cleanly (state is flushed, a later Start resumes).
func Start(ctx context.Context, home string, opts Options) (*Node, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	conf := opts.Comet
	if conf == nil {
		var err error
		if conf, err = LoadCometConfig(home); err != nil {
			return nil, err
		}
	}
	conf.SetRoot(home)
	vc := DefaultVeilConfig()
	if opts.Veil != nil {
		vc = *opts.Veil
	} else {
		var err error
		if vc, err = LoadVeilConfig(home); err != nil {
			return nil, err
		}
	}
	// Refused before anything starts (pruning, CORS origins), not after
	// consensus is up.
	if err := vc.Validate(); err != nil {
		return nil, fmt.Errorf("Veil config: %w", err)
	}

	// The consensus key signs votes (CometBFT) and proves the randomness
	// of the blocks this node proposes (the app).
	pv := privval.LoadFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	var consensusKey []byte
	if pv.Key.PrivKey.Type() == ed25519.KeyType {
		consensusKey = pv.Key.PrivKey.Bytes()
	} else {
		log.Warn("the consensus key is not ed25519: this node cannot prove block randomness, and blocks it proposes will be rejected", "type", pv.Key.PrivKey.Type())
	}
	application, err := app.New(app.Config{
		DataDir:      filepath.Join(home, "data", "veil"),
		Store:        storeOptions(vc),
		Logger:       log.With("component", "app"),
		ConsensusKey: consensusKey,
	})
	if err != nil {
		return nil, fmt.Errorf("open application state: %w", err)
	}
	nodeKey, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		application.Close()
		return nil, fmt.Errorf("load node key (run 'veil node init'): %w", err)
	}
	dbs := &dbTracker{}
	cn, err := cmtnode.NewNodeWithContext(ctx, conf, pv, nodeKey,
		// One mutex per ABCI connection: the app synchronizes its own state,
		// so CheckTx (mempool) runs while FinalizeBlock (consensus) does.
		proxy.NewConnSyncLocalClientCreator(application),
		cmtnode.DefaultGenesisDocProviderFunc(conf),
		dbs.provide,
		cmtnode.DefaultMetricsProvider(conf.Instrumentation),
		NewCometLogger(log, opts.VerboseConsensus),
	)
	if err != nil {
		dbs.closeAll()
		application.Close()
		return nil, fmt.Errorf("create consensus node: %w", err)
	}
	if err := cn.Start(); err != nil {
		dbs.closeAll()
		application.Close()
		return nil, fmt.Errorf("start consensus node: %w", err)
	}
	n := &Node{Home: home, App: application, Comet: cn, log: log, rpcURL: httpURL(conf.RPC.ListenAddress), dbs: dbs}
	svc := api.New(application, local.New(cn), log.With("component", "api"))
	n.API = svc
	ln, err := net.Listen("tcp", vc.APIListen)
	if err != nil {
		n.stopComet()
		return nil, fmt.Errorf("listen for API on %s: %w", vc.APIListen, err)
	}
	n.apiURL = "http://" + ln.Addr().String()
	if n.http, err = svc.HTTPServer(vc.CORSOrigins); err != nil {
		ln.Close()
		n.stopComet()
		return nil, err
	}
	go func() {
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("API server stopped", "err", err)
		}
	}()
	log.Info("node started", "home", home, "chain_id", cn.GenesisDoc().ChainID, "api", n.apiURL, "rpc", n.rpcURL)
	return n, nil
}

func storeOptions(vc VeilConfig) store.Options {
	return store.Options{Pruning: vc.Pruning, CacheSize: vc.StateCacheSize}
}

// APIURL is the Connect API's base URL.
func (n *Node) APIURL() string { return n.apiURL }

// RPCURL is CometBFT's RPC base URL.
func (n *Node) RPCURL() string { return n.rpcURL }

// Stop shuts the API and consensus down and closes the stores.
func (n *Node) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if n.http != nil {
		n.API.Close()
		if err := n.http.Shutdown(ctx); err != nil {
			// A client that keeps a connection busy must not keep the node
			// from stopping: close what is left, and say so.
			n.log.Warn("API connections did not finish in time; closing them", "err", err)
			if err := n.http.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close API: %w", err))
			}
		}
	}
	if err := n.stopComet(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (n *Node) stopComet() error {
	var errs []error
	if n.Comet.IsRunning() {
		if err := n.Comet.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop consensus: %w", err))
		}
		n.Comet.Wait()
	}
	n.dbs.closeAll()
	if err := n.App.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close state: %w", err))
	}
	return errors.Join(errs...)
}

// httpURL turns CometBFT's "tcp://host:port" into an http URL.
func httpURL(listen string) string {
	const p = "tcp://"
	if len(listen) > len(p) && listen[:len(p)] == p {
		return "http://" + listen[len(p):]
	}
	return listen
}
