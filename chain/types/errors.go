package types

import (
	"errors"
	"fmt"
)

// Codespace of every error the Veil chain returns in CheckTx/FinalizeBlock.
const Codespace = "veil"

// Code is a stable numeric result code. Clients and tests match on codes,
// never on log text, so codes are append-only.
type Code uint32

// Result codes. 0 is success.
const (
	CodeOK                  Code = 0
	CodeInternal            Code = 1
	CodeTxDecode            Code = 2
	CodeTxTooLarge          Code = 3
	CodeInvalidSignature    Code = 4
	CodeUnsupportedScheme   Code = 5
	CodeWrongChainID        Code = 6
	CodeStaleNonce          Code = 7
	CodeFutureNonce         Code = 8
	CodeTxExpired           Code = 9
	CodeInsufficientFee     Code = 10
	CodeUnknownMessage      Code = 11
	CodeInvalidAddress      Code = 12
	CodeInvalidAmount       Code = 13
	CodeInsufficientFunds   Code = 14
	CodeOverflow            Code = 15
	CodeUnauthorized        Code = 16
	CodeExistentialDeposit  Code = 17
	CodeSenderMismatch      Code = 18
	CodeNoMessages          Code = 19
	CodeTooManyMessages     Code = 20
	CodeInvalidRequest      Code = 21
	CodeMemoTooLarge        Code = 22
	CodeDuplicateTx         Code = 23
	CodeNotFound            Code = 24
	CodeInvalidGenesis      Code = 25
	CodeExpiryTooFar        Code = 26
	CodeSelfTransfer        Code = 27
	CodeModuleSpecificStart Code = 100 // modules allocate their own codes from here
)

var codeNames = map[Code]string{
	CodeOK: "ok", CodeInternal: "internal", CodeTxDecode: "tx_decode", CodeTxTooLarge: "tx_too_large",
	CodeInvalidSignature: "invalid_signature", CodeUnsupportedScheme: "unsupported_scheme",
	CodeWrongChainID: "wrong_chain_id", CodeStaleNonce: "stale_nonce", CodeFutureNonce: "future_nonce",
	CodeTxExpired: "tx_expired", CodeInsufficientFee: "insufficient_fee", CodeUnknownMessage: "unknown_message",
	CodeInvalidAddress: "invalid_address", CodeInvalidAmount: "invalid_amount",
	CodeInsufficientFunds: "insufficient_funds", CodeOverflow: "overflow", CodeUnauthorized: "unauthorized",
	CodeExistentialDeposit: "existential_deposit", CodeSenderMismatch: "sender_mismatch",
	CodeNoMessages: "no_messages", CodeTooManyMessages: "too_many_messages", CodeInvalidRequest: "invalid_request",
	CodeMemoTooLarge: "memo_too_large", CodeDuplicateTx: "duplicate_tx", CodeNotFound: "not_found",
	CodeInvalidGenesis: "invalid_genesis", CodeExpiryTooFar: "expiry_too_far", CodeSelfTransfer: "self_transfer",
}

// String names the code, e.g. "stale_nonce".
func (c Code) String() string {
	if n, ok := codeNames[c]; ok {
		return n
	}
	return fmt.Sprintf("code_%d", uint32(c))
}

// Error is a chain error with a stable code. Its message is what the user
// sees in the transaction's log.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return e.Code.String() + ": " + e.Msg }

// Is matches errors by code so that errors.Is(err, Errf(CodeX, "")) works.
func (e *Error) Is(target error) bool {
	var t *Error
	return errors.As(target, &t) && t.Code == e.Code
}

// Errf builds a coded error.
func Errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf extracts the code of err: CodeOK for nil, CodeInternal for errors
// that carry no code (which are bugs or store failures, not user errors).
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
