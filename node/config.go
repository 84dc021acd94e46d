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

// LoadVeilConfig reads config/veil.json, falling back to defaults for
// missing fields.
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
