package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// goContracts builds the example contracts and the misbehaving test
// contract into a temporary directory.
func goContracts(t *testing.T) map[string][]byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds Go contracts to wasm (slow); skipped in -short mode")
	}
	dir := t.TempDir()
	bins := map[string][]byte{}
	for _, name := range []string{"hello-world", "secret-note", "secret-wallet", "guess-number"} {
		bins[name] = buildGo(t, filepath.Join("..", "..", "contracts", "examples", name), dir)
	}
	bins["evil"] = buildGo(t, filepath.Join("testdata", "evil"), dir)
	return bins
}

func account(name string) [32]byte {
	var a [32]byte
	copy(a[:], name)
	return a
}

func hexAcct(a [32]byte) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	for _, c := range a {
		sb.WriteByte(digits[c>>4])
		sb.WriteByte(digits[c&15])
	}
	return sb.String()
}

type chainSim struct {
	t      *testing.T
	m      *Module
	store  Storage
	height uint64
}

func (c *chainSim) env(caller [32]byte, origin Origin) Env {
	c.height++
	var seed [32]byte
	seed[0], seed[1] = byte(c.height), byte(c.height>>8)
	return Env{
		Caller: caller, ContractID: account("contract"), Origin: origin,
		Height: c.height, Time: time.Unix(1_700_000_000+int64(c.height)*6, 0),
		RandomSeed: seed, Storage: c.store,
	}
}

func (c *chainSim) run(caller [32]byte, origin Origin, method, args string) (Result, error) {
	c.t.Helper()
	return c.m.Call(context.Background(), c.env(caller, origin), method, []byte(args), 0)
}

func (c *chainSim) must(caller [32]byte, origin Origin, method, args string) string {
	c.t.Helper()
	res, err := c.run(caller, origin, method, args)
	if err != nil {
		c.t.Fatalf("%s %s: %v (logs %q)", method, args, err, res.Logs)
	}
	return string(res.Output)
}

func newEncrypted(t *testing.T) *EncryptedStorage {
	s, err := OpenEncrypted(NewMemKV(), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGoContracts(t *testing.T) {
	bins := goContracts(t)
	rt := newTestRuntime(t, Config{})
	ctx := context.Background()
	mods := map[string]*Module{}
	for name, bin := range bins {
		m, err := rt.Load(ctx, bin)
		if err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
		mods[name] = m
		t.Logf("%s: %d bytes, snapshot %d bytes, init gas %d", name, len(bin), m.SnapshotBytes(), m.InitGasUsed())
	}
	alice, bob := account("alice"), account("bob")

	t.Run("hello-world", func(t *testing.T) {
		c := &chainSim{t: t, m: mods["hello-world"], store: newEncrypted(t)}
		var gas []uint64
		for i := 0; i < 3; i++ {
			res, err := c.run(alice, OriginCommand, "increment", `{"by":2}`)
			if err != nil {
				t.Fatal(err)
			}
			gas = append(gas, res.GasUsed)
			if len(res.Events) != 1 || res.Events[0].Topic != "incremented" {
				t.Fatalf("events %+v", res.Events)
			}
		}
		if gas[1] != gas[2] {
			t.Fatalf("identical calls used different gas: %v", gas)
		}
		if out := c.must(bob, OriginQuery, "get_count", ""); out != `{"count":6}` {
			t.Fatalf("get_count = %s", out)
		}
		if _, err := c.run(bob, OriginQuery, "increment", ""); !errors.Is(err, ErrReadOnly) {
			t.Fatalf("increment as query: %v", err)
		}
		var re *RevertError
		if _, err := c.run(bob, OriginCommand, "increment", `{"by":"many"}`); !errors.As(err, &re) || !strings.Contains(re.Msg, "invalid arguments") {
			t.Fatalf("bad args: %v", err)
		}
	})

	// The same command log gives the same outputs, gas and encrypted
	// state on the interpreter as on the compiler.
	t.Run("engines agree", func(t *testing.T) {
		irt := newTestRuntime(t, Config{Interpreter: true})
		im, err := irt.Load(ctx, bins["hello-world"])
		if err != nil {
			t.Fatal(err)
		}
		if im.InitGasUsed() != mods["hello-world"].InitGasUsed() {
			t.Fatalf("init gas %d vs %d", im.InitGasUsed(), mods["hello-world"].InitGasUsed())
		}
		var digests [2][32]byte
		var logs [2][]string
		for i, m := range []*Module{mods["hello-world"], im} {
			st := newEncrypted(t)
			c := &chainSim{t: t, m: m, store: st}
			for j := 0; j < 4; j++ {
				res, err := c.run(account(string(rune('a'+j))), OriginCommand, "increment", `{"by":3}`)
				logs[i] = append(logs[i], fmt.Sprintf("%s %v %d", res.Output, err, res.GasUsed))
			}
			if digests[i], err = st.Digest(); err != nil {
				t.Fatal(err)
			}
		}
		if strings.Join(logs[0], ";") != strings.Join(logs[1], ";") {
			t.Fatalf("compiler %v\ninterpreter %v", logs[0], logs[1])
		}
		if digests[0] != digests[1] {
			t.Fatal("encrypted state differs between engines")
		}
	})

	t.Run("secret-note", func(t *testing.T) {
		c := &chainSim{t: t, m: mods["secret-note"], store: newEncrypted(t)}
		c.must(alice, OriginCommand, "set_note", `{"text":"meet at noon"}`)
		if out := c.must(alice, OriginQuery, "get_note", ""); out != `{"text":"meet at noon"}` {
			t.Fatalf("get_note = %s", out)
		}
		var re *RevertError
		_, err := c.run(bob, OriginQuery, "get_note", `{"owner":"`+hexAcct(alice)+`"}`)
		if !errors.As(err, &re) || re.Msg != "not authorized" {
			t.Fatalf("bob read alice's note: %v", err)
		}
		if _, err := c.run(bob, OriginQuery, "get_note", ""); !errors.As(err, &re) || re.Msg != "no note" {
			t.Fatalf("bob's own note: %v", err)
		}
	})

	t.Run("secret-wallet", func(t *testing.T) {
		c := &chainSim{t: t, m: mods["secret-wallet"], store: newEncrypted(t)}
		if _, err := c.run(alice, OriginCommand, "deposit", `{"amount":100}`); !errors.Is(err, ErrRevert) {
			t.Fatalf("user deposit: %v", err)
		}
		c.must(alice, OriginChain, "deposit", `{"amount":100}`)
		c.must(alice, OriginCommand, "transfer", `{"to":"`+hexAcct(bob)+`","amount":40}`)
		if out := c.must(bob, OriginQuery, "balance", ""); out != `{"balance":40}` {
			t.Fatalf("bob balance %s", out)
		}
		if _, err := c.run(bob, OriginQuery, "balance", `{"account":"`+hexAcct(alice)+`"}`); !errors.Is(err, ErrRevert) {
			t.Fatalf("bob read alice's balance: %v", err)
		}
		res, err := c.run(alice, OriginCommand, "withdraw", `{"amount":60}`)
		if err != nil || string(res.Output) != `{"balance":0}` || len(res.Events) != 1 || res.Events[0].Topic != "veil.transfer" {
			t.Fatalf("withdraw: %+v, %v", res, err)
		}
		var w struct {
			To     string `json:"to"`
			Amount string `json:"amount"`
		}
		if err := json.Unmarshal(res.Events[0].Data, &w); err != nil || w.To != hexAcct(alice) || w.Amount != "60" {
			t.Fatalf("transfer event %s", res.Events[0].Data)
		}
		if _, err := c.run(alice, OriginCommand, "withdraw", `{"amount":1}`); !errors.Is(err, ErrRevert) {
			t.Fatalf("over-withdrawal: %v", err)
		}
	})

	t.Run("guess-number", func(t *testing.T) {
		c := &chainSim{t: t, m: mods["guess-number"], store: newEncrypted(t)}
		if _, err := c.run(alice, OriginCommand, "init", ""); !errors.Is(err, ErrRevert) {
			t.Fatalf("user init: %v", err)
		}
		c.must(alice, OriginChain, "init", `{"max":1000}`)
		if _, err := c.run(bob, OriginQuery, "peek", ""); !errors.Is(err, ErrRevert) {
			t.Fatalf("bob peeked: %v", err)
		}
		var secret struct{ N uint64 }
		if err := json.Unmarshal([]byte(c.must(alice, OriginQuery, "peek", "")), &secret); err != nil || secret.N < 1 || secret.N > 1000 {
			t.Fatalf("peek: %+v %v", secret, err)
		}
		lo, hi := uint64(1), uint64(1000)
		for tries := 0; ; tries++ {
			if tries == 10 {
				t.Fatal("not found in 10 guesses")
			}
			mid := (lo + hi) / 2
			res, err := c.run(bob, OriginCommand, "guess", `{"n":`+jsonGas(mid)+`}`)
			if err != nil {
				t.Fatal(err)
			}
			switch string(res.Output) {
			case `{"answer":"higher"}`:
				lo = mid + 1
			case `{"answer":"lower"}`:
				hi = mid - 1
			case `{"answer":"correct"}`:
				if mid != secret.N || len(res.Events) != 1 {
					t.Fatalf("correct at %d (secret %d), events %+v", mid, secret.N, res.Events)
				}
				return
			default:
				t.Fatalf("answer %s", res.Output)
			}
		}
	})

	t.Run("misbehaving contract", func(t *testing.T) {
		c := &chainSim{t: t, m: mods["evil"], store: NewMemStorage()}
		expect := func(method string, want error, gas uint64) Result {
			t.Helper()
			res, err := c.m.Call(ctx, c.env(alice, OriginCommand), method, nil, gas)
			if !errors.Is(err, want) {
				t.Fatalf("%s: %v, want %v (logs %q)", method, err, want, res.Logs)
			}
			return res
		}
		res := expect("panic", ErrTrap, 0)
		var te *TrapError
		_, err := c.m.Call(ctx, c.env(alice, OriginCommand), "panic", nil, 0)
		if !errors.As(err, &te) || !strings.Contains(te.Msg, "panic: boom") || !strings.Contains(string(res.Logs), "panic: boom") {
			t.Fatalf("panic: %v, logs %q", err, res.Logs)
		}
		g1 := expect("spin", ErrOutOfGas, 5_000_000).GasUsed
		g2 := expect("spin", ErrOutOfGas, 5_000_000).GasUsed
		if g1 != 5_000_000 || g2 != g1 {
			t.Fatalf("spin gas %d, %d", g1, g2)
		}
		expect("hog", ErrMemoryLimit, 0)
		expect("big", ErrOutputTooLarge, 0)
		expect("recurse", ErrCallDepth, 0)
		if _, err := c.m.Call(ctx, c.env(alice, OriginCommand), "exit", nil, 0); !errors.As(err, &te) || !strings.Contains(te.Msg, "exit code 3") {
			t.Fatalf("exit: %v", err)
		}

		// Probes of the deterministic host.
		e := c.env(alice, OriginCommand)
		out := c.must(alice, OriginCommand, "sleep", "")
		wantStart := time.Unix(0, 0).Add(time.Duration(c.height) * 6 * time.Second).Add(1_700_000_000 * time.Second).UTC().Format(time.RFC3339Nano)
		if out != `"`+wantStart+` 1h30m0s"` {
			t.Fatalf("sleep: %s (block time %v)", out, e.Time)
		}
		r1, err1 := c.m.Call(ctx, e, "rand", nil, 0)
		r2, err2 := c.m.Call(ctx, e, "rand", nil, 0)
		e2 := e
		e2.RandomSeed[31] ^= 1
		r3, err3 := c.m.Call(ctx, e2, "rand", nil, 0)
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r1.Output, r2.Output) || bytes.Equal(r1.Output, r3.Output) {
			t.Fatalf("randomness: same seed %s / %s, other seed %s", r1.Output, r2.Output, r3.Output)
		}
		res, err = c.m.Call(ctx, e, "log", nil, 0)
		if err != nil || string(res.Logs) != "hello from the contract\nand from stderr\n" {
			t.Fatalf("logs %q, %v", res.Logs, err)
		}
		for i := 0; i < 3; i++ {
			if out := c.must(alice, OriginCommand, "global", ""); out != "1" {
				t.Fatalf("package variable survived a call: %s", out)
			}
		}
		if a, b := c.must(alice, OriginCommand, "maporder", ""), c.must(bob, OriginQuery, "maporder", ""); a != b {
			t.Fatalf("map iteration order differs between calls:\n%s\n%s", a, b)
		}
		// The file system is empty, the host name is Go's wasip1 constant,
		// and there are no arguments or environment variables.
		if out := c.must(alice, OriginCommand, "files", ""); out != `"true|wasip1|[]|[]"` {
			t.Fatalf("host leaks: %s", out)
		}
		if out := c.must(alice, OriginCommand, "keys", ""); out != `["b/1"]` {
			t.Fatalf("keys: %s", out)
		}
		want := hexAcct(alice) + " " + hexAcct(account("contract"))
		if out := c.must(alice, OriginChain, "env", ""); !strings.HasPrefix(out, `"`+want) || !strings.HasSuffix(out, ` 2"`) {
			t.Fatalf("env: %s", out)
		}
	})

	t.Run("reset is exact", func(t *testing.T) {
		c := &chainSim{t: t, m: mods["hello-world"], store: NewMemStorage()}
		c.must(alice, OriginCommand, "increment", `{"by":5}`)
		checkPooledIsSnapshot(t, c.m)
		if _, err := c.m.Call(ctx, c.env(alice, OriginCommand), "increment", []byte("{"), 0); !errors.Is(err, ErrRevert) {
			t.Fatal(err)
		}
		checkPooledIsSnapshot(t, c.m)
	})

	// None of that affected the other contracts.
	t.Run("neighbours unaffected", func(t *testing.T) {
		c := &chainSim{t: t, m: mods["hello-world"], store: NewMemStorage()}
		if out := c.must(alice, OriginCommand, "increment", `{"by":5}`); out != `{"count":5}` {
			t.Fatalf("hello-world after the misbehaving contract: %s", out)
		}
	})
}

func jsonGas(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
