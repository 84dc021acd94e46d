package relay

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"connectrpc.com/connect"

	"github.com/veil-network/veil/client"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
)

// codeRetryAfter is how long the relayer leaves a code hash alone after
// failing to provide it (the node may not have committed it yet, or the
// worker refused it), so a persistent failure costs a log line a while,
// not a megabyte download every round.
const codeRetryAfter = 5 * time.Second

// provideCode gives the worker the contract code it lists as missing
// (InfoResponse.missing_code): it reads each module from the node's state
// at client.CodeKey(hash) and calls ProvideCode. No proof is needed:
// code is content-addressed, and the worker keeps only bytes whose
// SHA-256 is a hash it waits for, so a lying node can only delay. The
// relayer checks the hash too, to report a bad node clearly. Failures
// are logged and retried after codeRetryAfter; they never fail the sync
// round, since headers and messages must keep flowing meanwhile. It
// returns how many modules the worker accepted.
func (r *Relayer) provideCode(ctx context.Context, info *workerv1.InfoResponse) int {
	missing := info.GetMissingCode()
	// Forget the back-off of hashes the worker no longer lists (it got
	// the code elsewhere, or dropped the contract).
	listed := make(map[string]bool, len(missing))
	for _, h := range missing {
		listed[hex.EncodeToString(h)] = true
	}
	r.mu.Lock()
	for key := range r.codeRetry {
		if !listed[key] {
			delete(r.codeRetry, key)
		}
	}
	r.mu.Unlock()
	provided := 0
	now := time.Now()
	for _, h := range missing {
		if len(h) != sha256.Size {
			r.log.Warn("the worker lists a malformed missing code hash", "hash", hex.EncodeToString(h))
			continue
		}
		key := hex.EncodeToString(h)
		r.mu.Lock()
		next, backoff := r.codeRetry[key]
		r.mu.Unlock()
		if backoff && now.Before(next) {
			continue
		}
		err := r.provideOne(ctx, [32]byte(h))
		r.mu.Lock()
		if err != nil {
			r.codeRetry[key] = now.Add(codeRetryAfter)
		} else {
			delete(r.codeRetry, key)
		}
		r.mu.Unlock()
		if err != nil {
			r.m.errors.WithLabelValues("code").Inc()
			r.log.Warn("could not provide contract code to the worker; retrying later", "code_hash", key, "err", err, "retry_in", codeRetryAfter)
			continue
		}
		provided++
	}
	return provided
}

func (r *Relayer) provideOne(ctx context.Context, hash [32]byte) error {
	q, err := r.cfg.Node.Node.QueryState(ctx, connect.NewRequest(&nodev1.QueryStateRequest{Key: client.CodeKey(hash)}))
	if err != nil {
		return fmt.Errorf("read code from the node: %w", err)
	}
	code := q.Msg.GetValue()
	if len(code) == 0 {
		return fmt.Errorf("the node (at height %d) stores no code with this hash yet", q.Msg.GetHeight())
	}
	if got := sha256.Sum256(code); got != hash {
		return fmt.Errorf("the node returned %d bytes hashing to %x, not the requested code", len(code), got)
	}
	res, err := r.worker.ProvideCode(ctx, connect.NewRequest(&workerv1.ProvideCodeRequest{Code: code}))
	if err != nil {
		return fmt.Errorf("worker ProvideCode: %w", err)
	}
	r.log.Info("contract code provided to the worker", "code_hash", hex.EncodeToString(hash[:]), "bytes", len(code),
		"worker_hash", hex.EncodeToString(res.Msg.GetCodeHash()))
	return nil
}
