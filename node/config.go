// Package node runs a Veil node: CometBFT embedded in-process with the Veil
// application as a local ABCI 2.0 app, plus the Connect application API.
// A node's home is a standard CometBFT home (config/config.toml,
// config/genesis.json, keys, data/) plus config/veil.json for Veil's own
// settings, so operators can use CometBFT's documentation for consensus,
// p2p and mempool tuning.
package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/spf13/viper"

	"github.com/veil-network/veil/chain/store"
	"github.com/veil-network/veil/internal/httpcors"
)

// VeilConfig is config/veil.json.
type VeilConfig struct {
	// APIListen is the Connect API's listen address (host:port).
	APIListen string `json:"api_listen"`
	// CORSOrigins allowed to call the API from a browser ("*" for any).
	CORSOrigins []string      `json:"cors_origins"`
	Pruning     store.Pruning `json:"pruning"`
	// StateCacheSize is the IAVL node cache size (nodes).
	StateCacheSize int `json:"state_cache_size"`
}

// DefaultVeilConfig listens on loopback only: exposing the API is an
// explicit operator decision.
func DefaultVeilConfig() VeilConfig {
	return VeilConfig{
		APIListen:      "127.0.0.1:26650",
		CORSOrigins:    []string{"*"},
		Pruning:        store.DefaultPruning,
		StateCacheSize: 200_000,
	}
}

func veilConfigPath(home string) string { return filepath.Join(home, "config", "veil.json") }

// MinKeepRecent is the fewest recent state versions a pruning node may
// keep (pruning.keep_recent; 0 keeps every version instead).
//
// Readers hold on to one past version for a while and fail, or worse,
// when it is pruned under them. A relayer reads every proof of a sync
// round (the worker's egress sequence, then batches of proven messages)
// at one version, the latest its worker verified, for up to its 3-minute
// round timeout: 180 versions at Veil's 1-second blocks. Light clients
// prove reads at heights they verified, a little behind the head. And a
// snapshot iteration that spans a commit keeps reading the version it
// started on: if that version is deleted meanwhile, IAVL finds its nodes
// missing and the read fails as a store failure. A keep_recent of 1 or
// 10 breaks all of these at every pruning. 1,000 versions (about 17
// minutes of 1-second blocks) is five times the longest of them; a
// reader that falls further behind syncs headers and reads at a newer
// height. The cost is small: versions share all unchanged nodes.
const MinKeepRecent = 1000

// Validate reports settings a node cannot run with, before anything
// starts: so that LoadVeilConfig refuses such a file naming it, and Init
// never writes one.
func (c VeilConfig) Validate() error {
	if err := httpcors.Validate(c.CORSOrigins); err != nil {
		return fmt.Errorf("cors_origins: %w", err)
	}
	return validatePruning(c.Pruning)
}

// validatePruning: keep_recent is 0 (keep every version: an archive
// node) or at least MinKeepRecent; interval, how many commits apart
// pruning runs, is positive when pruning is on (0 would silently never
// prune).
func validatePruning(p store.Pruning) error {
	switch {
	case p.KeepRecent < 0:
		return fmt.Errorf("pruning.keep_recent is %d: use 0 to keep every version, or at least %d", p.KeepRecent, MinKeepRecent)
	case p.KeepRecent == 0:
		if p.Interval < 0 {
			return fmt.Errorf("pruning.interval is %d: it must not be negative", p.Interval)
		}
		return nil
	case p.KeepRecent < MinKeepRecent:
		return fmt.Errorf("pruning.keep_recent is %d, below the minimum of %d: relayers, light clients and queries read proofs at recent past heights, which would be pruned under them (docs/operations.md, \"Pruning\"); use at least %d, or 0 to keep every version",
			p.KeepRecent, MinKeepRecent, MinKeepRecent)
	case p.Interval <= 0:
		return fmt.Errorf("pruning.interval is %d with keep_recent %d: pruning would never run; use a positive interval (default %d), or keep_recent 0 to keep every version",
			p.Interval, p.KeepRecent, store.DefaultPruning.Interval)
	}
	return nil
}

// LoadVeilConfig reads config/veil.json, falling back to defaults for
// missing fields, and validates it.
func LoadVeilConfig(home string) (VeilConfig, error) {
	c := DefaultVeilConfig()
	b, err := os.ReadFile(veilConfigPath(home))
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read veil config: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("parse %s: %w", veilConfigPath(home), err)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("invalid %s: %w", veilConfigPath(home), err)
	}
	return c, nil
}

// WriteVeilConfig writes config/veil.json.
func WriteVeilConfig(home string, c VeilConfig) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(veilConfigPath(home), append(b, '\n'), 0o644)
}

// LoadCometConfig reads config/config.toml the way CometBFT's own binary
// does (viper over the defaults), so every documented option works.
func LoadCometConfig(home string) (*cmtcfg.Config, error) {
	conf := cmtcfg.DefaultConfig()
	v := viper.New()
	v.SetConfigFile(filepath.Join(home, "config", "config.toml"))
	if err := v.ReadInConfig(); err != nil {
		return nil, fmt.Errorf("read %s (run 'veil node init' first): %w", filepath.Join(home, "config", "config.toml"), err)
	}
	if err := v.Unmarshal(conf); err != nil {
		return nil, fmt.Errorf("parse config.toml: %w", err)
	}
	conf.SetRoot(home)
	if err := conf.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("invalid config.toml: %w", err)
	}
	return conf, nil
}

// DevCometConfig tunes CometBFT for a local network: 1-second blocks,
// loopback-only listeners, a large mempool, and no peer-exchange.
func DevCometConfig(home, moniker string, p2pPort, rpcPort int) *cmtcfg.Config {
	c := DefaultCometConfig(home, moniker)
	c.P2P.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", p2pPort)
	c.RPC.ListenAddress = fmt.Sprintf("tcp://127.0.0.1:%d", rpcPort)
	c.RPC.CORSAllowedOrigins = []string{"*"}
	c.P2P.AllowDuplicateIP = true
	c.P2P.AddrBookStrict = false
	c.P2P.PexReactor = false
	c.Consensus.TimeoutPropose = 2 * time.Second
	c.Mempool.Size = 50_000
	c.Mempool.MaxTxsBytes = 256 << 20
	c.Mempool.CacheSize = 100_000
	c.Instrumentation.Prometheus = false
	return c
}

// DefaultCometConfig is CometBFT's default config for a home, with the
// settings Veil expects everywhere (1 s commit timeout, kv tx index, and
// transaction and RPC body limits that fit a contract code upload).
func DefaultCometConfig(home, moniker string) *cmtcfg.Config {
	c := cmtcfg.DefaultConfig()
	c.SetRoot(home)
	c.Moniker = moniker
	c.Consensus.TimeoutCommit = time.Second
	c.TxIndex.Indexer = "kv"
	c.Mempool.MaxTxBytes = MaxTxBytes
	c.RPC.MaxBodyBytes = maxRPCBodyBytes
	return c
}
