package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/auth"
)

// InitOptions control 'veil node init'.
type InitOptions struct {
	Moniker string
	// ChainID of a new single-validator genesis; ignored when Genesis is set.
	ChainID string
	// Genesis is a genesis.json to install instead of creating one.
	Genesis []byte
	// Comet overrides the default config.toml (e.g. dev ports).
	Comet *cmtcfg.Config
	Veil  *VeilConfig
	// AppState overrides the default dev app_state of a new genesis.
	AppState json.RawMessage
	// GenesisTime of a new genesis (zero = now).
	GenesisTime time.Time
	// SkipGenesis creates keys and config only (multi-validator set-ups
	// write the genesis once every validator key exists).
	SkipGenesis bool
}

// InitResult reports what init created.
type InitResult struct {
	Home        string `json:"home"`
	NodeID      string `json:"node_id"`
	ValidatorPK string `json:"validator_pubkey"`
	ChainID     string `json:"chain_id"`
	GenesisFile string `json:"genesis_file"`
}

// Init creates a node home: config files, node key, validator key, and a
// genesis (given, or a new one with this node as the only validator).
// Existing keys are kept, so re-running init is safe.
func Init(home string, opts InitOptions) (*InitResult, error) {
	if opts.Veil != nil {
		// Written only if a node can start with it.
		if err := opts.Veil.Validate(); err != nil {
			return nil, fmt.Errorf("Veil config: %w", err)
		}
	}
	conf := opts.Comet
	if conf == nil {
		conf = DefaultCometConfig(home, opts.Moniker)
	}
	if opts.Moniker != "" {
		conf.Moniker = opts.Moniker
	}
	for _, d := range []string{filepath.Join(home, "config"), filepath.Join(home, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create %s: %w", d, err)
		}
	}
	cmtcfg.WriteConfigFile(filepath.Join(home, "config", "config.toml"), conf)
	vc := DefaultVeilConfig()
	if opts.Veil != nil {
		vc = *opts.Veil
	}
	if _, err := os.Stat(veilConfigPath(home)); errors.Is(err, os.ErrNotExist) || opts.Veil != nil {
		if err := WriteVeilConfig(home, vc); err != nil {
			return nil, err
		}
	}
	nodeKey, err := p2p.LoadOrGenNodeKey(conf.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("node key: %w", err)
	}
	pv := privval.LoadOrGenFilePV(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	pub, err := pv.GetPubKey()
	if err != nil {
		return nil, fmt.Errorf("validator key: %w", err)
	}
	res := &InitResult{Home: home, NodeID: string(nodeKey.ID()), ValidatorPK: fmt.Sprintf("%X", pub.Bytes()), GenesisFile: conf.GenesisFile()}

	switch {
	case opts.SkipGenesis:
	case opts.Genesis != nil:
		doc, err := cmttypes.GenesisDocFromJSON(opts.Genesis)
		if err != nil {
			return nil, fmt.Errorf("invalid genesis: %w", err)
		}
		if err := doc.SaveAs(conf.GenesisFile()); err != nil {
			return nil, fmt.Errorf("write genesis: %w", err)
		}
		res.ChainID = doc.ChainID
	default:
		if doc, err := cmttypes.GenesisDocFromFile(conf.GenesisFile()); err == nil {
			res.ChainID = doc.ChainID
			return res, nil
		}
		if opts.ChainID == "" {
			return nil, errors.New("a chain id is required to create a new genesis")
		}
		appState := opts.AppState
		if appState == nil {
			st := app.DefaultGenesis(app.NewModuleSet().Modules)
			if appState, err = json.Marshal(st); err != nil {
				return nil, err
			}
		}
		gt := opts.GenesisTime
		if gt.IsZero() {
			gt = cmttime()
		}
		doc := &cmttypes.GenesisDoc{
			ChainID:         opts.ChainID,
			GenesisTime:     gt,
			InitialHeight:   1,
			ConsensusParams: DefaultConsensusParams(),
			Validators: []cmttypes.GenesisValidator{{
				Address: pub.Address(), PubKey: pub, Power: 10, Name: conf.Moniker,
			}},
			AppState: appState,
		}
		if err := doc.ValidateAndComplete(); err != nil {
			return nil, fmt.Errorf("genesis: %w", err)
		}
		if err := doc.SaveAs(conf.GenesisFile()); err != nil {
			return nil, fmt.Errorf("write genesis: %w", err)
		}
		res.ChainID = opts.ChainID
	}
	return res, nil
}

// cmttime is the genesis time for a new chain: now, rounded to the
// millisecond as CometBFT's canonical time encoding keeps it.
func cmttime() time.Time { return time.Now().UTC().Round(time.Millisecond) }

// MaxTxBytes is CometBFT's mempool limit per transaction (config.toml
// mempool.max_tx_bytes), raised from CometBFT's 1 MiB to auth's default
// max_tx_bytes so contract code uploads (2 MiB) reach CheckTx; blocks hold
// 8 MiB. The chain's own limit (auth params) is the one that decides: the
// mempool's is 64 KiB above it, so a transaction just over the chain's
// limit gets the chain's coded tx_too_large answer, not CometBFT's
// uncoded one.
const MaxTxBytes = auth.DefaultMaxTxBytes + 64<<10

// maxRPCBodyBytes lets CometBFT's RPC accept a MaxTxBytes transaction
// encoded in JSON (base64 or hex).
const maxRPCBodyBytes = 3*MaxTxBytes + 1<<20

// DefaultConsensusParams allow blocks large enough for thousands of
// transfers per second (8 MiB) and accept only ed25519 validator keys.
func DefaultConsensusParams() *cmttypes.ConsensusParams {
	p := cmttypes.DefaultConsensusParams()
	p.Block.MaxBytes = 8 << 20
	p.Validator.PubKeyTypes = []string{cmttypes.ABCIPubKeyTypeEd25519}
	return p
}

// ValidatorPubKey reads the consensus public key of a node home.
func ValidatorPubKey(home string) (crypto.PubKey, error) {
	conf := cmtcfg.DefaultConfig()
	conf.SetRoot(home)
	pv := privval.LoadFilePVEmptyState(conf.PrivValidatorKeyFile(), conf.PrivValidatorStateFile())
	return pv.GetPubKey()
}

// NodeID reads the p2p node id of a node home.
func NodeID(home string) (string, error) {
	conf := cmtcfg.DefaultConfig()
	conf.SetRoot(home)
	k, err := p2p.LoadNodeKey(conf.NodeKeyFile())
	if err != nil {
		return "", fmt.Errorf("node key: %w", err)
	}
	return string(k.ID()), nil
}
