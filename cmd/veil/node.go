package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/internal/httpcors"
	"github.com/veil-network/veil/node"
)

func init() { registerCommand(newNodeCmd) }

func newNodeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a Veil node of a real (multi-machine) network",
		Long: `Run a Veil node: CometBFT with the Veil application in one process, plus the
Connect application API. The home directory is a standard CometBFT home
(config/config.toml, config/genesis.json, keys, data/) plus config/veil.json.

A new network:
  1. on every machine:      veil node init --home ~/.veil/node --moniker NAME
                            (prints the node id and validator public key)
  2. on one machine:        veil genesis new --chain-id mynet --out genesis.json
                            veil genesis add-validator genesis.json --pubkey KEY --name NAME   (per validator)
                            veil genesis add-account genesis.json ADDRESS AMOUNT             (per funded account)
  3. on every machine:      veil node init --home ~/.veil/node --genesis genesis.json
                            veil node start --home ~/.veil/node --peers ID@HOST:26656,...`,
	}
	cmd.AddCommand(newNodeInitCmd(), newNodeStartCmd())
	return cmd
}

func newNodeInitCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Create a node home: config, node key, validator key, genesis",
		Long: `Create a node home. Existing keys are kept, so running init again (e.g. to
install the network's genesis with --genesis) is safe.

Without --genesis or --chain-id only keys and config are created. With
--chain-id a new single-validator genesis (dev accounts funded, //Alice as
sudo) is created for a quick private network.`,
		Example: `  veil node init --home ~/.veil/node --moniker alpha
  veil node init --home ~/.veil/node --genesis genesis.json
  veil node init --home /tmp/solo --chain-id solo-1`,
		Args: cobra.NoArgs,
	}
	var home, moniker, chainID, genesisFile, apiListen, p2pListen, rpcListen, corsOrigins string
	cmd.Flags().StringVar(&home, "home", veilDir("node"), "node home directory")
	cmd.Flags().StringVar(&moniker, "moniker", "", "human-readable node name (default: host name)")
	cmd.Flags().StringVar(&chainID, "chain-id", "", "create a new single-validator genesis with this chain id")
	cmd.Flags().StringVar(&genesisFile, "genesis", "", "install this genesis.json")
	cmd.Flags().StringVar(&apiListen, "api-listen", "", "Veil API listen address (default 127.0.0.1:26650)")
	cmd.Flags().StringVar(&p2pListen, "p2p-listen", "", "CometBFT p2p listen address (default tcp://0.0.0.0:26656)")
	cmd.Flags().StringVar(&rpcListen, "rpc-listen", "", "CometBFT RPC listen address (default tcp://127.0.0.1:26657)")
	addCORSFlag(cmd, &corsOrigins, "write to config/veil.json")
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		if moniker == "" {
			moniker, _ = os.Hostname()
		}
		opts := node.InitOptions{Moniker: moniker, ChainID: chainID, SkipGenesis: chainID == "" && genesisFile == ""}
		if genesisFile != "" {
			b, err := os.ReadFile(genesisFile)
			if err != nil {
				return fmt.Errorf("read genesis: %w", err)
			}
			opts.Genesis = b
		}
		if existing, err := node.LoadCometConfig(home); err == nil {
			opts.Comet = existing
			if moniker != "" && cmd.Flags().Changed("moniker") {
				existing.Moniker = moniker
			}
		}
		if opts.Comet != nil || p2pListen != "" || rpcListen != "" {
			if opts.Comet == nil {
				opts.Comet = node.DefaultCometConfig(home, moniker)
			}
			if p2pListen != "" {
				opts.Comet.P2P.ListenAddress = p2pListen
			}
			if rpcListen != "" {
				opts.Comet.RPC.ListenAddress = rpcListen
			}
		}
		if apiListen != "" || cmd.Flags().Changed("cors-origins") {
			vc, err := node.LoadVeilConfig(home)
			if err != nil {
				return err
			}
			if apiListen != "" {
				vc.APIListen = apiListen
			}
			if err := applyCORSFlag(cmd, corsOrigins, &vc); err != nil {
				return err
			}
			opts.Veil = &vc
		}
		res, err := node.Init(home, opts)
		if err != nil {
			return err
		}
		return printResult(cmd.OutOrStdout(), *out, res, func(w io.Writer) error {
			fmt.Fprintf(w, "home              %s\nnode id           %s\nvalidator pubkey  %s (ed25519, hex)\n", res.Home, res.NodeID, res.ValidatorPK)
			if res.ChainID != "" {
				fmt.Fprintf(w, "chain id          %s\ngenesis           %s\n", res.ChainID, res.GenesisFile)
				fmt.Fprintf(w, "\nstart it with: veil node start --home %s\n", res.Home)
			} else {
				fmt.Fprintln(w, "\nno genesis yet: install one with 'veil node init --home ... --genesis FILE'")
			}
			return nil
		})
	}
	return cmd
}

func newNodeStartCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Start the node and run until interrupted",
		Long: `Start the node and run until SIGINT/SIGTERM, then shut down cleanly. A
restarted node resumes from its last committed block.`,
		Example: `  veil node start --home ~/.veil/node
  veil node start --home ~/.veil/node --peers 1f2e…@10.0.0.2:26656,9a8b…@10.0.0.3:26656
  veil node start --home ~/.veil/node --cors-origins https://app.example.com,http://127.0.0.1:5173`,
		Args: cobra.NoArgs,
	}
	var home, peers, corsOrigins string
	cmd.Flags().StringVar(&home, "home", veilDir("node"), "node home directory")
	cmd.Flags().StringVar(&peers, "peers", "", "comma-separated persistent peers ID@HOST:PORT (overrides config.toml)")
	addCORSFlag(cmd, &corsOrigins, "for this run; overrides config/veil.json")
	lf := addLogFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log, err := lf.logger()
		if err != nil {
			return err
		}
		conf, err := node.LoadCometConfig(home)
		if err != nil {
			return err
		}
		if peers != "" {
			conf.P2P.PersistentPeers = strings.TrimSpace(peers)
		}
		opts := node.Options{Logger: log, Comet: conf, VerboseConsensus: lf.verbose}
		if cmd.Flags().Changed("cors-origins") {
			vc, err := node.LoadVeilConfig(home)
			if err != nil {
				return err
			}
			if err := applyCORSFlag(cmd, corsOrigins, &vc); err != nil {
				return err
			}
			opts.Veil = &vc
		}
		n, err := node.Start(cmd.Context(), home, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "node running: API %s, CometBFT RPC %s (Ctrl-C to stop)\n", n.APIURL(), n.RPCURL())
		<-cmd.Context().Done()
		fmt.Fprintln(cmd.ErrOrStderr(), "stopping…")
		return n.Stop()
	}
	return cmd
}

// addCORSFlag adds --cors-origins: the web origins whose pages may call the
// node's API from a browser. The API takes no credentials (transactions
// are signed, contract payloads sealed), so "*" — the default in
// config/veil.json — lets a page do only what any program can; a list
// limits browser use to known front ends.
func addCORSFlag(cmd *cobra.Command, v *string, where string) {
	cmd.Flags().StringVar(v, "cors-origins", "", `comma-separated web origins allowed to call the API from a browser ("*" for any, the default; "" for none) (`+where+")")
}

// applyCORSFlag sets the config's origins from the flag when it was given.
func applyCORSFlag(cmd *cobra.Command, v string, vc *node.VeilConfig) error {
	if !cmd.Flags().Changed("cors-origins") {
		return nil
	}
	origins, err := httpcors.ParseList(v)
	if err != nil {
		return fmt.Errorf("--cors-origins: %w", err)
	}
	if origins == nil {
		origins = []string{} // "none", written as [] rather than null
	}
	vc.CORSOrigins = origins
	return nil
}
