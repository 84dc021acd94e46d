// Package answer is the JSON a worker answers its users with: the
// plaintext of a sealed query response ({"ok":true,"result":…} or
// {"ok":false,"code":…,"error":…}), command receipts, their statuses, the
// refusal codes and the methods the worker itself implements
// (veil.receipt, veil.session). See docs/contracts.md ("Receipts",
// "Queries") and docs/envelopes.md.
//
// It is a package of its own so that one definition serves both ends:
// the executor (worker/executor, which pulls in a wasm runtime) writes
// these answers and the Go SDK (client) reads them, and a light SDK must
// not import the executor to share its types. The field names and types
// are a wire format, also parsed by the TypeScript SDK (web/sdk): change
// them only together with every reader.
package answer

import (
	"encoding/json"
	"fmt"
)

// ReceiptMethod is the query method that returns a command's receipt.
// Arguments: {"sequence": n}; only the receipt's reader (the command's
// caller, or the caller of a chain call) may read it.
const ReceiptMethod = "veil.receipt"

// SessionMethod is the sealed-query method that opens a query session.
// Arguments: {} (or none) or {"lifetime_s": n}; the answer's result is a
// Session.
const SessionMethod = "veil.session"

// Receipt statuses.
const (
	StatusOK       = "ok"
	StatusReverted = "reverted"
	StatusFailed   = "failed"
	StatusRejected = "rejected"
)

// Refusal codes: the "code" of a failed response.
const (
	// CodeNotReady: this worker cannot serve the contract yet (no key,
	// code or assignment, or still replaying its log); another replica
	// may, or this one a little later.
	CodeNotReady = "not_ready"
	// CodePending: the receipt asked for is of a command not executed
	// yet.
	CodePending       = "pending"
	CodeNotAuthorized = "not_authorized"
	CodeNotFound      = "not_found"
	CodeReverted      = "reverted"
	CodeFailed        = "failed"
	CodeInvalid       = "invalid"
)

// Receipt is the outcome of one message of a contract's log, as the
// receipt query returns it. Every field is always written (result null,
// error "" and events [] when there are none), which is the documented
// form; the executor also stores receipts in this encoding.
type Receipt struct {
	Sequence uint64          `json:"sequence"`
	Height   uint64          `json:"height"`
	Status   string          `json:"status"`
	Result   json.RawMessage `json:"result"`
	Error    string          `json:"error"`
	Events   []ReceiptEvent  `json:"events"`
	GasUsed  uint64          `json:"gas_used"`
}

// ReceiptEvent is an event of a receipt: data is the event's bytes as raw
// JSON when they are valid JSON, else a base64 string.
type ReceiptEvent struct {
	Topic string          `json:"topic"`
	Data  json.RawMessage `json:"data"`
}

// Err is nil for a successful command, else an *Error carrying the
// status as its code and the contract's (or runtime's) error text.
func (r *Receipt) Err() error {
	if r.Status == StatusOK {
		return nil
	}
	return &Error{Code: r.Status, Message: r.Error}
}

// Session is the result of a SessionMethod query: the new session's id
// (32 hex digits) and its expiry (Unix seconds, by the worker's clock).
type Session struct {
	Session string `json:"session"`
	Expires int64  `json:"expires"`
}

// Response is a query's plaintext answer: {"ok":true,"result":…} or
// {"ok":false,"code":…,"error":…}. It encodes as exactly one of these two
// shapes (MarshalJSON); Decode reads either.
type Response struct {
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Code   string          `json:"code,omitempty"`
	Error  string          `json:"error,omitempty"`
}

// MarshalJSON writes exactly the two documented shapes: a success always
// has "result" (null when empty) and never "code"/"error"; a refusal
// always has both "code" and "error" and never "result".
func (r Response) MarshalJSON() ([]byte, error) {
	if r.OK {
		res := r.Result
		if len(res) == 0 {
			res = json.RawMessage("null")
		}
		return json.Marshal(struct {
			OK     bool            `json:"ok"`
			Result json.RawMessage `json:"result"`
		}{true, res})
	}
	return json.Marshal(struct {
		OK    bool   `json:"ok"`
		Code  string `json:"code"`
		Error string `json:"error"`
	}{false, r.Code, r.Error})
}

// Fail is the refusal with code and message.
func Fail(code, msg string) Response { return Response{Code: code, Error: msg} }

// Decode reads a response plaintext: a success gives its result (null
// when empty), a refusal an *Error (code "failed" when the worker gave
// none). Undecodable bytes are an ordinary error, not an *Error, so that
// a caller can tell a contract's answer from a broken worker.
func Decode(pt []byte) (json.RawMessage, error) {
	var r Response
	if err := json.Unmarshal(pt, &r); err != nil {
		return nil, fmt.Errorf("malformed answer: %w", err)
	}
	if !r.OK {
		if r.Code == "" {
			r.Code = CodeFailed
		}
		return nil, &Error{Code: r.Code, Message: r.Error}
	}
	if len(r.Result) == 0 {
		return json.RawMessage("null"), nil
	}
	return r.Result, nil
}

// Error is a contract-level refusal: a query or receipt answered
// {"ok":false,"code":…,"error":…}, or a command whose receipt says it
// reverted, failed or was rejected.
type Error struct {
	// Code is one of the Code* constants, or a receipt status.
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "contract: " + e.Code
	}
	return fmt.Sprintf("contract: %s: %s", e.Code, e.Message)
}
