package client

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/veil-network/veil/internal/sealfile"
)

// Network is the network.json that 'veil dev' writes: the chain id and
// every endpoint, so client commands and tests need no other configuration.
type Network struct {
	ChainID    string          `json:"chain_id"`
	Node       Endpoints       `json:"node"`
	Validators []Validator     `json:"validators,omitempty"`
	Workers    []WorkerInfo    `json:"workers"`
	UI         string          `json:"ui,omitempty"`
	Contracts  json.RawMessage `json:"contracts,omitempty"`
	Home       string          `json:"home"`
	PID        int             `json:"pid"`
}

// Endpoints of one node.
type Endpoints struct {
	API string `json:"api"`
	RPC string `json:"rpc"`
	P2P string `json:"p2p,omitempty"`
}

// Validator is one node of a dev network.
type Validator struct {
	Moniker string    `json:"moniker"`
	Home    string    `json:"home"`
	NodeID  string    `json:"node_id"`
	Node    Endpoints `json:"node"`
}

// WorkerInfo is one TEE worker of a dev network.
type WorkerInfo struct {
	Name string `json:"name"`
	API  string `json:"api"`
	// Identity is the worker's ed25519 identity key (0x hex), its id in
	// the registry.
	Identity string `json:"identity,omitempty"`
	// TEE is the platform kind ("simulated" on dev networks).
	TEE string `json:"tee,omitempty"`
	// Operator is the SS58 address of the account that registers the
	// worker; OperatorURI its (dev-known) secret URI.
	Operator    string `json:"operator,omitempty"`
	OperatorURI string `json:"operator_uri,omitempty"`
	// Home is the worker's data directory; RelayNode the API its relayer
	// submits to.
	Home      string `json:"home,omitempty"`
	RelayNode string `json:"relay_node,omitempty"`
}

// DefaultNetworkFile is ~/.veil/dev/network.json.
func DefaultNetworkFile() string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".veil", "dev", "network.json")
	}
	return filepath.Join(home, ".veil", "dev", "network.json")
}

// LoadNetwork reads a network.json.
func LoadNetwork(path string) (*Network, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read network file (start a network with 'veil dev' or pass --node URL): %w", err)
	}
	var n Network
	if err := json.Unmarshal(b, &n); err != nil {
		return nil, fmt.Errorf("parse network file %s: %w", path, err)
	}
	if n.Node.API == "" {
		return nil, fmt.Errorf("network file %s has no node.api endpoint", path)
	}
	return &n, nil
}

// Write saves the network file atomically (readers never see half a file).
func (n *Network) Write(path string) error {
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	if err := sealfile.WriteAtomic(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("network file: %w", err)
	}
	return nil
}
