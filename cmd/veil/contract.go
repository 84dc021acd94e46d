package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
)

func init() { registerCommand(newContractCmd) }

func newContractCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contract",
		Short: "Deploy, call and query confidential contracts",
		Long: `Confidential contracts: WebAssembly modules written in Go (contracts/sdk),
executed by the TEE workers assigned to them. Everything a user sends is
end-to-end encrypted: a command ('call') is sealed to the contract's key and
ordered by the chain, which sees only ciphertext; a query goes straight to an
assigned worker, sealed to the worker's registered key, and only the caller
can read the answer. Both are signed by --from, which the contract sees as
its caller.

CONTRACT arguments are a contract id (64 hex digits, with or without 0x) or
the name of a contract in the network file's "contracts" ('veil dev'
deploys the four examples as hello-world, secret-note, secret-wallet and
guess-number), or the --label a contract was deployed with, when exactly
one contract on chain has it. Workers are reached at the URLs the network file lists; with
--node, pass --worker URL to queries. See docs/contracts.md.`,
		Example: `  veil contract new counter && cd counter && go test ./...
  veil contract deploy ./counter --from //Alice --label counter -o json
  veil contract call hello-world increment '{"by":2}' --from //Alice --wait
  veil contract query hello-world get_count --from //Bob
  veil contract list`,
	}
	cmd.AddCommand(newContractDeployCmd(), newContractCallCmd(), newContractQueryCmd(), newContractDepositCmd(),
		newContractListCmd(), newContractShowCmd(), newContractReceiptCmd(), newContractReassignCmd(), newContractNewCmd())
	return cmd
}

// contractFlags are shared by the contract commands.
type contractFlags struct {
	*clientFlags
	signerFlags
	worker string
	out    *string
}

func addContractFlags(cmd *cobra.Command, signs bool) *contractFlags {
	f := &contractFlags{clientFlags: addClientFlags(cmd)}
	if signs {
		f.signerFlags.add(cmd, "signer and caller")
	}
	f.out = addOutputFlag(cmd)
	return f
}

func (f *contractFlags) addWorkerFlag(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.worker, "worker", "", "send queries to this worker API URL only (it must be assigned to the contract); default: the assigned workers the network file lists, trying the next one if a worker fails")
}

// contracts returns the contract client and the network file (nil with
// --node).
func (f *contractFlags) contracts() (*client.Contracts, *client.Network, error) {
	c, n, err := f.dialNetwork()
	if err != nil {
		return nil, nil, err
	}
	cs := client.NewContracts(c, n)
	cs.WorkerURL = f.worker
	return cs, n, nil
}

// target resolves what most contract commands need: the contract client,
// the contract named by ref (an id, a network.json name or an on-chain
// label) and, with
// withSigner, the --from signer (the caller wipes it).
func (f *contractFlags) target(cmd *cobra.Command, ref string, withSigner bool) (*client.Contracts, client.ContractID, keys.Signer, error) {
	cs, n, err := f.contracts()
	if err != nil {
		return nil, client.ContractID{}, nil, err
	}
	ctx, cancel := f.context(cmd)
	defer cancel()
	id, err := cs.Resolve(ctx, n, ref)
	if err != nil {
		return nil, client.ContractID{}, nil, err
	}
	if !withSigner {
		return cs, id, nil, nil
	}
	signer, err := f.signer(cmd)
	if err != nil {
		return nil, client.ContractID{}, nil, err
	}
	return cs, id, signer, nil
}

// jsonArg validates an optional JSON argument (empty: none).
func jsonArg(args []string, i int, what string) ([]byte, error) {
	if len(args) <= i {
		return nil, nil
	}
	b := []byte(strings.TrimSpace(args[i]))
	if len(b) == 0 {
		return nil, nil
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s must be JSON, e.g. '{\"by\":2}', got %q", what, truncateText(args[i], 80))
	}
	return b, nil
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// rawOrNull keeps a contract's JSON result as is in -o json output.
func rawOrNull(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return b
}

// indentJSON renders a result for humans.
func indentJSON(b json.RawMessage) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, rawOrNull(b), "", "  "); err != nil {
		return string(b)
	}
	return buf.String()
}

func newContractDeployCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy PATH --from URI [--replicas K] [--salt S] [--label L] [--init JSON]",
		Short: "Upload a contract's code (if new) and create an instance",
		Long: `Deploy a contract. PATH is a Go contract package directory (built with the Go
toolchain on PATH: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared
-trimpath -ldflags="-s -w") or a .wasm file (raw or gzip).

The code is uploaded gzip-compressed unless the chain stores it already
(code is content-addressed: identical code is stored once), and the instance
is created in the same transaction; the command then waits until a
gatekeeper has published the contract's keys, so the contract accepts
commands when it returns. --init is the JSON argument of the contract's init
method; it is public (on chain). The contract id is derived from the deployer,
the code and --salt: deploy the same code again with another --salt.
--replicas is how many workers execute the contract (0: the chain's default).

Output: contract_id, code_hash, address (the contract's on-chain account,
which holds deposits), tx_hash and height.`,
		Example: `  veil contract deploy contracts/examples/hello-world --from //Alice
  veil contract deploy bin/contracts/guess-number.wasm --init '{"max":10}' --label game --from //Alice -o json
  veil contract deploy ./mycontract --salt v2 --replicas 2 --from mykey`,
		Args: cobra.ExactArgs(1),
	}
	f := addContractFlags(cmd, true)
	var replicas uint32
	var salt, label, initArgs string
	var noWait bool
	cmd.Flags().Uint32Var(&replicas, "replicas", 0, "number of workers to assign (0: the chain's default)")
	cmd.Flags().StringVar(&salt, "salt", "", "distinguishes instances of the same code by the same deployer (part of the contract id)")
	cmd.Flags().StringVar(&label, "label", "", "human-readable name shown by listings (at most 64 bytes)")
	cmd.Flags().StringVar(&initArgs, "init", "", "JSON arguments of the contract's init method (public)")
	cmd.Flags().BoolVar(&noWait, "no-wait-keys", false, "return once the instance is created, without waiting for its keys")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ia, err := jsonArg([]string{initArgs}, 0, "--init")
		if err != nil {
			return err
		}
		if len(label) > 64 {
			return errors.New("--label is longer than 64 bytes")
		}
		cs, _, err := f.contracts()
		if err != nil {
			return err
		}
		ctx, cancel := f.context(cmd)
		defer cancel()
		code, err := client.LoadContractCode(ctx, args[0])
		if err != nil {
			return err
		}
		signer, err := f.signer(cmd)
		if err != nil {
			return err
		}
		defer keys.Wipe(signer)
		d, err := cs.Deploy(ctx, signer, client.DeployRequest{Code: code, Salt: []byte(salt), InitArgs: ia, Replicas: replicas, Label: label, NoWaitKeys: noWait})
		if err != nil {
			return err
		}
		v := map[string]any{
			"contract_id": d.ID.Hex(), "code_hash": hex.EncodeToString(d.CodeHash[:]), "address": d.Address,
			"tx_hash": fmt.Sprintf("%X", d.TxHash), "height": d.Height, "uploaded": d.Uploaded,
		}
		return printResult(cmd.OutOrStdout(), *f.out, v, func(w io.Writer) error {
			what := "instantiated (code already on chain)"
			if d.Uploaded {
				what = fmt.Sprintf("uploaded (%d bytes) and instantiated", len(code))
			}
			fmt.Fprintf(w, "contract %s at height %d\n", what, d.Height)
			fmt.Fprintf(w, "contract id  %s\n", d.ID.Hex())
			fmt.Fprintf(w, "code hash    %x\n", d.CodeHash)
			fmt.Fprintf(w, "address      %s\n", d.Address)
			if d.Info != nil {
				fmt.Fprintf(w, "workers      %s\n", strings.Join(d.Info.Workers, ", "))
			}
			return nil
		})
	}
	return cmd
}

func newContractCallCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "call CONTRACT METHOD [JSON] --from URI [--wait]",
		Short: "Send an encrypted command to a contract (a transaction)",
		Long: `Send a command: METHOD with the JSON arguments, signed by --from and sealed to
the contract's key, so the chain orders it without reading it. The command
waits for its block and prints the transaction hash and the command's
sequence in the contract's log.

With --wait it also waits until an assigned worker has executed the command
and prints its result (decrypted: only the caller can read a receipt). A
command the contract reverted, or that failed or was rejected, exits with
status 1 and the contract's error text.`,
		Example: `  veil contract call hello-world increment '{"by":2}' --from //Alice --wait
  veil contract call secret-note set_note '{"text":"meet at noon"}' --from //Alice --wait -o json
  veil contract call 0x3f5a…(64 hex) withdraw '{"amount":1000}' --from mykey`,
		Args: cobra.RangeArgs(2, 3),
	}
	f := addContractFlags(cmd, true)
	f.addWorkerFlag(cmd)
	var wait bool
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the command's receipt and print its result")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		a, err := jsonArg(args, 2, "the arguments")
		if err != nil {
			return err
		}
		cs, id, signer, err := f.target(cmd, args[0], true)
		if err != nil {
			return err
		}
		defer keys.Wipe(signer)
		ctx, cancel := f.context(cmd)
		defer cancel()
		r, err := cs.Call(ctx, signer, id, args[1], a, client.CallOptions{Wait: wait})
		var ce *client.ContractError
		if err != nil && (r == nil || r.Receipt == nil || !errors.As(err, &ce)) {
			return err
		}
		v := map[string]any{"tx_hash": fmt.Sprintf("%X", r.TxHash), "height": r.Height, "sequence": r.Sequence}
		if rc := r.Receipt; rc != nil {
			v["result"] = rawOrNull(rc.Result)
			v["status"], v["gas_used"] = rc.Status, rc.GasUsed
			if rc.Error != "" {
				v["error"] = rc.Error
			}
			if len(rc.Events) > 0 {
				v["events"] = rc.Events
			}
		}
		if perr := printResult(cmd.OutOrStdout(), *f.out, v, func(w io.Writer) error {
			fmt.Fprintf(w, "command %d committed at height %d\nhash %X\n", r.Sequence, r.Height, r.TxHash)
			if rc := r.Receipt; rc != nil && rc.Status == client.StatusOK {
				fmt.Fprintf(w, "result (gas %d):\n%s\n", rc.GasUsed, indentJSON(rc.Result))
				for _, e := range rc.Events {
					fmt.Fprintf(w, "event %s %s\n", e.Topic, e.Data)
				}
			} else if !wait {
				fmt.Fprintf(w, "(its result: veil contract receipt %s %d --from …)\n", args[0], r.Sequence)
			}
			return nil
		}); perr != nil {
			return perr
		}
		if ce != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "Error: the command %s: %s\n", ce.Code, ce.Message)
			return &exitError{code: 1, err: err}
		}
		return nil
	}
	return cmd
}

func newContractQueryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "query CONTRACT METHOD [JSON] --from URI [--worker URL]",
		Short: "Run a read-only method on an assigned worker, end-to-end encrypted",
		Long: `Query a contract: the signed request is sealed to an assigned worker's HPKE key
as registered on chain (not as the worker claims), sent straight to the
worker (no transaction, no fee), and the answer is sealed to a key only this
command can derive. The contract sees --from as the caller, so owner-only
methods work. Prints {"result": …}; a refusal by the contract (e.g.
not_authorized) exits with status 1.`,
		Example: `  veil contract query hello-world get_count --from //Bob
  veil contract query secret-note get_note --from //Alice -o json
  veil contract query secret-wallet balance --from //Alice --worker http://127.0.0.1:26701`,
		Args: cobra.RangeArgs(2, 3),
	}
	f := addContractFlags(cmd, true)
	f.addWorkerFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		a, err := jsonArg(args, 2, "the arguments")
		if err != nil {
			return err
		}
		cs, id, signer, err := f.target(cmd, args[0], true)
		if err != nil {
			return err
		}
		defer keys.Wipe(signer)
		ctx, cancel := f.context(cmd)
		defer cancel()
		res, err := cs.Query(ctx, signer, id, args[1], a)
		if err != nil {
			return err
		}
		return printResult(cmd.OutOrStdout(), *f.out, map[string]any{"result": rawOrNull(res)}, func(w io.Writer) error {
			fmt.Fprintln(w, indentJSON(res))
			return nil
		})
	}
	return cmd
}

func newContractDepositCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deposit CONTRACT AMOUNT --from URI [--wait]",
		Short: "Move funds to a contract's account and credit them to the sender inside it",
		Long: `Deposit: the chain moves AMOUNT from --from to the contract's on-chain account
and calls the contract's deposit method {"amount": AMOUNT} with --from as the
caller and origin "chain" (a user command cannot forge it). AMOUNT is an
integer in the smallest unit (planck), or tokens with the symbol (2.5VEIL);
at most 2^64-1 planck. The deposited amount is public; what the contract
does with it is not. With --wait, the command also waits for the deposit
call's receipt.`,
		Example: `  veil contract deposit secret-wallet 2.5VEIL --from //Alice
  veil contract deposit secret-wallet 1000000000000 --from //Alice --wait -o json`,
		Args: cobra.ExactArgs(2),
	}
	f := addContractFlags(cmd, true)
	f.addWorkerFlag(cmd)
	var wait bool
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the receipt of the contract's deposit call")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		amount, err := positiveAmountArg(cmd, f.clientFlags, "amount", args[1])
		if err != nil {
			return err
		}
		if _, ok := amount.Uint64(); !ok {
			return fmt.Errorf("a deposit is at most %d planck", uint64(math.MaxUint64))
		}
		cs, id, signer, err := f.target(cmd, args[0], true)
		if err != nil {
			return err
		}
		defer keys.Wipe(signer)
		ctx, cancel := f.context(cmd)
		defer cancel()
		res, seq, err := cs.Deposit(ctx, signer, id, amount, client.TxOptions{})
		if err != nil {
			return err
		}
		v := map[string]any{"tx_hash": fmt.Sprintf("%X", res.GetHash()), "height": res.GetHeight(), "sequence": seq, "amount": amount.String()}
		var rc *client.Receipt
		var rcErr error
		if wait {
			if rc, err = cs.WaitReceipt(ctx, signer, id, seq); err != nil {
				return err
			}
			v["status"], v["result"] = rc.Status, rawOrNull(rc.Result)
			if rc.Error != "" {
				v["error"] = rc.Error
			}
			rcErr = rc.Err()
		}
		if err := printResult(cmd.OutOrStdout(), *f.out, v, func(w io.Writer) error {
			fmt.Fprintf(w, "deposited %s planck at height %d (command %d)\nhash %X\n", amount, res.GetHeight(), seq, res.GetHash())
			if rc != nil && rcErr == nil {
				fmt.Fprintf(w, "result:\n%s\n", indentJSON(rc.Result))
			}
			return nil
		}); err != nil {
			return err
		}
		if rcErr != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "Error: the contract's deposit call: %v\n", rcErr)
			return &exitError{code: 1, err: rcErr}
		}
		return nil
	}
	return cmd
}

func newContractListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the contracts on chain",
		Long: `List every contract instance on chain: id, label, code hash, on-chain account,
assigned workers and whether its keys are published.`,
		Example: `  veil contract list
  veil contract list -o json`,
		Args: cobra.NoArgs,
	}
	f := addContractFlags(cmd, false)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cs, _, err := f.contracts()
		if err != nil {
			return err
		}
		ctx, cancel := f.context(cmd)
		defer cancel()
		list, err := cs.List(ctx)
		if err != nil {
			return err
		}
		if list == nil {
			list = []client.ContractInfo{}
		}
		return printResult(cmd.OutOrStdout(), *f.out, list, func(w io.Writer) error {
			if len(list) == 0 {
				fmt.Fprintln(w, "no contracts (deploy one with 'veil contract deploy')")
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tLABEL\tACCOUNT\tWORKERS\tKEYS\tCOMMANDS")
			for _, c := range list {
				keys := "pending"
				if c.KeysPublished {
					keys = "published"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\n", c.ID, c.Label, c.Account, len(c.Workers), keys, c.NextSequence)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newContractShowCmd() *cobra.Command { return contractRecordCmd("show CONTRACT") }

// newQueryContractCmd is 'veil query contract', the same view under the
// query tree (where the other on-chain records are).
func newQueryContractCmd() *cobra.Command { return contractRecordCmd("contract CONTRACT") }

func init() { queryCommands = append(queryCommands, newQueryContractCmd) }

func contractRecordCmd(use string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: "Show a contract's on-chain record, its workers and their history",
		Long: `Show a contract's on-chain record: code hash, deployer, on-chain account,
label, key epoch and public keys (published by a gatekeeper), the assigned
workers and their history, and the next sequence of its command log.

Workers are drawn at random, weighted by stake, from the computing and
responsive set; when one turns unresponsive, stops computing or its
attestation expires, the chain draws a replacement in the same block (the
history's "replaced" entries) and the gatekeeper delivers the key to it.`,
		Example: `  veil query contract hello-world -o json
  veil contract show 0x3f5a…(64 hex)`,
		Args: cobra.ExactArgs(1),
	}
	f := addContractFlags(cmd, false)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cs, id, _, err := f.target(cmd, args[0], false)
		if err != nil {
			return err
		}
		ctx, cancel := f.context(cmd)
		defer cancel()
		var raw json.RawMessage
		if _, err := cs.Node.QueryModule(ctx, client.ContractsModule, "contract", map[string]string{"id": id.Hex()}, &raw); err != nil {
			return err
		}
		var ci client.ContractInfo
		if err := json.Unmarshal(raw, &ci); err != nil {
			return fmt.Errorf("decode contract record: %w", err)
		}
		return printResult(cmd.OutOrStdout(), *f.out, raw, func(w io.Writer) error {
			fmt.Fprintf(w, "id              %s\n", ci.ID)
			fmt.Fprintf(w, "label           %s\n", ci.Label)
			fmt.Fprintf(w, "code hash       %s\n", ci.CodeHash)
			fmt.Fprintf(w, "deployer        %s\n", ci.Deployer)
			fmt.Fprintf(w, "account         %s\n", ci.Account)
			fmt.Fprintf(w, "instantiated at %d, key epoch %d\n", ci.InstantiatedAt, ci.KeyEpoch)
			if ci.KeysPublished {
				fmt.Fprintf(w, "keys            published (signing key %s)\n", ci.SigningPublicKey)
			} else {
				fmt.Fprintln(w, "keys            not published yet (a gatekeeper publishes them)")
			}
			fmt.Fprintf(w, "replicas        %d\n", ci.Replicas)
			for _, wk := range ci.Workers {
				fmt.Fprintf(w, "worker          %s\n", wk)
			}
			fmt.Fprintf(w, "next sequence   %d\n", ci.NextSequence)
			for _, h := range ci.History {
				fmt.Fprintf(w, "history         height %d %s: %s\n", h.Height, h.Reason, strings.Join(h.Workers, ", "))
			}
			return nil
		})
	}
	return cmd
}

func newContractReceiptCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "receipt CONTRACT SEQUENCE --from URI",
		Short: "Show the result of a command you sent (decrypted)",
		Long: `Fetch the receipt of the command at SEQUENCE of the contract's log (as 'veil
contract call' prints it) from an assigned worker: status (ok, reverted,
failed, rejected), result, error, events and gas. Only the command's caller
may read it, so --from must be the account that sent it. A command the
workers have not executed yet is reported as pending.`,
		Example: `  veil contract receipt hello-world 3 --from //Alice
  veil contract receipt secret-wallet 5 --from //Alice -o json`,
		Args: cobra.ExactArgs(2),
	}
	f := addContractFlags(cmd, true)
	f.addWorkerFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		seq, err := strconv.ParseUint(args[1], 10, 64)
		if err != nil {
			return fmt.Errorf("SEQUENCE must be a non-negative integer, got %q", args[1])
		}
		cs, id, signer, err := f.target(cmd, args[0], true)
		if err != nil {
			return err
		}
		defer keys.Wipe(signer)
		ctx, cancel := f.context(cmd)
		defer cancel()
		rc, err := cs.Receipt(ctx, signer, id, seq)
		if err != nil {
			return err
		}
		rc.Result = rawOrNull(rc.Result)
		return printResult(cmd.OutOrStdout(), *f.out, rc, func(w io.Writer) error {
			fmt.Fprintf(w, "command %d at height %d: %s (gas %d)\n", rc.Sequence, rc.Height, rc.Status, rc.GasUsed)
			if rc.Error != "" {
				fmt.Fprintf(w, "error: %s\n", rc.Error)
			}
			fmt.Fprintf(w, "result:\n%s\n", indentJSON(rc.Result))
			for _, e := range rc.Events {
				fmt.Fprintf(w, "event %s %s\n", e.Topic, e.Data)
			}
			return nil
		})
	}
	return cmd
}

func newContractReassignCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reassign CONTRACT --from URI",
		Short: "Replace a contract's offline workers (deployer or sudo)",
		Long: `Ask the chain to recompute the contract's assignment: assigned workers that are
no longer online are replaced by others. The gatekeepers deliver the
contract's key to the newcomers, which rebuild the state by replaying the
command log. Only the deployer or the sudo account may ask.`,
		Example: `  veil contract reassign hello-world --from //Alice -o json`,
		Args:    cobra.ExactArgs(1),
	}
	f := addContractFlags(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cs, id, signer, err := f.target(cmd, args[0], true)
		if err != nil {
			return err
		}
		defer keys.Wipe(signer)
		ctx, cancel := f.context(cmd)
		defer cancel()
		res, err := cs.Reassign(ctx, signer, id, client.TxOptions{Wait: true})
		return printTxOutcome(cmd, *f.out, res, err)
	}
	return cmd
}

// veilModule is this repository's module path: a contract scaffolded
// inside it compiles against the checkout as is.
const veilModule = "github.com/veil-network/veil"

func newContractNewCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "new NAME [--dir D]",
		Short: "Create a new contract project (main.go with handlers, main_test.go)",
		Long: `Create a contract project in D/NAME (default ./NAME): main.go with a counter
and an owner-only note as examples of sdk.Handle, and main_test.go testing
them natively against sdk.MemHost ('go test', no chain needed).

Inside a checkout of the Veil repository (a parent go.mod of module
github.com/veil-network/veil) no go.mod is written: the project is a package
of that module and compiles as is. Anywhere else a go.mod requiring
github.com/veil-network/veil is written; pass --replace with the path of a
Veil checkout to add a replace directive (until the module is published),
then run 'go mod tidy'.

Then: go test ./NAME, and 'veil contract deploy NAME --from //Alice'.`,
		Example: `  veil contract new counter
  veil contract new vault --dir contracts/mine
  veil contract new vault --dir /tmp --replace ~/src/veil`,
		Args: cobra.ExactArgs(1),
	}
	var dir, replace string
	cmd.Flags().StringVar(&dir, "dir", ".", "parent directory of the project")
	cmd.Flags().StringVar(&replace, "replace", "", "outside the Veil repository: path of a Veil checkout for a go.mod replace directive")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		name := args[0]
		if !validProjectName(name) {
			return fmt.Errorf("project name %q: use letters, digits, '-' and '_' (it becomes a directory and the module name)", name)
		}
		target, err := filepath.Abs(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if _, err := os.Stat(target); err == nil {
			return fmt.Errorf("%s exists already", target)
		}
		inModule := insideVeilModule(filepath.Dir(target))
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", target, err)
		}
		files := map[string]string{"main.go": scaffoldMain(name), "main_test.go": scaffoldTest}
		if !inModule {
			files["go.mod"] = scaffoldGoMod(name, replace)
		}
		for fn, body := range files {
			if err := os.WriteFile(filepath.Join(target, fn), []byte(body), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", fn, err)
			}
		}
		w := cmd.OutOrStdout()
		fmt.Fprintf(w, "created %s\n", target)
		if inModule {
			fmt.Fprintln(w, "  (a package of the Veil module: no go.mod needed)")
		} else {
			fmt.Fprintln(w, "  go.mod requires "+veilModule+"; run 'go mod tidy' in it first")
		}
		fmt.Fprintf(w, "test:    go test %s\n", target)
		fmt.Fprintf(w, "deploy:  veil contract deploy %s --from //Alice --label %s\n", target, name)
		return nil
	}
	return cmd
}

func validProjectName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// insideVeilModule reports whether dir lies in a checkout of the Veil
// module (the nearest go.mod declares it).
func insideVeilModule(dir string) bool {
	for d := dir; ; {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if f := strings.Fields(line); len(f) == 2 && f[0] == "module" {
					return strings.Trim(f[1], `"`) == veilModule
				}
			}
			return false
		}
		parent := filepath.Dir(d)
		if parent == d {
			return false
		}
		d = parent
	}
}

func scaffoldGoMod(name, replace string) string {
	s := "module " + name + "\n\ngo 1.26\n\nrequire " + veilModule + " v0.0.0-00010101000000-000000000000\n"
	if replace != "" {
		if abs, err := filepath.Abs(replace); err == nil {
			replace = abs
		}
		s += "\nreplace " + veilModule + " => " + replace + "\n"
	} else {
		s += "\n// Until the module is published, point it at a local checkout:\n// replace " + veilModule + " => /path/to/veil\n"
	}
	return s
}

func scaffoldMain(name string) string {
	return strings.ReplaceAll(scaffoldMainTmpl, "NAME", name)
}

const scaffoldMainTmpl = `// Command NAME is a Veil confidential contract.
//
//	increment {"by": n}   adds n (default 1) to a public counter
//	get_count             the counter
//	set_note {"text": s}  stores the caller's private note
//	get_note              the caller's own note (nobody else can read it)
//
// Build: GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags="-s -w" -o NAME.wasm .
// Deploy: veil contract deploy . --from //Alice --label NAME
package main

import (
	"errors"

	"github.com/veil-network/veil/contracts/sdk"
)

// IncrementArgs are the arguments of increment.
type IncrementArgs struct {
	By uint64 ` + "`json:\"by\"`" + `
}

// Count is a counter value.
type Count struct {
	Count uint64 ` + "`json:\"count\"`" + `
}

// Note is a private note.
type Note struct {
	Text string ` + "`json:\"text\"`" + `
}

func init() {
	// Handlers are registered once, in init. State lives in storage only:
	// every call starts from the same freshly initialised instance.
	sdk.Handle("increment", func(ctx *sdk.Context, a IncrementArgs) (Count, error) {
		if ctx.IsQuery() {
			return Count{}, errors.New("increment must be sent as a command")
		}
		if a.By == 0 {
			a.By = 1
		}
		n := ctx.GetUint64("count") + a.By
		ctx.SetUint64("count", n)
		return Count{n}, ctx.Emit("incremented", Count{n})
	})
	sdk.Handle("get_count", func(ctx *sdk.Context, _ sdk.NoArgs) (Count, error) {
		return Count{ctx.GetUint64("count")}, nil
	})
	sdk.Handle("set_note", func(ctx *sdk.Context, n Note) (bool, error) {
		if len(n.Text) > 1024 {
			return false, errors.New("note longer than 1024 bytes")
		}
		ctx.SetString("note/"+ctx.Caller().String(), n.Text)
		return true, nil
	})
	sdk.Handle("get_note", func(ctx *sdk.Context, _ sdk.NoArgs) (Note, error) {
		// The caller is authenticated by its signature inside the
		// encrypted envelope: this is the caller's own note only.
		text, ok := ctx.GetString("note/" + ctx.Caller().String())
		if !ok {
			return Note{}, errors.New("no note")
		}
		return Note{text}, nil
	})
}

func main() {}
`

const scaffoldTest = `//go:build !wasip1

package main

import (
	"testing"

	"github.com/veil-network/veil/contracts/sdk"
)

func TestCounter(t *testing.T) {
	h := sdk.NewMemHost()
	alice := sdk.TestAccount("alice")
	c, err := sdk.Decode[Count](h.Call(alice, "increment", IncrementArgs{By: 2}))
	if err != nil || c.Count != 2 {
		t.Fatalf("increment = %+v, %v", c, err)
	}
	if _, err := h.Query(alice, "increment", nil); err == nil {
		t.Fatal("a query incremented")
	}
	if c, err = sdk.Decode[Count](h.Query(alice, "get_count", nil)); err != nil || c.Count != 2 {
		t.Fatalf("get_count = %+v, %v", c, err)
	}
}

func TestNotesArePrivate(t *testing.T) {
	h := sdk.NewMemHost()
	alice, bob := sdk.TestAccount("alice"), sdk.TestAccount("bob")
	if _, err := h.Call(alice, "set_note", Note{Text: "secret"}); err != nil {
		t.Fatal(err)
	}
	n, err := sdk.Decode[Note](h.Query(alice, "get_note", nil))
	if err != nil || n.Text != "secret" {
		t.Fatalf("alice's note = %+v, %v", n, err)
	}
	if _, err := h.Query(bob, "get_note", nil); err == nil {
		t.Fatal("bob read a note")
	}
}
`
