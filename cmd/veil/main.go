// Command veil is the single binary of the Veil confidential-computing cloud:
// node, dev network, keys, transactions, queries, NPoS tools, attestation tools
// and benchmarks. Each subcommand lives in its own file of this package.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	if err := root.ExecuteContext(ctx); err != nil {
		var exitErr *exitError
		if errors.As(err, &exitErr) {
			os.Exit(exitErr.code)
		}
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "veil",
		Short: "Veil: a confidential-computing cloud on an NPoS chain",
		Long: `Veil is a confidential-computing cloud. An NPoS blockchain (CometBFT underneath)
orders work and holds money and identities; attested TEE workers execute
confidential contracts; users reach them end-to-end encrypted.

Start a whole local network with 'veil dev', then use the client commands
(status, keys, tx, query) against it. Client commands find the network through
--network (default ~/.veil/dev/network.json) or --node URL.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, add := range subcommands {
		root.AddCommand(add())
	}
	return root
}

// subcommands is filled by init functions of the files in this package, so
// each command family stays in its own file without a central edit.
var subcommands []func() *cobra.Command

func registerCommand(f func() *cobra.Command) { subcommands = append(subcommands, f) }

// veilDir is ~/.veil/name, where the veil binary keeps its per-user state
// (dev network, node home, keyring, worker, collateral cache); relative to
// the working directory when there is no home directory.
func veilDir(name string) string {
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(".veil", name)
	}
	return filepath.Join(home, ".veil", name)
}

// exitError carries a specific process exit code through cobra, for commands
// whose result was printed already (e.g. a rejected transaction as JSON) but
// must still fail the process.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
