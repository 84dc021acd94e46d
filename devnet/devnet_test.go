package devnet_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/devnet"
)

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("VEIL_TEST_VERBOSE") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func mustSigner(t *testing.T, uri string) keys.Signer {
	t.Helper()
	s, err := keys.FromURI(uri, keys.SchemeSr25519)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startNet(t *testing.T, home string, reset bool) *devnet.Network {
	t.Helper()
	return startNetWith(t, devnet.Options{Home: home, Reset: reset})
}

// startNetWith starts a network with fast blocks and the test logger.
func startNetWith(t *testing.T, o devnet.Options) *devnet.Network {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	o.Logger, o.BlockTime = testLogger(t), 200*time.Millisecond
	n, err := devnet.Start(ctx, o)
	if err != nil {
		t.Fatalf("start dev network: %v", err)
	}
	return n
}

func balance(t *testing.T, c *client.Client, addr string) (types.Amount, uint64) {
	t.Helper()
	a, err := c.Account(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	return types.MustParseAmount(a.GetFree()), a.GetNonce()
}

// TestTransferAndRestart covers the user path of the chain foundation:
// Alice pays Bob, both balances and the treasury change by exactly the
// amount and fee, and after a restart the chain resumes with that state.
func TestTransferAndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	home := t.TempDir()
	n := startNet(t, home, true)
	c := n.Client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	alice := mustSigner(t, "//Alice")
	bob := bank.DevAccounts[1].Address
	bobID, err := types.ParseAddress(bob, 42)
	if err != nil {
		t.Fatal(err)
	}
	aliceBefore, _ := balance(t, c, alice.Public().Hex())
	bobBefore, _ := balance(t, c, bob)
	treasuryBefore, _ := balance(t, c, auth.TreasuryAccount.Hex())

	amount := types.NewAmount(5_000_000_000_000)
	res, err := c.Transfer(ctx, alice, bobID, amount, client.TxOptions{Wait: true})
	if err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if res.GetHeight() <= 0 || res.GetCode() != 0 {
		t.Fatalf("unexpected result %+v", res)
	}
	fee := types.MustParseAmount(res.GetFee())
	if fee.IsZero() {
		t.Fatal("transfer paid no fee")
	}
	aliceAfter, nonce := balance(t, c, alice.Public().Hex())
	bobAfter, _ := balance(t, c, bob)
	treasuryAfter, _ := balance(t, c, auth.TreasuryAccount.Hex())
	spent, _ := amount.Add(fee)
	if want, _ := aliceBefore.Sub(spent); aliceAfter != want {
		t.Errorf("alice: got %s want %s", aliceAfter, want)
	}
	if want, _ := bobBefore.Add(amount); bobAfter != want {
		t.Errorf("bob: got %s want %s", bobAfter, want)
	}
	if want, _ := treasuryBefore.Add(fee); treasuryAfter != want {
		t.Errorf("treasury: got %s want %s", treasuryAfter, want)
	}
	if nonce != 1 {
		t.Errorf("alice nonce %d, want 1", nonce)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	heightBefore := st.GetLatestHeight()
	if err := n.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	n = startNet(t, home, false)
	defer n.Stop()
	c = n.Client()
	st, err = c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.GetLatestHeight() < heightBefore {
		t.Fatalf("restarted at height %d, before the stop it was %d", st.GetLatestHeight(), heightBefore)
	}
	if got, _ := balance(t, c, bob); got != bobAfter {
		t.Errorf("bob after restart: got %s want %s", got, bobAfter)
	}
	// The chain keeps finalizing and Alice's next nonce continues.
	if _, err := c.Transfer(ctx, alice, bobID, amount, client.TxOptions{Wait: true}); err != nil {
		t.Fatalf("transfer after restart: %v", err)
	}
	if _, nonce := balance(t, c, alice.Public().Hex()); nonce != 2 {
		t.Errorf("alice nonce after restart %d, want 2", nonce)
	}
}

func asTxErr(err error, target **client.TxError) bool {
	return errors.As(err, target)
}
