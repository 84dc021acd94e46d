package answer

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestResponseShapes: a response encodes as exactly one of the two
// documented shapes, whatever else its fields hold.
func TestResponseShapes(t *testing.T) {
	for _, c := range []struct {
		r    Response
		want string
	}{
		{Response{OK: true, Result: json.RawMessage(`{"count":2}`)}, `{"ok":true,"result":{"count":2}}`},
		{Response{OK: true}, `{"ok":true,"result":null}`},
		{Response{OK: true, Code: "x", Error: "ignored"}, `{"ok":true,"result":null}`},
		{Fail(CodePending, "not yet"), `{"ok":false,"code":"pending","error":"not yet"}`},
		{Response{Code: CodeInvalid, Result: json.RawMessage(`1`)}, `{"ok":false,"code":"invalid","error":""}`},
	} {
		b, err := json.Marshal(c.r)
		if err != nil || string(b) != c.want {
			t.Errorf("%+v: %s, %v; want %s", c.r, b, err, c.want)
		}
	}
}

func TestDecode(t *testing.T) {
	for in, want := range map[string]string{
		`{"ok":true,"result":{"count":2}}`: `{"count":2}`,
		`{"ok":true,"result":null}`:        `null`,
		`{"ok":true}`:                      `null`,
	} {
		got, err := Decode([]byte(in))
		if err != nil || string(got) != want {
			t.Errorf("%s: %s, %v", in, got, err)
		}
	}
	for in, want := range map[string]Error{
		`{"ok":false,"code":"not_authorized","error":"the receipt belongs to another account"}`: {CodeNotAuthorized, "the receipt belongs to another account"},
		`{"ok":false}`: {CodeFailed, ""},
		`{}`:           {CodeFailed, ""},
	} {
		_, err := Decode([]byte(in))
		var e *Error
		if !errors.As(err, &e) || *e != want {
			t.Errorf("%s: %v, want %+v", in, err, want)
		}
	}
	for _, in := range []string{``, `[]`, `{"ok":"yes"}`, `{"ok":true,"result":`} {
		_, err := Decode([]byte(in))
		var e *Error
		if err == nil || errors.As(err, &e) {
			t.Errorf("%q: %v, want a non-contract error", in, err)
		}
	}
	// What the worker writes, the SDK reads back unchanged.
	b, _ := json.Marshal(Fail(CodeNotReady, "catching up"))
	if _, err := Decode(b); err == nil || err.Error() != "contract: not_ready: catching up" {
		t.Fatalf("round trip: %v", err)
	}
}

// TestReceiptEncoding: every field is written, even empty, in the order
// docs/contracts.md shows; a decoded receipt encodes to the same bytes.
func TestReceiptEncoding(t *testing.T) {
	rc := Receipt{Sequence: 1, Height: 101, Status: StatusOK, Result: json.RawMessage(`{"count":2}`),
		Events: []ReceiptEvent{{Topic: "incremented", Data: json.RawMessage(`{"count":2}`)}}, GasUsed: 130931}
	const want = `{"sequence":1,"height":101,"status":"ok","result":{"count":2},"error":"","events":[{"topic":"incremented","data":{"count":2}}],"gas_used":130931}`
	b, err := json.Marshal(rc)
	if err != nil || string(b) != want {
		t.Fatalf("%s, %v", b, err)
	}
	const rejected = `{"sequence":2,"height":102,"status":"rejected","result":null,"error":"replayed nonce","events":[],"gas_used":0}`
	var back Receipt
	if err := json.Unmarshal([]byte(rejected), &back); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(back); string(b) != rejected {
		t.Fatalf("round trip: %s", b)
	}
}

func TestReceiptErr(t *testing.T) {
	if err := (&Receipt{Status: StatusOK, Error: "skipped 1 malformed veil.transfer event(s)"}).Err(); err != nil {
		t.Fatalf("ok receipt: %v", err)
	}
	for _, st := range []string{StatusReverted, StatusFailed, StatusRejected} {
		err := (&Receipt{Status: st, Error: "why"}).Err()
		var e *Error
		if !errors.As(err, &e) || e.Code != st || e.Message != "why" || err.Error() != "contract: "+st+": why" {
			t.Errorf("%s: %v", st, err)
		}
	}
	if s := (&Error{Code: CodePending}).Error(); s != "contract: pending" {
		t.Errorf("no message: %q", s)
	}
}
