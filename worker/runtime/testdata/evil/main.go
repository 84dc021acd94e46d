// Command evil is a test contract that misbehaves in every way the
// runtime must contain, plus a few probes of the deterministic host.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/veil-network/veil/contracts/sdk"
)

var calls int // package state: must not survive between calls

func recurse(n int) int {
	if n < 0 {
		return 0
	}
	return recurse(n+1) + 1
}

func init() {
	sdk.Handle("panic", func(*sdk.Context, sdk.NoArgs) (int, error) { panic("boom") })
	sdk.Handle("spin", func(*sdk.Context, sdk.NoArgs) (int, error) {
		for i := 0; ; i++ {
			_ = i
		}
	})
	sdk.Handle("hog", func(*sdk.Context, sdk.NoArgs) (int, error) {
		var keep [][]byte
		for {
			keep = append(keep, make([]byte, 1<<20))
		}
	})
	sdk.Handle("big", func(*sdk.Context, sdk.NoArgs) (string, error) { return strings.Repeat("x", 1<<20), nil })
	sdk.Handle("recurse", func(*sdk.Context, sdk.NoArgs) (int, error) { return recurse(0), nil })
	sdk.Handle("exit", func(*sdk.Context, sdk.NoArgs) (int, error) { os.Exit(3); return 0, nil })
	sdk.Handle("sleep", func(*sdk.Context, sdk.NoArgs) (string, error) {
		t0 := time.Now()
		time.Sleep(90 * time.Minute)
		return fmt.Sprintf("%s %s", t0.UTC().Format(time.RFC3339Nano), time.Since(t0)), nil
	})
	sdk.Handle("rand", func(ctx *sdk.Context, _ sdk.NoArgs) (string, error) {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return hex.EncodeToString(b) + "/" + hex.EncodeToString(ctx.RandomBytes(8)), nil
	})
	sdk.Handle("log", func(*sdk.Context, sdk.NoArgs) (int, error) {
		fmt.Println("hello from the contract")
		fmt.Fprintln(os.Stderr, "and from stderr")
		return 0, nil
	})
	sdk.Handle("global", func(*sdk.Context, sdk.NoArgs) (int, error) { calls++; return calls, nil })
	sdk.Handle("maporder", func(*sdk.Context, sdk.NoArgs) (string, error) {
		m := map[int]bool{}
		for i := 0; i < 64; i++ {
			m[i] = true
		}
		var sb strings.Builder
		for k := range m {
			fmt.Fprint(&sb, k, ",")
		}
		return sb.String(), nil
	})
	sdk.Handle("files", func(*sdk.Context, sdk.NoArgs) (string, error) {
		_, err1 := os.ReadFile("/etc/passwd")
		host, err2 := os.Hostname()
		if err2 != nil {
			host = "error"
		}
		return fmt.Sprintf("%v|%s|%q|%q", err1 != nil, host, os.Args, os.Environ()), nil
	})
	sdk.Handle("keys", func(ctx *sdk.Context, _ sdk.NoArgs) ([]string, error) {
		for _, k := range []string{"b/2", "a/1", "b/1", "c/1"} {
			ctx.SetString(k, k)
		}
		ctx.Delete("b/2")
		var ks []string
		for k := range ctx.Keys("b/") {
			ks = append(ks, k)
		}
		return ks, nil
	})
	sdk.Handle("env", func(ctx *sdk.Context, _ sdk.NoArgs) (string, error) {
		return fmt.Sprintf("%s %s %d %s %d", ctx.Caller(), ctx.ContractID(), ctx.BlockHeight(),
			ctx.BlockTime().Format(time.RFC3339Nano), ctx.Origin()), nil
	})
}

func main() {}
