package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/devnet"
)

func init() { registerCommand(newDevCmd) }

func newDevCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a whole local Veil network in this process",
		Long: `Run a whole local Veil network on 127.0.0.1 in one process: validators with
the Substrate dev accounts (//Alice … //Ferdie) funded and //Alice as sudo.
It writes HOME/network.json with the chain id and every endpoint, which the
client commands read by default. Stop with Ctrl-C; start again with the same
--home to continue the chain, or add --reset to start over.

It also runs --workers simulated TEE workers (default 3), each with a relayer
that registers it from the operator account //Alice//worker<i> (funded in the
dev genesis) within seconds and keeps it in sync with the chain (light
blocks, proven messages, egress; 'veil worker status' shows it); their data
lives under HOME/workers/ and network.json lists them under "workers".
Each worker benchmarks itself at start, and its relayer binds it and starts
computing with a 1,000-token stake, so heartbeat challenges (about every
30 s per worker), rewards and slashing are visible at once ('veil query
compute workers'), and contracts are drawn at random from the computing
workers. Simulated workers protect nothing: they exist so the whole flow
runs on a laptop.

Once worker0 is registered, //Alice (sudo) designates it as gatekeeper and
the network waits until it has published the master key, so contracts can
be deployed ('veil contract deploy'). With --contracts DIR it then deploys
the four example contracts from DIR/<name>.wasm (hello-world, secret-note,
secret-wallet, guess-number with init {"max":100}), each executed by
min(2, --workers) workers, and lists them in network.json under
"contracts" so the contract commands accept their names. 'make dev' builds
them into bin/contracts and passes --contracts bin/contracts. A resumed
network keeps its contracts.

The Web UI: with --ui DIR (default web/app/dist when that directory exists
under the working directory; 'make web' builds it) the network serves the
built app on 127.0.0.1:PORT_BASE+90 and lists its URL in network.json as
"ui". The page talks to the node API and to the workers' ContractService
directly from the browser (both allow any origin: they take no
credentials, only signed and sealed payloads), and reads the endpoints
from /network.json on the same server, the network's public description
(no home directories, no secret URIs). A UI directory without index.html
is served as a page explaining how to build it; rebuilding while the
network runs takes effect on the next reload. --ui="" serves no UI.

Ports: validator i uses PORT_BASE+10*i (p2p), +1 (CometBFT RPC), +2 (Veil API);
the Web UI PORT_BASE+90; worker i's API uses PORT_BASE+100+i.`,
		Example: `  veil dev
  veil dev --home /tmp/veil --port-base 27000 --reset
  veil dev --validators 4
  veil dev --workers 3
  veil dev --workers 0
  veil dev --contracts bin/contracts --workers 3
  veil dev --ui web/app/dist
  veil dev --ui=""`,
		Args: cobra.NoArgs,
	}
	var home, contractsDir, uiDir string
	var portBase, validators, workers int
	var reset bool
	cmd.Flags().StringVar(&home, "home", veilDir("dev"), "directory for the network's data")
	cmd.Flags().IntVar(&portBase, "port-base", devnet.DefaultPortBase, "first port to use; 0 picks free ports")
	cmd.Flags().BoolVar(&reset, "reset", false, "delete the network's data and start from genesis")
	cmd.Flags().IntVar(&validators, "validators", 1, "number of validators")
	cmd.Flags().IntVar(&workers, "workers", 3, "number of simulated TEE workers, each with a relayer, bound and computing")
	cmd.Flags().StringVar(&contractsDir, "contracts", "", "directory with the example contracts built to wasm (<name>.wasm) to deploy; empty: deploy none")
	cmd.Flags().StringVar(&uiDir, "ui", defaultUIDir(), `built Web UI to serve (index.html and assets/; 'make web' builds `+devUIDir+`); "" serves none`)
	lf := addLogFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := lf.logger()
		if err != nil {
			return err
		}
		if validators < 1 || validators > 32 {
			return fmt.Errorf("--validators must be between 1 and 32")
		}
		if workers < 0 || workers > 64 {
			return fmt.Errorf("--workers must be between 0 and 64")
		}
		abs, err := filepath.Abs(home)
		if err != nil {
			return err
		}
		if contractsDir != "" {
			if workers == 0 {
				return fmt.Errorf("--contracts needs at least one worker (--workers)")
			}
			if contractsDir, err = filepath.Abs(contractsDir); err != nil {
				return err
			}
		}
		if uiDir != "" {
			if uiDir, err = filepath.Abs(uiDir); err != nil {
				return err
			}
		}
		n, err := devnet.Start(cmd.Context(), devnet.Options{
			Home: abs, PortBase: portBase, Validators: validators, Reset: reset, Logger: log, Verbose: lf.verbose, Workers: workers,
			Gatekeeper: workers > 0, Contracts: contractsDir, UIDir: uiDir,
		})
		if err != nil {
			return err
		}
		printBanner(cmd.OutOrStdout(), n, cmd.Flags().Changed("ui") && uiDir == "")
		<-cmd.Context().Done()
		fmt.Fprintln(cmd.ErrOrStderr(), "\nstopping the dev network…")
		if err := n.Stop(); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "stopped; 'veil dev --home %s' continues from here\n", abs)
		return nil
	}
	return cmd
}

// devUIDir is where 'make web' puts the built Web UI, relative to the
// repository root.
const devUIDir = "web/app/dist"

// defaultUIDir is devUIDir when it exists under the working directory
// ('make dev' runs from the repository root), else none.
func defaultUIDir() string {
	if fi, err := os.Stat(devUIDir); err == nil && fi.IsDir() {
		return devUIDir
	}
	return ""
}

// printBanner shows the network's endpoints; uiDisabled says the UI was
// turned off with --ui="" (rather than not built).
func printBanner(w io.Writer, n *devnet.Network, uiDisabled bool) {
	info := n.Info
	line := strings.Repeat("─", 72)
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, " Veil dev network %q is running (%d validator(s), 1 s blocks)\n", info.ChainID, len(info.Validators))
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, " Node API (Connect/gRPC)  %s\n", info.Node.API)
	fmt.Fprintf(w, " CometBFT RPC             %s\n", info.Node.RPC)
	for _, v := range info.Validators[1:] {
		fmt.Fprintf(w, " %-24s API %s  RPC %s\n", v.Moniker, v.Node.API, v.Node.RPC)
	}
	switch {
	case info.UI != "" && n.UIBuilt():
		fmt.Fprintf(w, " Web UI                   %s\n", info.UI)
	case info.UI != "":
		fmt.Fprintf(w, " Web UI                   %s (not built yet: run 'make web', then reload)\n", info.UI)
	case uiDisabled:
		fmt.Fprintln(w, " Web UI                   off (--ui=\"\")")
	default:
		fmt.Fprintln(w, " Web UI                   not built: run 'make web' (needs Node.js 20.19+), then restart")
	}
	for _, wk := range info.Workers {
		fmt.Fprintf(w, " TEE worker %-13s %s  (simulated; operator %s)\n", wk.Name, wk.API, wk.OperatorURI)
	}
	if len(info.Workers) > 0 {
		fmt.Fprintf(w, " Gatekeeper               %s (holds the master key)\n", info.Workers[0].Name)
	}
	named, _ := info.NamedContracts()
	if len(named) == 0 {
		fmt.Fprintln(w, " contracts: not deployed (pass --contracts DIR; make dev does)")
	}
	for _, ex := range devnet.ExampleContracts {
		if c, ok := named[ex.Name]; ok {
			fmt.Fprintf(w, " Contract %-15s %s\n", ex.Name, c.ID)
		}
	}
	fmt.Fprintf(w, " Network file             %s\n", devnet.NetworkFile(info.Home))
	fmt.Fprintln(w, line)
	fmt.Fprintln(w, " Dev accounts (sr25519, 1,000,000 VEIL each; //Alice is sudo):")
	for _, a := range bank.DevAccounts {
		fmt.Fprintf(w, "   //%-8s %s\n", a.Name, a.Address)
	}
	fmt.Fprintln(w, line)
	fmt.Fprintf(w, " Try:  veil status --network %s\n", devnet.NetworkFile(info.Home))
	if len(info.Workers) > 0 {
		fmt.Fprintf(w, "       veil query workers --network %s\n", devnet.NetworkFile(info.Home))
		fmt.Fprintf(w, "       veil worker status --worker %s\n", info.Workers[0].API)
	}
	fmt.Fprintf(w, "       veil tx transfer --from //Alice --to %s --amount 1000000000000 --wait --network %s\n", bank.DevAccounts[1].Address, devnet.NetworkFile(info.Home))
	if _, ok := named["hello-world"]; ok {
		fmt.Fprintf(w, "       veil contract call hello-world increment '{\"by\":2}' --from //Alice --wait --network %s\n", devnet.NetworkFile(info.Home))
		fmt.Fprintf(w, "       veil contract query hello-world get_count --from //Bob --network %s\n", devnet.NetworkFile(info.Home))
	}
	fmt.Fprintln(w, " Stop with Ctrl-C; run again with the same --home to continue.")
	fmt.Fprintln(w, line)
}
