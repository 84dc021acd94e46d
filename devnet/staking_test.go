package devnet_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cmtcfg "github.com/cometbft/cometbft/config"
	"github.com/cometbft/cometbft/privval"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/app"
	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/devnet"
	stakingv1 "github.com/veil-network/veil/gen/veil/staking/v1"
	"github.com/veil-network/veil/node"
)

func stkTokens(n uint64) types.Amount {
	a, _ := types.NewAmount(1_000_000_000_000).Mul64(n)
	return a
}

// stkCometSet is node's CometBFT validator set at its latest height:
// consensus address (upper hex) → power.
func stkCometSet(t *testing.T, nd *node.Node) map[string]int64 {
	t.Helper()
	perPage := 100
	res, err := rpclocal.New(nd.Comet).Validators(context.Background(), nil, nil, &perPage)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, v := range res.Validators {
		out[strings.ToUpper(hex.EncodeToString(v.Address))] = v.VotingPower
	}
	return out
}

func stkAddr(t *testing.T, n *devnet.Network, i int) string {
	t.Helper()
	pub, err := node.ValidatorPubKey(n.Nodes[i].Home)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToUpper(hex.EncodeToString(pub.Address()))
}

func stkValidators(t *testing.T, c *client.Client) staking.ValidatorsView {
	t.Helper()
	var v staking.ValidatorsView
	if _, err := c.QueryModule(context.Background(), staking.Name, staking.QueryValidators, nil, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func stkEventually(t *testing.T, timeout time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

func stkHasStash(v staking.ValidatorsView, stash types.AccountID) *staking.ValidatorView {
	for i := range v.Validators {
		if v.Validators[i].Stash == stash.Address(42) {
			return &v.Validators[i]
		}
	}
	return nil
}

// TestStakingOnDevNetwork runs four real validators (in-process CometBFT
// on loopback, 300 ms blocks, 10-block eras, 3 seats):
//
//  1. genesis elects the three best-bonded (Alice, Bob, Charlie) and the
//     chain keeps finalizing through era changes;
//  2. Eve bonds 500,000 VEIL and nominates Dave: at the next boundary Dave
//     replaces Charlie, in the staking query and in CometBFT's own set;
//  3. duplicate-vote evidence signed with Bob's real consensus key is
//     injected into a node's evidence pool: Bob is slashed by his exposure,
//     chilled and removed from CometBFT's set, and the chain goes on.
func TestStakingOnDevNetwork(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	bonds := []uint64{100_000, 100_000, 90_000, 50_000}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	n, err := devnet.Start(ctx, devnet.Options{
		Home: t.TempDir(), Validators: 4, BlockTime: 300 * time.Millisecond, Logger: testLogger(t),
		EditGenesis: func(st app.GenesisState) error {
			var g staking.Genesis
			if err := json.Unmarshal(st[staking.Name], &g); err != nil {
				return err
			}
			g.Params.EraLength = 10
			g.Params.ValidatorCount = 3
			g.Params.Slashing.DowntimeWindow = 0 // a loaded CI machine must not chill anyone
			for i := range g.Validators {
				g.Validators[i].Bond = stkTokens(bonds[i])
			}
			b, err := json.Marshal(g)
			st[staking.Name] = b
			return err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Stop()
	c := n.Client()
	stash := make([]types.AccountID, 4)
	for i := range stash {
		if stash[i], err = devnet.ValidatorStash(i); err != nil {
			t.Fatal(err)
		}
	}
	if stash[0].Address(42) != bank.DevAccounts[0].Address || stash[3].Address(42) != bank.DevAccounts[3].Address {
		t.Fatal("dev validator stashes are not //Alice … //Dave")
	}

	// 1. The genesis set, then an era change with the chain finalizing.
	v := stkValidators(t, c)
	if len(v.Validators) != 3 || stkHasStash(v, stash[3]) != nil || v.Validators[0].Power != 100_000 {
		t.Fatalf("genesis set %+v", v)
	}
	if got := stkCometSet(t, n.Nodes[0]); len(got) != 3 || got[stkAddr(t, n, 3)] != 0 || got[stkAddr(t, n, 0)] != 100_000 {
		t.Fatalf("CometBFT genesis set %v", got)
	}
	var era staking.EraView
	stkEventually(t, 60*time.Second, "era 2", func() bool {
		_, err := c.QueryModule(ctx, staking.Name, staking.QueryEra, nil, &era)
		return err == nil && era.Era >= 2
	})
	st, _ := c.Status(ctx)
	if err := c.WaitHeight(ctx, st.GetLatestHeight()+3); err != nil {
		t.Fatal(err)
	}
	if era.Previous == nil || era.Previous.TotalPoints == 0 {
		t.Fatalf("no points in the previous era: %+v", era)
	}
	// Era rewards were paid (re-staked) to the validators.
	var ledger staking.LedgerView
	if _, err := c.QueryModule(ctx, staking.Name, staking.QueryLedger, staking.StashQuery{Stash: stash[0].Address(42)}, &ledger); err != nil {
		t.Fatal(err)
	}
	if ledger.Active.Cmp(stkTokens(100_000)) <= 0 || ledger.Role != "validator" {
		t.Fatalf("Alice's ledger after two eras: %+v", ledger)
	}

	// 2. A nomination moves Dave into the set at the next boundary.
	eve := mustSigner(t, "//Eve")
	res, err := c.Send(ctx, eve, []proto.Message{
		&stakingv1.MsgBond{Value: stkTokens(500_000).String(), Payee: &stakingv1.Payee{Kind: stakingv1.PayeeKind_PAYEE_KIND_STASH}},
		&stakingv1.MsgNominate{Targets: [][]byte{stash[3][:]}},
	}, client.TxOptions{Wait: true})
	if err != nil {
		t.Fatalf("bond and nominate: %v", err)
	}
	t.Logf("Eve nominated Dave at height %d", res.GetHeight())
	stkEventually(t, 60*time.Second, "Dave elected", func() bool { return stkHasStash(stkValidators(t, c), stash[3]) != nil })
	v = stkValidators(t, c)
	dave := stkHasStash(v, stash[3])
	if len(v.Validators) != 3 || stkHasStash(v, stash[2]) != nil || v.Validators[0].Stash != stash[3].Address(42) ||
		dave.Exposure == nil || len(dave.Exposure.Others) != 1 || dave.Exposure.Others[0].Value != stkTokens(500_000) {
		t.Fatalf("after the nomination %+v", v)
	}
	stkEventually(t, 20*time.Second, "CometBFT to switch to the new set", func() bool {
		got := stkCometSet(t, n.Nodes[0])
		return len(got) == 3 && got[stkAddr(t, n, 3)] == dave.Power && got[stkAddr(t, n, 2)] == 0
	})
	st, _ = c.Status(ctx)
	if err := c.WaitHeight(ctx, st.GetLatestHeight()+3); err != nil {
		t.Fatalf("chain stalled after the set change: %v", err)
	}

	// 3. Bob equivocates.
	bob := stkHasStash(stkValidators(t, c), stash[1])
	if bob == nil {
		t.Fatal("Bob left the set")
	}
	evHeight := n.Nodes[0].Comet.BlockStore().Height() - 1
	ev := stkEquivocation(t, n, 1, evHeight)
	if err := n.Nodes[0].Comet.EvidencePool().AddEvidence(ev); err != nil {
		t.Fatalf("evidence refused: %v", err)
	}
	var slashed map[string]string
	stkEventually(t, 60*time.Second, "the slash", func() bool {
		slashed = stkFindEvent(t, c, evHeight, "slashed")
		return slashed != nil
	})
	if slashed["stash"] != stash[1].Address(42) || slashed["fraction"] != "1000000000" { // (3·1/3)² = 100%
		t.Fatalf("slashed event %v", slashed)
	}
	if slashed["own"] == "0" || slashed["own"] == "" {
		t.Fatalf("nothing slashed: %v", slashed)
	}
	if _, err := c.QueryModule(ctx, staking.Name, staking.QueryLedger, staking.StashQuery{Stash: stash[1].Address(42)}, &ledger); err != nil {
		t.Fatal(err)
	}
	if ledger.Role != "idle" {
		t.Fatalf("Bob not chilled: %+v", ledger)
	}
	if stkHasStash(stkValidators(t, c), stash[1]) != nil {
		t.Fatal("Bob still in the staking set")
	}
	stkEventually(t, 20*time.Second, "CometBFT to drop Bob", func() bool {
		_, in := stkCometSet(t, n.Nodes[0])[stkAddr(t, n, 1)]
		return !in
	})
	st, _ = c.Status(ctx)
	if err := c.WaitHeight(ctx, st.GetLatestHeight()+5); err != nil {
		t.Fatalf("chain stalled after the slash: %v", err)
	}
}

// stkEquivocation builds duplicate-vote evidence at height h signed with
// validator i's real consensus key (read from its home), with the power
// fields and time CometBFT's evidence pool checks against its state.
func stkEquivocation(t *testing.T, n *devnet.Network, i int, h int64) *cmttypes.DuplicateVoteEvidence {
	t.Helper()
	conf := cmtcfg.DefaultConfig()
	conf.SetRoot(n.Nodes[i].Home)
	// The key only: signing through the node's FilePV would trip its
	// double-sign protection (and touch its state file).
	fpv := privval.LoadFilePVEmptyState(conf.PrivValidatorKeyFile(), filepath.Join(t.TempDir(), "state.json"))
	pv := cmttypes.NewMockPVWithParams(fpv.Key.PrivKey, false, false)
	meta := n.Nodes[0].Comet.BlockStore().LoadBlockMeta(h)
	if meta == nil {
		t.Fatalf("no block meta at %d", h)
	}
	ev, err := cmttypes.NewMockDuplicateVoteEvidenceWithValidator(h, meta.Header.Time, pv, n.Info.ChainID)
	if err != nil {
		t.Fatal(err)
	}
	perPage := 100
	vals, err := rpclocal.New(n.Nodes[0].Comet).Validators(context.Background(), &h, nil, &perPage)
	if err != nil {
		t.Fatal(err)
	}
	ev.TotalVotingPower = 0
	for _, v := range vals.Validators {
		ev.TotalVotingPower += v.VotingPower
		if v.Address.String() == fpv.Key.Address.String() {
			ev.ValidatorPower = v.VotingPower
		}
	}
	if ev.ValidatorPower == 0 {
		t.Fatalf("validator %d was not in the set at height %d", i, h)
	}
	return ev
}

// stkFindEvent scans the blocks after `from` for a block event.
func stkFindEvent(t *testing.T, c *client.Client, from int64, typ string) map[string]string {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for h := from; h <= st.GetLatestHeight(); h++ {
		b, err := c.Block(context.Background(), h)
		if err != nil {
			continue
		}
		for _, e := range b.GetBlock().GetEvents() {
			if e.GetType() != typ {
				continue
			}
			out := map[string]string{}
			for _, a := range e.GetAttributes() {
				out[a.GetKey()] = a.GetValue()
			}
			return out
		}
	}
	return nil
}
