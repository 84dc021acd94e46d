package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/veil-network/veil/crypto/keys"
)

const (
	aliceAddr   = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"
	aliceEdAddr = "5FA9nQDVg267DEd8m1ZypXLBnvN7SFxYwV7ndqSYGiN9TTpu"
	bobAddr     = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"
)

// runKeys executes the root command with args and stdin, returning stdout,
// stderr and the error.
func runKeys(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errb.String(), err
}

func mustRunKeys(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, stderr, err := runKeys(t, stdin, args...)
	if err != nil {
		t.Fatalf("veil %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr)
	}
	return out
}

func decodeKeyJSON(t *testing.T, out string) keyJSON {
	t.Helper()
	var k keyJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&k); err != nil {
		t.Fatalf("decode %q: %v", out, err)
	}
	return k
}

// isolateKeyring points HOME at a temporary directory and clears the
// passphrase variable, so no test touches the user's real keyring.
func isolateKeyring(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	t.Setenv(keyringPassphraseEnv, "") // restores the caller's value afterwards
	os.Unsetenv(keyringPassphraseEnv)
	return filepath.Join(home, "kr")
}

func TestKeysInspect(t *testing.T) {
	out := mustRunKeys(t, "", "keys", "inspect", "//Alice", "-o", "json")
	var raw map[string]string
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"address":    aliceAddr,
		"public_key": "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d",
		"scheme":     "sr25519",
	}
	if len(raw) != len(want) {
		t.Errorf("inspect JSON = %v, want exactly %v", raw, want)
	}
	for k, v := range want {
		if raw[k] != v {
			t.Errorf("inspect %s = %q, want %q", k, raw[k], v)
		}
	}

	if k := decodeKeyJSON(t, mustRunKeys(t, "", "keys", "inspect", "//Alice", "--scheme", "ed25519", "-o", "json")); k.Address != aliceEdAddr || k.Scheme != "ed25519" {
		t.Errorf("ed25519 inspect = %+v", k)
	}
	if k := decodeKeyJSON(t, mustRunKeys(t, "", "keys", "inspect", "//Alice", "--prefix", "0", "-o", "json")); k.Address != "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5" {
		t.Errorf("prefix 0 inspect = %+v", k)
	}
	if k := decodeKeyJSON(t, mustRunKeys(t, "//Bob\n", "keys", "inspect", "-", "-o", "json")); k.Address != bobAddr {
		t.Errorf("inspect from stdin = %+v", k)
	}

	phrase := "hotel forest jar hover kite book view eight stuff angle legend defense"
	text := mustRunKeys(t, "", "keys", "inspect", phrase+"///pw")
	if !strings.Contains(text, "Address (SS58, prefix 42):") || !strings.Contains(text, "sr25519") {
		t.Errorf("text output:\n%s", text)
	}
	for _, secret := range []string{"hotel", "defense", "pw\n"} {
		if strings.Contains(text, secret) {
			t.Errorf("inspect printed the secret %q:\n%s", secret, text)
		}
	}

	for _, args := range [][]string{
		{"keys", "inspect", "//Alice/soft", "--scheme", "ed25519"},
		{"keys", "inspect", "not a valid phrase"},
		{"keys", "inspect", "//Alice", "--scheme", "ecdsa"},
		{"keys", "inspect", "//Alice", "--prefix", "46"},
		{"keys", "inspect"},
	} {
		if _, _, err := runKeys(t, "", args...); err == nil {
			t.Errorf("veil %v succeeded", args)
		}
	}
}

func TestKeysGenerate(t *testing.T) {
	out, stderr, err := runKeys(t, "", "keys", "generate", "--words", "24", "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	k := decodeKeyJSON(t, out)
	if n := len(strings.Fields(k.Phrase)); n != 24 {
		t.Fatalf("phrase has %d words", n)
	}
	s, err := keys.FromURI(k.Phrase, keys.SchemeSr25519)
	if err != nil {
		t.Fatal(err)
	}
	if k.Address != s.Public().Address(42) || k.PublicKey != s.Public().Hex() || k.Scheme != "sr25519" {
		t.Errorf("generate = %+v, phrase gives %s", k, s.Public().Address(42))
	}
	if !strings.Contains(stderr, "WARNING") {
		t.Errorf("no warning on stderr: %q", stderr)
	}
	text := mustRunKeys(t, "", "keys", "generate", "--scheme", "ed25519")
	if !strings.Contains(text, "Secret phrase:") || !strings.Contains(text, "ed25519") {
		t.Errorf("text output:\n%s", text)
	}
	if _, _, err := runKeys(t, "", "keys", "generate", "--words", "13"); err == nil {
		t.Error("13 words accepted")
	}
}

func TestKeysKeyringRoundTrip(t *testing.T) {
	dir := isolateKeyring(t)
	t.Setenv(keyringPassphraseEnv, "test passphrase")

	k := decodeKeyJSON(t, mustRunKeys(t, "", "keys", "add", "alice", "--uri", "//Alice", "--keyring", dir, "-o", "json"))
	if k.Name != "alice" || k.Address != aliceAddr || k.Phrase != "" {
		t.Errorf("add alice = %+v", k)
	}
	text := mustRunKeys(t, "//Alice\n", "keys", "add", "alice-ed", "--uri", "-", "--scheme", "ed25519", "--keyring", dir)
	if !strings.Contains(text, aliceEdAddr) || strings.Contains(text, "//Alice") {
		t.Errorf("add alice-ed text:\n%s", text)
	}
	out, stderr, err := runKeys(t, "", "keys", "add", "fresh", "--generate", "--words", "12", "--keyring", dir, "-o", "json")
	if err != nil {
		t.Fatal(err, stderr)
	}
	fresh := decodeKeyJSON(t, out)
	if len(strings.Fields(fresh.Phrase)) != 12 || !strings.Contains(stderr, "WARNING") {
		t.Errorf("add --generate = %+v, stderr %q", fresh, stderr)
	}

	var list []keyJSON
	if err := json.Unmarshal([]byte(mustRunKeys(t, "", "keys", "list", "--keyring", dir, "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Name != "alice" || list[0].Address != aliceAddr || list[0].Scheme != "sr25519" ||
		list[1].Name != "alice-ed" || list[1].Address != aliceEdAddr || list[1].Scheme != "ed25519" ||
		list[2].Name != "fresh" || list[2].Address != fresh.Address || list[2].Phrase != "" {
		t.Errorf("list = %+v", list)
	}
	text = mustRunKeys(t, "", "keys", "list", "--keyring", dir)
	if !strings.Contains(text, "NAME") || !strings.Contains(text, aliceAddr) {
		t.Errorf("list text:\n%s", text)
	}
	if strings.Contains(text, fresh.Phrase) {
		t.Error("list printed a phrase")
	}

	// Adding a name twice fails and keeps the original.
	if _, _, err := runKeys(t, "", "keys", "add", "alice", "--uri", "//Bob", "--keyring", dir); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate add: %v", err)
	}
	// Exactly one of --uri and --generate.
	if _, _, err := runKeys(t, "", "keys", "add", "x", "--keyring", dir); err == nil {
		t.Error("add without --uri or --generate succeeded")
	}
	if _, _, err := runKeys(t, "", "keys", "add", "x", "--uri", "//X", "--generate", "--keyring", dir); err == nil {
		t.Error("add with both --uri and --generate succeeded")
	}
	if _, _, err := runKeys(t, "", "keys", "add", "../x", "--uri", "//X", "--keyring", dir); err == nil {
		t.Error("path traversal name accepted")
	}

	// Delete needs --yes without a terminal.
	if _, _, err := runKeys(t, "", "keys", "delete", "alice", "--keyring", dir); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("delete without --yes: %v", err)
	}
	mustRunKeys(t, "", "keys", "delete", "alice", "--yes", "--keyring", dir)
	if err := json.Unmarshal([]byte(mustRunKeys(t, "", "keys", "list", "--keyring", dir, "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "alice-ed" {
		t.Errorf("list after delete = %+v", list)
	}
	if _, _, err := runKeys(t, "", "keys", "delete", "alice", "--yes", "--keyring", dir); err == nil {
		t.Error("deleting a missing key succeeded")
	}
}

func TestKeysPassphraseSources(t *testing.T) {
	dir := isolateKeyring(t)

	// No env, no file, no terminal: a clear error, no key written.
	_, _, err := runKeys(t, "", "keys", "add", "a", "--uri", "//Alice", "--keyring", dir)
	if err == nil || !strings.Contains(err.Error(), keyringPassphraseEnv) {
		t.Errorf("add without passphrase: %v", err)
	}
	if list := mustRunKeys(t, "", "keys", "list", "--keyring", dir, "-o", "json"); strings.TrimSpace(list) != "[]" {
		t.Errorf("list after failed add = %s", list)
	}

	pf := filepath.Join(t.TempDir(), "pass")
	if err := os.WriteFile(pf, []byte("from file\r\nignored second line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRunKeys(t, "", "keys", "add", "a", "--uri", "//Alice", "--keyring", dir, "--passphrase-file", pf)

	cmd := keysTestCmd(dir, pf)
	s, err := resolveSigner(cmd, "a", keys.SchemeSr25519)
	if err != nil {
		t.Fatal(err)
	}
	if s.Public().Address(42) != aliceAddr {
		t.Errorf("resolved %s", s.Public().Address(42))
	}
	// The environment variable is an equivalent source; a wrong one fails.
	t.Setenv(keyringPassphraseEnv, "from file")
	if _, err := resolveSigner(keysTestCmd(dir, ""), "a", keys.SchemeSr25519); err != nil {
		t.Errorf("env passphrase: %v", err)
	}
	t.Setenv(keyringPassphraseEnv, "wrong")
	if _, err := resolveSigner(keysTestCmd(dir, ""), "a", keys.SchemeSr25519); err == nil || !strings.Contains(err.Error(), "wrong passphrase") {
		t.Errorf("wrong env passphrase: %v", err)
	}
	t.Setenv(keyringPassphraseEnv, "")
	if _, err := resolveSigner(keysTestCmd(dir, ""), "a", keys.SchemeSr25519); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty env passphrase: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	if _, err := resolveSigner(keysTestCmd(dir, empty), "a", keys.SchemeSr25519); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty passphrase file: %v", err)
	}
}

// keysTestCmd is a command with the flags resolveSigner looks for, as a
// signing command (e.g. 'veil tx') would define them.
func keysTestCmd(dir, passFile string) *cobra.Command {
	cmd := &cobra.Command{Use: "sign"}
	cmd.Flags().String("keyring", dir, "")
	cmd.Flags().String("passphrase-file", passFile, "")
	cmd.Flags().String("scheme", "sr25519", "")
	cmd.SetIn(strings.NewReader(""))
	return cmd
}

func TestResolveSigner(t *testing.T) {
	dir := isolateKeyring(t)
	t.Setenv(keyringPassphraseEnv, "pw")
	mustRunKeys(t, "", "keys", "add", "edkey", "--uri", "//Alice", "--scheme", "ed25519", "--keyring", dir)

	for _, tc := range []struct {
		from   string
		scheme keys.Scheme
		want   string
	}{
		{"//Alice", keys.SchemeSr25519, aliceAddr},
		{"//Alice", keys.SchemeEd25519, aliceEdAddr},
		{"0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60", keys.SchemeEd25519, ""},
		{"bottom drive obey lake curtain smoke basket hold race lonely fit walk//Alice", keys.SchemeSr25519, aliceAddr},
		// A keyring key's own scheme wins over the caller's default.
		{"edkey", keys.SchemeSr25519, aliceEdAddr},
	} {
		s, err := resolveSigner(keysTestCmd(dir, ""), tc.from, tc.scheme)
		if err != nil {
			t.Errorf("resolveSigner(%q): %v", tc.from, err)
			continue
		}
		if tc.want != "" && s.Public().Address(42) != tc.want {
			t.Errorf("resolveSigner(%q) = %s, want %s", tc.from, s.Public().Address(42), tc.want)
		}
		keys.Wipe(s)
	}

	// An explicit, conflicting --scheme is an error.
	cmd := keysTestCmd(dir, "")
	if err := cmd.Flags().Set("scheme", "sr25519"); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveSigner(cmd, "edkey", keys.SchemeSr25519); err == nil || !strings.Contains(err.Error(), "ed25519") {
		t.Errorf("conflicting --scheme: %v", err)
	}
	if _, err := resolveSigner(keysTestCmd(dir, ""), "nosuchkey", keys.SchemeSr25519); err == nil || !strings.Contains(err.Error(), "veil keys add") {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := resolveSigner(keysTestCmd(dir, ""), "", keys.SchemeSr25519); err == nil {
		t.Error("empty --from accepted")
	}
	// Errors about URIs never echo the secret.
	_, err := resolveSigner(keysTestCmd(dir, ""), "bottom drive obey lake curtain smoke basket hold race lonely fit wallk", keys.SchemeSr25519)
	if err == nil || strings.Contains(err.Error(), "lonely") {
		t.Errorf("bad phrase error: %v", err)
	}
	// Nor does a hex secret seed that lost its 0x prefix (taken for a key
	// name): "no such key" must not print it.
	for _, seed := range []string{strings.Repeat("9d", 32), strings.Repeat("9d", 64)} {
		_, err := resolveSigner(keysTestCmd(dir, ""), seed, keys.SchemeEd25519)
		if err == nil || strings.Contains(err.Error(), seed[:16]) || !strings.Contains(err.Error(), "0x") {
			t.Errorf("bare hex seed error: %v", err)
		}
	}
	// Without a --keyring flag the default ~/.veil/keyring (under the test
	// HOME) is used.
	plain := &cobra.Command{Use: "plain"}
	plain.SetIn(strings.NewReader(""))
	if _, err := resolveSigner(plain, "edkey", keys.SchemeSr25519); err == nil || !strings.Contains(err.Error(), filepath.Join(".veil", "keyring")) {
		t.Errorf("default keyring dir: %v", err)
	}
}
