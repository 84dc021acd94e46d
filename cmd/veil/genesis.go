package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/spf13/cobra"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/node"
)

func init() { registerCommand(newGenesisCmd) }

func newGenesisCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "genesis",
		Short: "Create and edit a network's genesis.json",
		Long: `Create and edit a CometBFT genesis.json whose app_state holds Veil's genesis:
"chain" (ss58_prefix, token), and one section per module ("auth" fees and
limits, "bank" balances and existential deposit, "sudo" governance key).
See docs/operations.md.`,
	}
	cmd.AddCommand(newGenesisNewCmd(), newGenesisAddAccountCmd(), newGenesisAddValidatorCmd(), newGenesisValidateCmd())
	return cmd
}

func loadGenesis(path string) (*cmttypes.GenesisDoc, app.GenesisState, error) {
	doc, err := cmttypes.GenesisDocFromFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read genesis %s: %w", path, err)
	}
	var st app.GenesisState
	if err := json.Unmarshal(doc.AppState, &st); err != nil {
		return nil, nil, fmt.Errorf("genesis app_state: %w", err)
	}
	return doc, st, nil
}

func saveGenesis(path string, doc *cmttypes.GenesisDoc, st app.GenesisState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	doc.AppState = b
	if _, _, err := app.ParseGenesis(b, app.NewModuleSet().Modules); err != nil {
		return err
	}
	return doc.SaveAs(path)
}

func newGenesisNewCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "new --chain-id ID --out FILE",
		Short: "Create a genesis with no validators yet",
		Example: `  veil genesis new --chain-id veil-test-1 --out genesis.json --sudo 5Grw… --no-dev-accounts
  veil genesis new --chain-id local-1 --out genesis.json`,
		Args: cobra.NoArgs,
	}
	var chainID, out, sudo string
	var noDev bool
	var prefix uint16
	cmd.Flags().StringVar(&chainID, "chain-id", "", "chain id (required)")
	cmd.Flags().StringVar(&out, "out", "genesis.json", "file to write")
	cmd.Flags().StringVar(&sudo, "sudo", "", "governance (sudo) account (default //Alice)")
	cmd.Flags().BoolVar(&noDev, "no-dev-accounts", false, "do not fund the Substrate dev accounts, and refuse simulated TEE workers (a real network)")
	cmd.Flags().Uint16Var(&prefix, "ss58-prefix", 42, "SS58 address prefix")
	_ = cmd.MarkFlagRequired("chain-id")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		st := app.DefaultGenesis(app.NewModuleSet().Modules)
		cp := app.DefaultChainParams()
		cp.SS58Prefix = prefix
		st["chain"], _ = json.Marshal(cp)
		if noDev {
			// A real network: no simulated workers, empty allowlist.
			st[registry.Name], _ = json.Marshal(registry.ProductionGenesis())
		}
		if noDev || prefix != 42 {
			var g bank.Genesis
			if err := json.Unmarshal(st["bank"], &g); err != nil {
				return err
			}
			g.Balances = nil
			st["bank"], _ = json.Marshal(g)
		}
		if sudo != "" {
			id, err := types.ParseAddress(sudo, prefix)
			if err != nil {
				return fmt.Errorf("--sudo: %w", err)
			}
			st["sudo"], _ = json.Marshal(map[string]string{"key": id.Address(prefix)})
		} else if prefix != 42 {
			return fmt.Errorf("--sudo is required with a non-default --ss58-prefix")
		}
		doc := &cmttypes.GenesisDoc{
			ChainID: chainID, GenesisTime: time.Now().UTC().Round(time.Millisecond), InitialHeight: 1,
			ConsensusParams: node.DefaultConsensusParams(),
		}
		if err := doc.ValidateAndComplete(); err != nil {
			return err
		}
		if err := saveGenesis(out, doc, st); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (chain %s); add validators with 'veil genesis add-validator'\n", out, chainID)
		return nil
	}
	return cmd
}

func genesisPrefix(st app.GenesisState) uint16 {
	cp := app.DefaultChainParams()
	_ = json.Unmarshal(st["chain"], &cp)
	return cp.SS58Prefix
}

func newGenesisAddAccountCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "add-account FILE ADDRESS AMOUNT",
		Short:   "Fund an account in genesis (AMOUNT in the smallest unit)",
		Example: `  veil genesis add-account genesis.json 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty 1000000000000000`,
		Args:    cobra.ExactArgs(3),
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		doc, st, err := loadGenesis(args[0])
		if err != nil {
			return err
		}
		prefix := genesisPrefix(st)
		id, err := types.ParseAddress(args[1], prefix)
		if err != nil {
			return err
		}
		amt, err := types.ParseAmount(args[2])
		if err != nil {
			return fmt.Errorf("amount: %w", err)
		}
		var g bank.Genesis
		if err := json.Unmarshal(st["bank"], &g); err != nil {
			return fmt.Errorf("bank section: %w", err)
		}
		for _, b := range g.Balances {
			if other, err := types.ParseAddress(b.Address, prefix); err == nil && other == id {
				return fmt.Errorf("%s is already funded in genesis", id.Address(prefix))
			}
		}
		g.Balances = append(g.Balances, bank.GenesisBalance{Address: id.Address(prefix), Free: amt})
		st["bank"], _ = json.Marshal(g)
		if err := saveGenesis(args[0], doc, st); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "funded %s with %s\n", id.Address(prefix), amt)
		return nil
	}
	return cmd
}

func newGenesisAddValidatorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add-validator FILE (--pubkey KEY | --home NODEHOME) [--power N] [--name NAME]",
		Short: "Add a genesis validator by its CometBFT ed25519 consensus key",
		Long: `Add a genesis validator. --pubkey is the ed25519 consensus public key printed
by 'veil node init' (hex or base64); --home reads it from a node home.`,
		Example: `  veil genesis add-validator genesis.json --pubkey 6B0A…(64 hex) --name alpha
  veil genesis add-validator genesis.json --home ~/.veil/node`,
		Args: cobra.ExactArgs(1),
	}
	var pubkey, home, name string
	var power int64
	cmd.Flags().StringVar(&pubkey, "pubkey", "", "ed25519 consensus public key, hex or base64")
	cmd.Flags().StringVar(&home, "home", "", "read the key from this node home")
	cmd.Flags().StringVar(&name, "name", "", "validator name")
	cmd.Flags().Int64Var(&power, "power", 10, "voting power")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		doc, st, err := loadGenesis(args[0])
		if err != nil {
			return err
		}
		var pk ed25519.PubKey
		switch {
		case home != "":
			p, err := node.ValidatorPubKey(home)
			if err != nil {
				return err
			}
			pk = ed25519.PubKey(p.Bytes())
		case pubkey != "":
			b, err := staking.ParseConsensusKey(pubkey)
			if err != nil {
				return fmt.Errorf("--pubkey: %w", err)
			}
			pk = ed25519.PubKey(b)
		default:
			return fmt.Errorf("give --pubkey or --home")
		}
		if power <= 0 {
			return fmt.Errorf("--power must be positive")
		}
		for _, v := range doc.Validators {
			if v.PubKey.Equals(pk) {
				return fmt.Errorf("validator %X is already in genesis", pk.Bytes())
			}
		}
		doc.Validators = append(doc.Validators, cmttypes.GenesisValidator{Address: pk.Address(), PubKey: pk, Power: power, Name: name})
		if err := saveGenesis(args[0], doc, st); err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "added validator %X (power %d)\n", pk.Address(), power)
		return nil
	}
	return cmd
}

func newGenesisValidateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a genesis file: CometBFT fields and every module section",
		Args:  cobra.ExactArgs(1),
	}
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		doc, err := cmttypes.GenesisDocFromFile(args[0])
		if err != nil {
			return err
		}
		if len(doc.Validators) == 0 {
			return fmt.Errorf("genesis has no validators")
		}
		cp, _, err := app.ParseGenesis(doc.AppState, app.NewModuleSet().Modules)
		if err != nil {
			return err
		}
		v := map[string]any{"chain_id": doc.ChainID, "validators": len(doc.Validators), "ss58_prefix": cp.SS58Prefix, "valid": true}
		return printResult(cmd.OutOrStdout(), *out, v, func(w io.Writer) error {
			fmt.Fprintf(w, "%s is valid: chain %s, %d validators\n", args[0], doc.ChainID, len(doc.Validators))
			return nil
		})
	}
	return cmd
}
