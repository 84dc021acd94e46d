package main

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/veil-network/veil/crypto/keyring"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/crypto/ss58"
)

func init() { registerCommand(newKeysCmd) }

// keyringPassphraseEnv names the environment variable that supplies the
// keyring passphrase non-interactively (scripts, CI, 'veil dev' tests).
const keyringPassphraseEnv = "VEIL_KEYRING_PASSPHRASE"

// maxSecretInput bounds what is read from a passphrase file or from stdin
// for a secret URI.
const maxSecretInput = 64 << 10

// secretWarning is printed (to stderr) whenever a command shows a new
// secret phrase, because that output is the only copy the user gets.
const secretWarning = `WARNING: write the secret phrase down and keep it private. Anyone who has it
controls the account, and it cannot be recovered if lost.`

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Inspect secret URIs, generate phrases and manage the local keyring",
		Long: `Work with account keys. Veil accounts are Substrate-compatible: sr25519
(default) or ed25519 keys, shown as SS58 addresses (prefix 42 on dev chains).

A secret URI names a key:

  PHRASE[//hard][/soft]...[///password]   BIP39 English phrase (12-24 words)
  0xSEED[//hard]...                       32-byte hex seed ("secret seed")
  //Alice, //Bob//stash, /x ...           the public dev phrase plus a path

Phrases become keys with substrate-bip39 and paths derive child keys exactly
as in Substrate, so the same URI gives the same account in Polkadot-JS,
subkey and Veil. ed25519 supports only hard (//) junctions. The dev accounts
(//Alice ...) are public knowledge: never give them real value.

The keyring (default ~/.veil/keyring) keeps secret URIs encrypted with a
passphrase (argon2id + AES-256-GCM), so other commands can sign with
--from NAME. The passphrase comes from --passphrase-file, the
` + keyringPassphraseEnv + ` environment variable, or a prompt.`,
		Example: `  veil keys inspect //Alice
  veil keys generate --words 24
  veil keys add mykey --generate
  veil keys list
  veil tx transfer --from mykey --to 5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty --amount 1`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newKeysInspectCmd(), newKeysGenerateCmd(), newKeysAddCmd(), newKeysListCmd(), newKeysDeleteCmd())
	return cmd
}

// keyJSON is the machine-readable description of a key. Phrase is set only
// by commands whose purpose is to show a new secret.
type keyJSON struct {
	Name      string `json:"name,omitempty"`
	Phrase    string `json:"phrase,omitempty"`
	Address   string `json:"address"`
	PublicKey string `json:"public_key"`
	Scheme    string `json:"scheme"`
}

func describeKey(pub keys.PublicKey, prefix uint16) keyJSON {
	return keyJSON{Address: pub.Address(prefix), PublicKey: pub.Hex(), Scheme: string(pub.Scheme)}
}

// printKey renders k for humans: aligned "label: value" lines, phrase first.
func printKey(w io.Writer, k keyJSON, prefix uint16) error {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	if k.Name != "" {
		fmt.Fprintf(tw, "Name:\t%s\n", k.Name)
	}
	if k.Phrase != "" {
		fmt.Fprintf(tw, "Secret phrase:\t%s\n", k.Phrase)
	}
	fmt.Fprintf(tw, "Address (SS58, prefix %d):\t%s\n", prefix, k.Address)
	fmt.Fprintf(tw, "Public key (hex):\t%s\n", k.PublicKey)
	fmt.Fprintf(tw, "Scheme:\t%s\n", k.Scheme)
	return tw.Flush()
}

// keySchemeFlag registers --scheme; keyPrefixFlag registers --prefix.
func keySchemeFlag(cmd *cobra.Command) *string {
	return cmd.Flags().String("scheme", string(keys.SchemeSr25519), "key scheme: sr25519 or ed25519")
}

func keyPrefixFlag(cmd *cobra.Command) *uint16 {
	return cmd.Flags().Uint16("prefix", ss58.SubstratePrefix, "SS58 network prefix for the printed address (0-16383)")
}

func newKeysInspectCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inspect URI",
		Short: "Show the address and public key of a secret URI",
		Long: `Show the SS58 address and public key a secret URI stands for. The secret
itself is never printed. Pass - as URI to read it from standard input (with
no echo on a terminal), which keeps it out of the shell history.`,
		Example: `  veil keys inspect //Alice
  veil keys inspect //Alice --scheme ed25519 -o json
  veil keys inspect "//Alice//stash" --prefix 0
  veil keys inspect -    # then type or pipe the phrase`,
		Args: cobra.ExactArgs(1),
	}
	scheme := keySchemeFlag(cmd)
	prefix := keyPrefixFlag(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		sch, err := keys.ParseScheme(*scheme)
		if err != nil {
			return err
		}
		if err := ss58.ValidatePrefix(*prefix); err != nil {
			return fmt.Errorf("--prefix: %w", err)
		}
		uri, err := secretArg(cmd, args[0])
		if err != nil {
			return err
		}
		signer, err := keys.FromURI(uri, sch)
		if err != nil {
			return err
		}
		defer keys.Wipe(signer)
		k := describeKey(signer.Public(), *prefix)
		return printResult(cmd.OutOrStdout(), *out, k, func(w io.Writer) error { return printKey(w, k, *prefix) })
	}
	return cmd
}

func newKeysGenerateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "generate",
		Short: "Generate a new secret phrase and show its account",
		Long: `Generate a new random BIP39 phrase (from the operating system's random
source) and print it with the account it controls. Printing the phrase is the
purpose of this command: store it safely, or use 'veil keys add NAME
--generate' to put a new key straight into the keyring.`,
		Example: `  veil keys generate
  veil keys generate --words 24 --scheme ed25519 -o json`,
		Args: cobra.NoArgs,
	}
	words := cmd.Flags().Int("words", 12, "number of words: 12, 15, 18, 21 or 24")
	scheme := keySchemeFlag(cmd)
	prefix := keyPrefixFlag(cmd)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		sch, err := keys.ParseScheme(*scheme)
		if err != nil {
			return err
		}
		if err := ss58.ValidatePrefix(*prefix); err != nil {
			return fmt.Errorf("--prefix: %w", err)
		}
		phrase, err := keys.GeneratePhrase(*words)
		if err != nil {
			return err
		}
		signer, err := keys.FromURI(phrase, sch)
		if err != nil {
			return fmt.Errorf("derive key from the new phrase: %w", err)
		}
		defer keys.Wipe(signer)
		k := describeKey(signer.Public(), *prefix)
		k.Phrase = phrase
		fmt.Fprintln(cmd.ErrOrStderr(), secretWarning)
		return printResult(cmd.OutOrStdout(), *out, k, func(w io.Writer) error { return printKey(w, k, *prefix) })
	}
	return cmd
}

// keyringFlags are the flags of commands that open the keyring.
type keyringFlags struct {
	dir            string
	passphraseFile string
}

func addKeyringFlags(cmd *cobra.Command, withPassphrase bool) *keyringFlags {
	f := &keyringFlags{}
	cmd.Flags().StringVar(&f.dir, "keyring", veilDir("keyring"), "keyring directory")
	if withPassphrase {
		cmd.Flags().StringVar(&f.passphraseFile, "passphrase-file", "", "read the keyring passphrase from this file (first line) instead of $"+keyringPassphraseEnv+" or a prompt")
	}
	return f
}

func newKeysAddCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "add NAME (--uri URI | --generate)",
		Short: "Store a key in the keyring, encrypted with a passphrase",
		Long: `Store a key in the keyring under NAME (letters, digits, '.', '_', '-').
The secret URI is encrypted with the passphrase (argon2id + AES-256-GCM);
the name, scheme, public key and address are stored in the clear so that
'veil keys list' needs no passphrase.

With --uri - the URI is read from standard input (no echo on a terminal),
which keeps it out of the shell history. With --generate a new phrase is
created and printed once: write it down, it is the only backup of the key.

The passphrase comes from --passphrase-file, $` + keyringPassphraseEnv + `, or an
interactive prompt (asked twice) when standard input is a terminal.`,
		Example: `  veil keys add alice --uri //Alice
  veil keys add validator --generate --words 24
  veil keys add treasury --uri - --scheme ed25519 --passphrase-file ~/.veil/pass
  VEIL_KEYRING_PASSPHRASE=dev veil keys add bob --uri //Bob -o json`,
		Args: cobra.ExactArgs(1),
	}
	kf := addKeyringFlags(cmd, true)
	uri := cmd.Flags().String("uri", "", "secret URI to store, or - to read it from standard input")
	generate := cmd.Flags().Bool("generate", false, "generate a new phrase, store it and print it once")
	words := cmd.Flags().Int("words", 24, "number of words for --generate: 12, 15, 18, 21 or 24")
	scheme := keySchemeFlag(cmd)
	out := addOutputFlag(cmd)
	cmd.MarkFlagsMutuallyExclusive("uri", "generate")
	cmd.MarkFlagsOneRequired("uri", "generate")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		name := args[0]
		if err := keyring.ValidateName(name); err != nil {
			return err
		}
		sch, err := keys.ParseScheme(*scheme)
		if err != nil {
			return err
		}
		kr, err := keyring.Open(kf.dir)
		if err != nil {
			return err
		}
		if _, err := kr.Entry(name); err == nil {
			return fmt.Errorf("key %q already exists in %s (delete it first with 'veil keys delete %s')", name, kr.Dir(), name)
		}
		var secret, phrase string
		if *generate {
			if phrase, err = keys.GeneratePhrase(*words); err != nil {
				return err
			}
			secret = phrase
		} else if secret, err = secretArg(cmd, *uri); err != nil {
			return err
		}
		// Check the URI before asking for a passphrase, so a typo does not
		// cost the user a passphrase prompt.
		signer, err := keys.FromURI(secret, sch)
		if err != nil {
			return err
		}
		keys.Wipe(signer)
		pass, err := kf.passphrase(cmd, fmt.Sprintf("New passphrase for key %q: ", name), true)
		if err != nil {
			return err
		}
		e, err := kr.Add(name, secret, sch, pass)
		clear(pass)
		if err != nil {
			return err
		}
		k := describeKey(e.PublicKey, keyring.AddressPrefix)
		k.Name, k.Phrase = e.Name, phrase
		if phrase != "" {
			fmt.Fprintln(cmd.ErrOrStderr(), secretWarning)
		}
		return printResult(cmd.OutOrStdout(), *out, k, func(w io.Writer) error {
			fmt.Fprintf(w, "Added key %q to %s\n", e.Name, kr.Dir())
			return printKey(w, k, keyring.AddressPrefix)
		})
	}
	return cmd
}

func newKeysListCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the keys in the keyring",
		Long: `List the keys in the keyring with their scheme and address (SS58 prefix
42). No passphrase is needed: only public metadata is read.`,
		Example: `  veil keys list
  veil keys list -o json
  veil keys list --keyring /srv/veil/keyring`,
		Args: cobra.NoArgs,
	}
	kf := addKeyringFlags(cmd, false)
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		kr, err := keyring.Open(kf.dir)
		if err != nil {
			return err
		}
		entries, err := kr.List()
		if err != nil {
			return err
		}
		list := make([]keyJSON, 0, len(entries))
		for _, e := range entries {
			k := describeKey(e.PublicKey, keyring.AddressPrefix)
			k.Name = e.Name
			list = append(list, k)
		}
		return printResult(cmd.OutOrStdout(), *out, list, func(w io.Writer) error {
			if len(list) == 0 {
				fmt.Fprintf(w, "no keys in %s (add one with 'veil keys add NAME --generate')\n", kr.Dir())
				return nil
			}
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tSCHEME\tADDRESS")
			for _, k := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Name, k.Scheme, k.Address)
			}
			return tw.Flush()
		})
	}
	return cmd
}

func newKeysDeleteCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Remove a key from the keyring",
		Long: `Remove a key from the keyring. Unless --yes is given, asks for confirmation
on the terminal (and refuses to run without a terminal): the key is gone for
good unless its secret phrase was kept elsewhere.`,
		Example: `  veil keys delete oldkey
  veil keys delete oldkey --yes -o json`,
		Args: cobra.ExactArgs(1),
	}
	kf := addKeyringFlags(cmd, false)
	yes := cmd.Flags().Bool("yes", false, "do not ask for confirmation")
	out := addOutputFlag(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		kr, err := keyring.Open(kf.dir)
		if err != nil {
			return err
		}
		e, err := kr.Entry(args[0])
		if err != nil {
			return err
		}
		if !*yes {
			ok, err := confirm(cmd, fmt.Sprintf("Delete key %q (%s)? It cannot be recovered without its secret phrase. [y/N] ", e.Name, e.Address))
			if err != nil {
				return err
			}
			if !ok {
				return errors.New("not deleted")
			}
		}
		if err := kr.Delete(e.Name); err != nil {
			return err
		}
		k := describeKey(e.PublicKey, keyring.AddressPrefix)
		k.Name = e.Name
		return printResult(cmd.OutOrStdout(), *out, k, func(w io.Writer) error {
			_, err := fmt.Fprintf(w, "Deleted key %q (%s)\n", e.Name, e.Address)
			return err
		})
	}
	return cmd
}

// resolveSigner turns a --from value into a signer for commands that sign.
// A value starting with "/" (//Alice, /soft) or "0x", or containing
// whitespace (a phrase), is a secret URI for the given scheme; anything else
// is the name of a keyring key, unlocked with the passphrase from
// --passphrase-file (if cmd has that flag), $VEIL_KEYRING_PASSPHRASE or a
// prompt. Key names cannot contain '/' or spaces, so the two never collide.
//
// A keyring key has its own scheme. If cmd has a --scheme flag that the user
// set explicitly and it disagrees, that is an error rather than silently
// ignoring the flag; an unset flag's default does not count.
//
// The keyring directory is cmd's --keyring flag if it has one, else
// ~/.veil/keyring. Callers should keys.Wipe the signer when done.
func resolveSigner(cmd *cobra.Command, from string, scheme keys.Scheme) (keys.Signer, error) {
	if from == "" {
		return nil, errors.New("no signer: pass a secret URI (e.g. //Alice) or the name of a keyring key")
	}
	if looksLikeSecretURI(from) {
		s, err := keys.FromURI(from, scheme)
		if err != nil {
			return nil, fmt.Errorf("signer: %w", err)
		}
		return s, nil
	}
	// A bare hex string of seed length or longer is most likely a secret
	// seed missing its 0x: unless a key has that name, it is refused
	// without being echoed.
	secretLike := len(from) >= 2*keys.SeedSize && isHex(from)
	label := strconv.Quote(from)
	if secretLike {
		label = "(not shown: it looks like a hex secret seed)"
	}
	kf := &keyringFlags{dir: veilDir("keyring")}
	if f := cmd.Flags().Lookup("keyring"); f != nil {
		kf.dir = f.Value.String()
	}
	if f := cmd.Flags().Lookup("passphrase-file"); f != nil {
		kf.passphraseFile = f.Value.String()
	}
	kr, err := keyring.Open(kf.dir)
	if err != nil {
		return nil, fmt.Errorf("signer %s: %w", label, err)
	}
	e, err := kr.Entry(from)
	switch {
	case err != nil && secretLike:
		return nil, fmt.Errorf("signer %s: no such key in %s; write a secret seed as 0x followed by its hex digits", label, kr.Dir())
	case errors.Is(err, keyring.ErrNotFound):
		return nil, fmt.Errorf("signer %q: no such key in %s (add it with 'veil keys add %s', or pass a secret URI such as //Alice)", from, kr.Dir(), from)
	case err != nil:
		return nil, fmt.Errorf("signer: %w", err)
	}
	if f := cmd.Flags().Lookup("scheme"); f != nil && f.Changed && scheme != e.Scheme {
		return nil, fmt.Errorf("signer %q is an %s key but --scheme %s was given", from, e.Scheme, scheme)
	}
	pass, err := kf.passphrase(cmd, fmt.Sprintf("Passphrase for key %q: ", from), false)
	if err != nil {
		return nil, fmt.Errorf("signer %q: %w", from, err)
	}
	defer clear(pass)
	s, err := kr.Get(from, pass)
	if err != nil {
		return nil, fmt.Errorf("signer: %w", err)
	}
	return s, nil
}

// looksLikeSecretURI tells secret URIs from keyring names (see
// resolveSigner).
func looksLikeSecretURI(s string) bool {
	return strings.HasPrefix(s, "/") || strings.HasPrefix(s, "0x") || strings.ContainsAny(s, " \t\r\n")
}

// passphrase returns the keyring passphrase from, in order: --passphrase-file,
// $VEIL_KEYRING_PASSPHRASE, or a no-echo prompt when stdin is a terminal
// (asked twice when confirm is set, for new keys). An empty passphrase is
// refused: it would encrypt the key with no protection at all.
func (f *keyringFlags) passphrase(cmd *cobra.Command, prompt string, confirm bool) ([]byte, error) {
	if f.passphraseFile != "" {
		p, err := readSecretFile(f.passphraseFile)
		if err != nil {
			return nil, fmt.Errorf("passphrase file: %w", err)
		}
		if len(p) == 0 {
			return nil, fmt.Errorf("passphrase file %s is empty", f.passphraseFile)
		}
		return p, nil
	}
	if v, ok := os.LookupEnv(keyringPassphraseEnv); ok {
		if v == "" {
			return nil, fmt.Errorf("$%s is set but empty", keyringPassphraseEnv)
		}
		return []byte(v), nil
	}
	fd, ok := terminalFd(cmd.InOrStdin())
	if !ok {
		return nil, fmt.Errorf("no keyring passphrase: set $%s, pass --passphrase-file, or run in a terminal", keyringPassphraseEnv)
	}
	p, err := readHidden(cmd, fd, prompt)
	if err != nil {
		return nil, err
	}
	if len(p) == 0 {
		return nil, errors.New("empty passphrase")
	}
	if confirm {
		again, err := readHidden(cmd, fd, "Repeat passphrase: ")
		if err != nil {
			clear(p)
			return nil, err
		}
		same := subtle.ConstantTimeCompare(p, again) == 1
		clear(again)
		if !same {
			clear(p)
			return nil, errors.New("passphrases do not match")
		}
	}
	return p, nil
}

// readSecretFile reads the first line of a secret file (without its line
// ending), so that files written by editors or 'echo' work.
func readSecretFile(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, maxSecretInput))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	line := data
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		line = data[:i]
	}
	p := append([]byte(nil), bytes.TrimSuffix(line, []byte("\r"))...)
	clear(data)
	return p, nil
}

// secretArg returns a secret URI argument; "-" reads it from stdin, with a
// no-echo prompt on a terminal, else the first line of the input.
func secretArg(cmd *cobra.Command, arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	if fd, ok := terminalFd(cmd.InOrStdin()); ok {
		b, err := readHidden(cmd, fd, "Secret URI: ")
		if err != nil {
			return "", err
		}
		s := string(b)
		clear(b)
		return s, nil
	}
	line, err := bufio.NewReader(io.LimitReader(cmd.InOrStdin(), maxSecretInput)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read secret URI from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no secret URI on standard input")
	}
	return line, nil
}

// terminalFd reports whether r is a terminal, returning its descriptor.
func terminalFd(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	return int(f.Fd()), true
}

// readHidden prompts on stderr and reads a line from the terminal fd
// without echoing it.
func readHidden(cmd *cobra.Command, fd int, prompt string) ([]byte, error) {
	fmt.Fprint(cmd.ErrOrStderr(), prompt)
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(cmd.ErrOrStderr())
	if err != nil {
		return nil, fmt.Errorf("read from terminal: %w", err)
	}
	return b, nil
}

// confirm asks a yes/no question on the terminal; without a terminal it
// refuses, so that scripts must state their intent with --yes.
func confirm(cmd *cobra.Command, question string) (bool, error) {
	if _, ok := terminalFd(cmd.InOrStdin()); !ok {
		return false, errors.New("refusing to delete without confirmation: pass --yes")
	}
	fmt.Fprint(cmd.ErrOrStderr(), question)
	answer, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
