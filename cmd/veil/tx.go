package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	sudov1 "github.com/veil-network/veil/gen/veil/sudo/v1"
)

func init() { registerCommand(newTxCmd) }

func newTxCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tx",
		Short: "Sign and submit transactions",
		Long: `Sign and submit transactions. --from takes a secret URI (//Alice, a BIP39
phrase with optional //hard/soft derivation and ///password, or a 0x seed) or
the name of a key in the keyring ('veil keys add'). Fees and nonces are
filled in from the node; the fee is the chain's minimum for the message.`,
	}
	cmd.AddCommand(newTxTransferCmd(), newTxSudoCmd())
	for _, add := range txCommands {
		cmd.AddCommand(add())
	}
	return cmd
}

// txCommands is filled by init functions of other files (one per module),
// like subcommands for the root command.
var txCommands []func() *cobra.Command

// txFlags are shared by every transaction command.
type txFlags struct {
	*clientFlags
	signerFlags
	wait bool
	memo string
	out  *string
}

// signerFlags are --from and --scheme: who signs.
type signerFlags struct {
	from   string
	scheme string
}

// add registers --from (required) as what, e.g. "signer".
func (f *signerFlags) add(cmd *cobra.Command, what string) {
	cmd.Flags().StringVar(&f.from, "from", "", what+": secret URI (e.g. //Alice) or keyring name (required)")
	cmd.Flags().StringVar(&f.scheme, "scheme", "sr25519", "signer key scheme: sr25519 or ed25519")
	_ = cmd.MarkFlagRequired("from")
}

// signer resolves --from with --scheme; the caller wipes it.
func (f *signerFlags) signer(cmd *cobra.Command) (keys.Signer, error) {
	scheme, err := keys.ParseScheme(f.scheme)
	if err != nil {
		return nil, err
	}
	return resolveSigner(cmd, f.from, scheme)
}

func addTxFlags(cmd *cobra.Command) *txFlags {
	f := &txFlags{clientFlags: addClientFlags(cmd)}
	f.signerFlags.add(cmd, "signer")
	cmd.Flags().BoolVar(&f.wait, "wait", false, "wait until the transaction is committed")
	cmd.Flags().StringVar(&f.memo, "memo", "", "free text recorded with the transaction (≤ 256 bytes)")
	f.out = addOutputFlag(cmd)
	return f
}

// send signs and submits msgs and prints {"hash","height","code","log"}.
// A rejected or failed transaction prints its result and exits non-zero.
func (f *txFlags) send(cmd *cobra.Command, msgs ...proto.Message) error {
	signer, err := f.signer(cmd)
	if err != nil {
		return err
	}
	defer keys.Wipe(signer)
	c, err := f.dial()
	if err != nil {
		return err
	}
	ctx, cancel := f.context(cmd)
	defer cancel()
	res, err := c.Send(ctx, signer, msgs, client.TxOptions{Wait: f.wait, Memo: f.memo})
	return printTxOutcome(cmd, *f.out, res, err)
}

// printTxOutcome reports what sending a transaction returned: a transport
// error as is; otherwise the result (printTxResult), and a rejected or
// failed transaction (*client.TxError) as exit status 1.
func printTxOutcome(cmd *cobra.Command, format string, res *nodev1.TxResult, err error) error {
	var txErr *client.TxError
	if err != nil && !errors.As(err, &txErr) {
		return err
	}
	if perr := printTxResult(cmd, format, res); perr != nil {
		return perr
	}
	if txErr != nil {
		return &exitError{code: 1, err: txErr}
	}
	return nil
}

func printTxResult(cmd *cobra.Command, format string, r *nodev1.TxResult) error {
	v := map[string]any{
		"hash": fmt.Sprintf("%X", r.GetHash()), "height": r.GetHeight(), "code": r.GetCode(),
		"log": r.GetLog(), "codespace": r.GetCodespace(), "fee": r.GetFee(),
	}
	return printResult(cmd.OutOrStdout(), format, v, func(w io.Writer) error {
		switch {
		case r.GetCode() != 0:
			fmt.Fprintf(cmd.ErrOrStderr(), "rejected: %s (code %d)\n", r.GetLog(), r.GetCode())
			fmt.Fprintf(w, "hash %X\n", r.GetHash())
		case r.GetHeight() > 0:
			fmt.Fprintf(w, "committed at height %d, fee %s\nhash %X\n", r.GetHeight(), r.GetFee(), r.GetHash())
		default:
			fmt.Fprintf(w, "accepted into the mempool\nhash %X\n(check with: veil query tx %X)\n", r.GetHash(), r.GetHash())
		}
		return nil
	})
}

func newTxTransferCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "transfer --from URI --to ADDRESS --amount N",
		Short: "Transfer free balance to another account",
		Long: `Transfer free balance to another account. --amount is an integer in the
smallest unit (12 decimals on dev chains: 1 VEIL = 1000000000000), or a
decimal number of tokens followed by the token symbol (1.5VEIL). The recipient must end up
with at least the existential deposit, and the sender may not be left with a
non-zero balance below it.`,
		Example: `  veil tx transfer --from //Alice --to 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --amount 1000000000000 --wait
  veil tx transfer --from mykey --to 5FHn… --amount 5000000000000 -o json
  veil tx transfer --from //Alice --to 5FHn… --amount 2.5VEIL --wait`,
		Args: cobra.NoArgs,
	}
	f := addTxFlags(cmd)
	var to, amount string
	cmd.Flags().StringVar(&to, "to", "", "recipient SS58 address or 0x account id (required)")
	cmd.Flags().StringVar(&amount, "amount", "", "amount: an integer in the smallest unit, or tokens with the symbol, e.g. 1.5VEIL (required)")
	_ = cmd.MarkFlagRequired("to")
	_ = cmd.MarkFlagRequired("amount")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		a, err := positiveAmountArg(cmd, f.clientFlags, "--amount", amount)
		if err != nil {
			return err
		}
		id, err := parseAccountFlag(cmd, f.clientFlags, to)
		if err != nil {
			return fmt.Errorf("--to: %w", err)
		}
		return f.send(cmd, &bankv1.MsgTransfer{To: id[:], Amount: a.String()})
	}
	return cmd
}

// parseAmountFlag accepts base units ("1500000000000") or a token amount
// with the chain's symbol ("1.5VEIL"), converted exactly: a token amount
// with more decimals than the token has is refused, never rounded.
func parseAmountFlag(cmd *cobra.Command, cf *clientFlags, s string) (types.Amount, error) {
	s = strings.TrimSpace(s)
	digits := strings.TrimRightFunc(s, unicode.IsLetter)
	symbol := s[len(digits):]
	if symbol == "" {
		return types.ParseAmount(s)
	}
	c, err := cf.dial()
	if err != nil {
		return types.Amount{}, err
	}
	ctx, cancel := cf.context(cmd)
	defer cancel()
	st, err := c.Status(ctx)
	if err != nil {
		return types.Amount{}, err
	}
	return tokenAmount(digits, symbol, st.GetTokenSymbol(), int(st.GetTokenDecimals()))
}

// tokenAmount converts "1.5" of symbol into base units with decimals.
func tokenAmount(number, symbol, chainSymbol string, decimals int) (types.Amount, error) {
	if !strings.EqualFold(symbol, chainSymbol) {
		return types.Amount{}, fmt.Errorf("unit %q is not this chain's token %q", symbol, chainSymbol)
	}
	whole, frac, _ := strings.Cut(number, ".")
	if whole == "" {
		whole = "0"
	}
	if len(frac) > decimals {
		return types.Amount{}, fmt.Errorf("%s%s has more than the token's %d decimals", number, symbol, decimals)
	}
	units := strings.TrimLeft(whole+frac+strings.Repeat("0", decimals-len(frac)), "0")
	if units == "" {
		units = "0"
	}
	return types.ParseAmount(units)
}

// parseAccountFlag parses an address with the chain's SS58 prefix.
func parseAccountFlag(cmd *cobra.Command, cf *clientFlags, s string) (types.AccountID, error) {
	c, err := cf.dial()
	if err != nil {
		return types.AccountID{}, err
	}
	ctx, cancel := cf.context(cmd)
	defer cancel()
	prefix, err := c.SS58Prefix(ctx)
	if err != nil {
		return types.AccountID{}, err
	}
	return types.ParseAddress(s, prefix)
}

func newTxSudoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sudo",
		Short: "Governance calls signed by the chain's sudo account",
	}
	setBal := &cobra.Command{
		Use:     "set-balance ADDRESS --free N [--reserved N]",
		Short:   "Overwrite an account's balances (issuance adjusts)",
		Example: `  veil tx sudo set-balance 5FHn… --free 1000000000000000 --from //Alice --wait`,
		Args:    cobra.ExactArgs(1),
	}
	sf := addTxFlags(setBal)
	var free, reserved string
	setBal.Flags().StringVar(&free, "free", "", "new free balance (required)")
	setBal.Flags().StringVar(&reserved, "reserved", "0", "new reserved balance")
	_ = setBal.MarkFlagRequired("free")
	setBal.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := parseAccountFlag(cmd, sf.clientFlags, args[0])
		if err != nil {
			return err
		}
		for _, v := range []string{free, reserved} {
			if _, err := types.ParseAmount(v); err != nil {
				return err
			}
		}
		return sf.send(cmd, &bankv1.MsgSetBalance{Account: id[:], Free: free, Reserved: reserved})
	}
	setKey := &cobra.Command{
		Use:   "set-key ADDRESS",
		Short: "Hand the sudo role to another account",
		Args:  cobra.ExactArgs(1),
	}
	kf := addTxFlags(setKey)
	setKey.RunE = func(cmd *cobra.Command, args []string) error {
		id, err := parseAccountFlag(cmd, kf.clientFlags, args[0])
		if err != nil {
			return err
		}
		return kf.send(cmd, &sudov1.MsgSetSudoKey{NewSudo: id[:]})
	}
	cmd.AddCommand(setBal, setKey)
	return cmd
}
