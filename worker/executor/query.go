package executor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/worker/answer"
	"github.com/veil-network/veil/worker/runtime"
)

// ReceiptMethod is the query method that returns a receipt.
const ReceiptMethod = answer.ReceiptMethod

// Query error codes (the "code" of a failed response; package answer).
const (
	CodeNotReady      = answer.CodeNotReady
	CodePending       = answer.CodePending
	CodeNotAuthorized = answer.CodeNotAuthorized
	CodeNotFound      = answer.CodeNotFound
	CodeReverted      = answer.CodeReverted
	CodeFailed        = answer.CodeFailed
	CodeInvalid       = answer.CodeInvalid
)

// Response is a query's plaintext answer: {"ok":true,"result":…} or
// {"ok":false,"code":…,"error":…} (answer.Response, which the Go SDK
// decodes).
type Response = answer.Response

func fail(code, msg string) Response { return answer.Fail(code, msg) }

// Query answers a sealed query envelope with a sealed response (see
// Response). An envelope that cannot be opened (wrong recipient,
// tampered, expired, replayed, malformed) is ErrBadEnvelope; a full replay
// cache ErrOverloaded; a host failure ErrUnavailable. now is the worker's
// clock, for the expiry check. The method SessionMethod opens a query
// session instead of calling the contract (session.go).
func (e *Executor) Query(ctx context.Context, env []byte, now time.Time) ([]byte, error) {
	start := time.Now()
	outcome := "refused"
	defer func() {
		if e.metrics != nil {
			e.metrics.Query(outcome, time.Since(start))
		}
	}()
	q, sealer, err := envelope.OpenQuery(e.worker, env, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadEnvelope, err)
	}
	if err := e.replay.Add(q, now); err != nil {
		if errors.Is(err, envelope.ErrReplayCacheFull) {
			outcome = "overloaded"
			return nil, fmt.Errorf("%w: %w", ErrOverloaded, err)
		}
		return nil, fmt.Errorf("%w: %w", ErrBadEnvelope, err)
	}
	var resp Response
	if q.Method == SessionMethod {
		resp, err = e.openSession(q, sealer, now)
	} else {
		resp, err = e.answer(ctx, q)
	}
	if err != nil {
		outcome = "unavailable"
		return nil, err
	}
	outcome = answerOutcome(resp)
	return sealAnswer(resp, sealer.Seal)
}

// answerOutcome is the metrics label of an answered query.
func answerOutcome(r Response) string {
	if r.OK {
		return "ok"
	}
	return r.Code
}

// sealAnswer encodes resp and seals it with seal; a response over the
// size limit is replaced by a sealed "response too large" failure.
func sealAnswer(resp Response, seal func([]byte) ([]byte, error)) ([]byte, error) {
	pt, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("encode query response: %w", err)
	}
	defer clear(pt)
	out, err := seal(pt)
	if err != nil {
		// Only a response over the size limit gets here, and it failed
		// before anything was encrypted.
		pt2, _ := json.Marshal(fail(CodeFailed, "response too large"))
		if out, err = seal(pt2); err != nil {
			return nil, fmt.Errorf("seal query response: %w", err)
		}
	}
	return out, nil
}

// answer computes the plaintext response to a verified query.
func (e *Executor) answer(ctx context.Context, q *envelope.VerifiedQuery) (Response, error) {
	c, refusal := e.lockReady(q.ContractID)
	if c == nil {
		return refusal, nil
	}
	defer c.mu.RUnlock()
	if q.Method == ReceiptMethod {
		return e.receiptAnswer(c, q)
	}
	if !c.caughtUpLocked() {
		if !c.chainNextKnown {
			return fail(CodeNotReady, "the worker is catching up with the contract's log (length not proven yet)"), nil
		}
		return fail(CodeNotReady, fmt.Sprintf("the worker is catching up with the contract's log: executed %d of %d messages", c.next, c.chainNext)), nil
	}
	seed, err := hkdfExpand(c.randomPRK, labelQueryRandom, append(bytes.Clone(c.id[:]), q.Nonce[:]...))
	if err != nil {
		return Response{}, err
	}
	env := runtime.Env{Caller: q.Caller.Key, ContractID: c.id, Origin: runtime.OriginQuery, Height: c.lastHeight,
		Time: time.Unix(0, c.lastTime), RandomSeed: [32]byte(seed), Storage: readOnlyStorage{c.store}}
	clear(seed)
	res, err := c.mod.Call(ctx, env, q.Method, q.Args, 0)
	var rerr *runtime.RevertError
	switch {
	case err == nil:
		return Response{OK: true, Result: rawJSON(res.Output)}, nil
	case nonDeterministic(err):
		return Response{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	case errors.As(err, &rerr):
		return fail(CodeReverted, rerr.Msg), nil
	case errors.Is(err, runtime.ErrInvalidInput):
		return fail(CodeInvalid, err.Error()), nil
	}
	return fail(CodeFailed, err.Error()), nil
}

// lockReady returns contract id read-locked (the caller unlocks c.mu) if
// it can serve queries here; otherwise nil and the not_ready refusal.
func (e *Executor) lockReady(id [32]byte) (*contract, Response) {
	c := e.contract(id)
	if c == nil {
		return nil, fail(CodeNotReady, "the worker does not execute this contract")
	}
	c.mu.RLock()
	if !c.readyLocked() {
		c.mu.RUnlock()
		return nil, fail(CodeNotReady, "the contract is not ready on this worker (key, code or assignment missing)")
	}
	return c, Response{}
}

// receiptAnswer returns the receipt a "veil.receipt" query asks for, to
// its reader only. Callers hold c.mu (read).
func (e *Executor) receiptAnswer(c *contract, q *envelope.VerifiedQuery) (Response, error) {
	var a struct {
		Sequence *uint64 `json:"sequence"`
	}
	d := json.NewDecoder(bytes.NewReader(q.Args))
	d.DisallowUnknownFields()
	if err := d.Decode(&a); err != nil || d.More() || a.Sequence == nil {
		return fail(CodeInvalid, `arguments must be {"sequence": n}`), nil
	}
	seq := *a.Sequence
	if seq >= c.next {
		return fail(CodePending, fmt.Sprintf("sequence %d is not executed yet (next %d)", seq, c.next)), nil
	}
	reader, rj, err := c.receipt(&e.pending, seq)
	switch {
	case errors.Is(err, errNotFound):
		return fail(CodeNotFound, fmt.Sprintf("no receipt at sequence %d", seq)), nil
	case err != nil:
		return Response{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if reader != q.Caller.Key || reader == ([32]byte{}) {
		return fail(CodeNotAuthorized, "the receipt belongs to another account"), nil
	}
	return Response{OK: true, Result: rj}, nil
}
