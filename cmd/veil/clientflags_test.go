package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/veil-network/veil/client"
)

// TestDialNetworkOnce: one command reads the network file once and shares
// one client across its parse and send steps; other flags dial anew.
func TestDialNetworkOnce(t *testing.T) {
	netFile := filepath.Join(t.TempDir(), "network.json")
	if err := (&client.Network{Node: client.Endpoints{API: "http://127.0.0.1:1"}}).Write(netFile); err != nil {
		t.Fatal(err)
	}
	cf := &clientFlags{network: netFile}
	c1, n1, err := cf.dialNetwork()
	if err != nil || n1 == nil || c1.URL != "http://127.0.0.1:1" {
		t.Fatalf("first dial: %v %v %v", c1, n1, err)
	}
	if err := os.Remove(netFile); err != nil {
		t.Fatal(err)
	}
	c2, err := cf.dial()
	if err != nil || c2 != c1 {
		t.Fatalf("second dial read the file again or made a new client: %p %p %v", c1, c2, err)
	}
	cf.node = "http://127.0.0.1:2"
	c3, n3, err := cf.dialNetwork()
	if err != nil || n3 != nil || c3.URL != "http://127.0.0.1:2" {
		t.Fatalf("--node: %v %v %v", c3, n3, err)
	}
	cf.node = ""
	if _, _, err := cf.dialNetwork(); err == nil {
		t.Fatal("a changed --node/--network reused the old client")
	}
}
