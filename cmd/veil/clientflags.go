package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/client"
)

// clientFlags are shared by every command that talks to a node.
type clientFlags struct {
	network string
	node    string
	timeout time.Duration

	// dialed memoises dialNetwork for dialedFor (--node and --network),
	// so that a command parsing addresses, token amounts or worker names
	// before it sends reads the network file once and shares one client
	// (with its cached chain status) instead of one per parsed value.
	dialed    *client.Client
	dialedNet *client.Network
	dialedFor [2]string
}

func addClientFlags(cmd *cobra.Command) *clientFlags {
	f := &clientFlags{}
	cmd.Flags().StringVar(&f.network, "network", client.DefaultNetworkFile(), "network.json written by 'veil dev' (ignored when --node is set)")
	cmd.Flags().StringVar(&f.node, "node", "", "node API URL, e.g. http://127.0.0.1:26602 (overrides --network)")
	cmd.Flags().DurationVar(&f.timeout, "timeout", 60*time.Second, "give up after this long")
	return f
}

// dial resolves the node URL from --node or the network file.
func (f *clientFlags) dial() (*client.Client, error) {
	c, _, err := f.dialNetwork()
	return c, err
}

// dialNetwork is dial that also returns the network file (nil with
// --node).
func (f *clientFlags) dialNetwork() (*client.Client, *client.Network, error) {
	key := [2]string{f.node, f.network}
	if f.dialed != nil && f.dialedFor == key {
		return f.dialed, f.dialedNet, nil
	}
	var n *client.Network
	url := f.node
	if url == "" {
		var err error
		if n, err = client.LoadNetwork(f.network); err != nil {
			return nil, nil, err
		}
		url = n.Node.API
	}
	f.dialed, f.dialedNet, f.dialedFor = client.New(url), n, key
	return f.dialed, n, nil
}

func (f *clientFlags) context(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	return context.WithTimeout(cmd.Context(), f.timeout)
}

// formatAmount renders base units with the token's decimals for humans
// (JSON output always carries the exact integer string).
func formatAmount(units string, decimals uint32, symbol string) string {
	if decimals == 0 || len(units) == 0 {
		return units + " " + symbol
	}
	for len(units) <= int(decimals) {
		units = "0" + units
	}
	whole, frac := units[:len(units)-int(decimals)], units[len(units)-int(decimals):]
	for len(frac) > 0 && frac[len(frac)-1] == '0' {
		frac = frac[:len(frac)-1]
	}
	if frac == "" {
		return fmt.Sprintf("%s %s", whole, symbol)
	}
	return fmt.Sprintf("%s.%s %s", whole, frac, symbol)
}
