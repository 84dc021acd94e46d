package envelope

import (
	"bytes"
	"crypto/hpke"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// Query-session vectors: the "sessions" section of envelopes.json. A
// session is deterministic given its secret and id, so every byte here
// is reproducible by other implementations.

type sessionVectors struct {
	// OpeningQuery indexes queries: the session secret is exported from
	// that query's HPKE context.
	OpeningQuery  int                    `json:"opening_query"`
	Now           int64                  `json:"now"`
	SessionSecret string                 `json:"session_secret"`
	SessionID     string                 `json:"session_id"`
	ContractID    string                 `json:"contract_id"`
	Expiry        int64                  `json:"expiry"`
	Salt          string                 `json:"salt"`
	PRK           string                 `json:"prk"`
	RequestKey    string                 `json:"request_key"`
	RequestIV     string                 `json:"request_iv"`
	ResponseKey   string                 `json:"response_key"`
	ResponseIV    string                 `json:"response_iv"`
	Messages      []sessionMessageVector `json:"messages"`
	Invalid       []sessionInvalidVector `json:"invalid"`
}

type sessionMessageVector struct {
	Counter           uint64 `json:"counter"`
	Method            string `json:"method"`
	Args              string `json:"args"`
	Plaintext         string `json:"plaintext"`
	AAD               string `json:"aad"`
	AEADNonce         string `json:"aead_nonce"`
	Request           string `json:"request"`
	ResponsePlaintext string `json:"response_plaintext"`
	ResponseAAD       string `json:"response_aad"`
	ResponseAEADNonce string `json:"response_aead_nonce"`
	Response          string `json:"response"`
}

type sessionInvalidVector struct {
	Name string `json:"name"`
	// Kind is "request" (the worker session opens it at Now) or
	// "response" (the client opens it as the answer to Counter).
	Kind     string `json:"kind"`
	Now      int64  `json:"now,omitempty"`
	Counter  uint64 `json:"counter,omitempty"`
	Envelope string `json:"envelope"`
	Error    string `json:"error"`
}

// sessionKeyMaterial recomputes the session key schedule independently
// of deriveSessionKeys, for publication and validation.
func sessionKeyMaterial(secret []byte, id SessionID, contract [32]byte) (salt, prk, reqKey, reqIV, respKey, respIV []byte) {
	salt = append([]byte(SessionExportLabel), id[:]...)
	prk = hkdfExtract(secret, salt)
	c := string(contract[:])
	return salt, prk, hkdfExpand(prk, "request key"+c, 32), hkdfExpand(prk, "request iv"+c, 12),
		hkdfExpand(prk, "response key"+c, 32), hkdfExpand(prk, "response iv"+c, 12)
}

func counterNonce(iv []byte, counter uint64) []byte {
	n := bytes.Clone(iv)
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], counter)
	for i := range c {
		n[4+i] ^= c[i]
	}
	return n
}

func testSessionMessages() []struct{ method, args, response string } {
	return []struct{ method, args, response string }{
		{"balance_of", `{"account":"alice"}`, `{"ok":true,"result":{"balance":"1000"}}`},
		{"veil.receipt", `{"sequence":7}`, `{"ok":false,"code":"pending","error":"sequence 7 is not executed yet (next 5)"}`},
		{"ping", "", `{"ok":true,"result":null}`},
	}
}

func generateSessions(t *testing.T, worker hpke.PrivateKey, opening []byte) sessionVectors {
	t.Helper()
	now := testNow()
	q, rs, err := OpenQuery(worker, opening, now)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := rs.SessionSecret()
	if err != nil {
		t.Fatal(err)
	}
	id := testSessionID()
	expiry := now.Add(MaxQueryLifetime)
	ws, err := NewWorkerSession(secret, id, q.Caller, q.ContractID, expiry)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := NewClientSession(secret, id, q.ContractID, expiry)
	if err != nil {
		t.Fatal(err)
	}
	salt, prk, rk, riv, sk, siv := sessionKeyMaterial(secret, id, q.ContractID)
	v := sessionVectors{OpeningQuery: 0, Now: now.Unix(), SessionSecret: hx(secret), SessionID: hx(id[:]), ContractID: hx(q.ContractID[:]),
		Expiry: expiry.Unix(), Salt: hx(salt), PRK: hx(prk), RequestKey: hx(rk), RequestIV: hx(riv), ResponseKey: hx(sk), ResponseIV: hx(siv)}
	var resps [][]byte
	for _, m := range testSessionMessages() {
		env, c, err := cs.SealRequest(m.method, []byte(m.args))
		if err != nil {
			t.Fatal(err)
		}
		r, err := ws.OpenRequest(env, now)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := r.SealResponse([]byte(m.response))
		if err != nil {
			t.Fatal(err)
		}
		pt, _ := encodeSessionRequest(q.ContractID, m.method, []byte(m.args))
		v.Messages = append(v.Messages, sessionMessageVector{Counter: c, Method: m.method, Args: hx([]byte(m.args)), Plaintext: hx(pt),
			AAD: hx(env[:sessionHeaderSize]), AEADNonce: hx(counterNonce(riv, c)), Request: hx(env), ResponsePlaintext: hx([]byte(m.response)),
			ResponseAAD: hx(resp[:sessionHeaderSize]), ResponseAEADNonce: hx(counterNonce(siv, c)), Response: hx(resp)})
		resps = append(resps, resp)
	}
	addReq := func(name string, env []byte, at time.Time, want error) {
		iv := sessionInvalidVector{Name: name, Kind: "request", Envelope: hx(env), Error: sentinelName(t, want)}
		if at != now {
			iv.Now = at.Unix()
		}
		v.Invalid = append(v.Invalid, iv)
	}
	req0 := mustHex(t, v.Messages[0].Request)
	addReq("request: counter 1 replayed", req0, now, ErrReplay)
	next, _, _ := cs.SealRequest("balance_of", []byte(`{"account":"bob"}`)) // counter 4
	addReq("request: last tag byte flipped", flip(next, len(next)-1, 0x01), now, ErrDecrypt)
	addReq("request: counter 4 changed to 5", flip(next, sessionHeaderSize-1, 0x01), now, ErrDecrypt)
	zero := bytes.Clone(next)
	clear(zero[2+SessionIDSize : sessionHeaderSize])
	addReq("request: counter 0", zero, now, ErrMalformed)
	addReq("request: another session id", flip(next, 2, 0x01), now, ErrUnknownSession)
	addReq("request: a response", resps[0], now, ErrWrongKind)
	addReq("request: at the session's expiry", next, expiry, ErrExpired)
	wrong := &ClientSession{session: session{id: id, contract: otherContractID(), expiry: expiry.Unix(), keys: cs.keys}}
	wrong.last.Store(4)
	wenv, _, _ := wrong.SealRequest("balance_of", nil) // counter 5
	addReq("request: plaintext names another contract", wenv, now, ErrWrongContract)
	v.Invalid = append(v.Invalid,
		sessionInvalidVector{Name: "response: to another counter", Kind: "response", Counter: 2, Envelope: hx(resps[0]), Error: "ErrDecrypt"},
		sessionInvalidVector{Name: "response: ciphertext byte flipped", Kind: "response", Counter: 1, Envelope: hx(flip(resps[0], sessionHeaderSize, 0x01)), Error: "ErrDecrypt"},
		sessionInvalidVector{Name: "response: a request", Kind: "response", Counter: 1, Envelope: hx(req0), Error: "ErrWrongKind"},
	)
	return v
}

// validateSessions checks the sessions section as another implementation
// would: export the secret from the opening query, recompute the key
// schedule, reproduce every request and response byte for byte.
func validateSessions(t *testing.T, v *vectorFile, workerPriv hpke.PrivateKey) {
	t.Helper()
	sv := v.Sessions
	check := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("sessions: %s:\n got  %.80s…\n want %.80s…", what, got, want)
		}
	}
	if sv.OpeningQuery < 0 || sv.OpeningQuery >= len(v.Queries) || len(sv.Messages) < 3 || len(sv.Invalid) < 8 {
		t.Fatalf("sessions section incomplete")
	}
	qv := v.Queries[sv.OpeningQuery]
	q, rs, err := OpenQuery(workerPriv, mustHex(t, qv.Envelope), time.Unix(qv.Now, 0))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := rs.SessionSecret()
	if err != nil {
		t.Fatal(err)
	}
	check("session secret", hx(secret), sv.SessionSecret)
	check("contract id", hx(q.ContractID[:]), sv.ContractID)
	id := SessionID(mustHex(t, sv.SessionID))
	salt, prk, rk, riv, sk, siv := sessionKeyMaterial(secret, id, q.ContractID)
	check("salt", hx(salt), sv.Salt)
	check("prk", hx(prk), sv.PRK)
	check("request key", hx(rk), sv.RequestKey)
	check("request iv", hx(riv), sv.RequestIV)
	check("response key", hx(sk), sv.ResponseKey)
	check("response iv", hx(siv), sv.ResponseIV)
	now, expiry := time.Unix(sv.Now, 0), time.Unix(sv.Expiry, 0)
	ws, err := NewWorkerSession(secret, id, q.Caller, q.ContractID, expiry)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := NewClientSession(secret, id, q.ContractID, expiry)
	if err != nil {
		t.Fatal(err)
	}
	if ws.keys.reqKey != [32]byte(rk) || ws.keys.respIV != [12]byte(siv) {
		t.Error("sessions: deriveSessionKeys disagrees with the specified schedule")
	}
	for _, m := range sv.Messages {
		args := mustHex(t, m.Args)
		pt, err := encodeSessionRequest(q.ContractID, m.Method, args)
		if err != nil {
			t.Fatal(err)
		}
		check(m.Method+" plaintext", hx(pt), m.Plaintext)
		check(m.Method+" aead nonce", hx(counterNonce(riv, m.Counter)), m.AEADNonce)
		check(m.Method+" response aead nonce", hx(counterNonce(siv, m.Counter)), m.ResponseAEADNonce)
		env, c, err := cs.SealRequest(m.Method, args)
		if err != nil || c != m.Counter {
			t.Fatalf("sessions: seal %s: counter %d, %v", m.Method, c, err)
		}
		check(m.Method+" request", hx(env), m.Request)
		check(m.Method+" aad", hx(env[:sessionHeaderSize]), m.AAD)
		r, err := ws.OpenRequest(mustHex(t, m.Request), now)
		if err != nil {
			t.Fatalf("sessions: open %s: %v", m.Method, err)
		}
		if r.Method != m.Method || !bytes.Equal(r.Args, args) || r.Counter != m.Counter {
			t.Errorf("sessions: %s opened as %+v", m.Method, r)
		}
		resp, err := r.SealResponse(mustHex(t, m.ResponsePlaintext))
		if err != nil {
			t.Fatal(err)
		}
		check(m.Method+" response", hx(resp), m.Response)
		check(m.Method+" response aad", hx(resp[:sessionHeaderSize]), m.ResponseAAD)
		rpt, err := cs.OpenResponse(mustHex(t, m.Response), m.Counter)
		if err != nil {
			t.Fatal(err)
		}
		check(m.Method+" response plaintext", hx(rpt), m.ResponsePlaintext)
	}
	for _, iv := range sv.Invalid {
		want := errorByName(iv.Error)
		if want == nil {
			t.Fatalf("sessions: %s: unknown error name %q", iv.Name, iv.Error)
		}
		env := mustHex(t, iv.Envelope)
		var err error
		switch iv.Kind {
		case "request":
			at := now
			if iv.Now != 0 {
				at = time.Unix(iv.Now, 0)
			}
			_, err = ws.OpenRequest(env, at)
		case "response":
			_, err = cs.OpenResponse(env, iv.Counter)
		default:
			t.Fatalf("sessions: %s: kind %q", iv.Name, iv.Kind)
		}
		if !errors.Is(err, want) {
			t.Errorf("sessions: %s: got %v, want %s", iv.Name, err, iv.Error)
		}
	}
}
