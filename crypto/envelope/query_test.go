package envelope

import (
	"bytes"
	"crypto/hpke"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veil-network/veil/crypto/keys"
)

// testNow is the fixed "now" of query tests and vectors.
func testNow() time.Time { return time.Unix(1_767_225_600, 0) } // 2026-01-01T00:00:00Z

func testQuery() QueryRequest {
	return QueryRequest{
		ContractID: testContractID(),
		Method:     "balance_of",
		Args:       []byte(`{"account":"5Grw"}`),
		Expiry:     testNow().Add(time.Minute),
	}
}

func TestQueryRoundTrip(t *testing.T) {
	worker := workerKey(t, testWorkerIKM())
	for _, scheme := range bothSchemes() {
		t.Run(string(scheme), func(t *testing.T) {
			signer := testSigner(t, scheme)
			req := testQuery()
			env, qc, err := SealQuery(worker.PublicKey(), req, signer)
			if err != nil {
				t.Fatal(err)
			}
			q, rs, err := OpenQuery(worker, env, testNow())
			if err != nil {
				t.Fatal(err)
			}
			if q.Caller != signer.Public() || q.ContractID != req.ContractID || q.Method != req.Method ||
				!bytes.Equal(q.Args, req.Args) || !q.Expiry.Equal(req.Expiry) || q.Nonce != qc.Nonce() || !qc.Expiry().Equal(req.Expiry) {
				t.Fatalf("opened %+v", q)
			}
			if q.Nonce == ([16]byte{}) {
				t.Fatal("zero nonce")
			}
			resp, err := rs.Seal([]byte("42"))
			if err != nil {
				t.Fatal(err)
			}
			if len(resp) != 2+32+2+16 {
				t.Fatalf("response is %d bytes", len(resp))
			}
			got, err := qc.OpenResponse(resp)
			if err != nil || string(got) != "42" {
				t.Fatalf("response %q %v", got, err)
			}
			// A second response to the same query uses a fresh nonce and
			// key, and opens too.
			resp2, _ := rs.Seal([]byte("42"))
			if bytes.Equal(resp, resp2) {
				t.Fatal("two responses are identical")
			}
			if got, err := qc.OpenResponse(resp2); err != nil || string(got) != "42" {
				t.Fatalf("second response %q %v", got, err)
			}
			// Empty and maximal responses.
			for _, n := range []int{0, MaxResponseSize} {
				r, err := rs.Seal(make([]byte, n))
				if err != nil {
					t.Fatal(err)
				}
				if got, err := qc.OpenResponse(r); err != nil || len(got) != n {
					t.Fatalf("response of %d: %d %v", n, len(got), err)
				}
			}
		})
	}
}

func TestQueryNoncesFresh(t *testing.T) {
	worker := workerKey(t, testWorkerIKM())
	signer := testSigner(t, keys.SchemeEd25519)
	seen := map[[16]byte]bool{}
	for range 20 {
		_, qc, err := SealQuery(worker.PublicKey(), testQuery(), signer)
		if err != nil {
			t.Fatal(err)
		}
		if seen[qc.Nonce()] {
			t.Fatal("nonce repeated")
		}
		seen[qc.Nonce()] = true
	}
}

func TestQueryExpiry(t *testing.T) {
	worker := workerKey(t, testWorkerIKM())
	signer := testSigner(t, keys.SchemeEd25519)
	now := testNow()
	for _, tc := range []struct {
		expiry time.Time
		want   error
	}{
		{now.Add(-time.Hour), ErrExpired},
		{now, ErrExpired}, // valid strictly before its expiry
		{now.Add(time.Second), nil},
		{now.Add(MaxQueryLifetime), nil},
		{now.Add(MaxQueryLifetime + time.Second), ErrExpiryTooFar},
		{now.Add(24 * time.Hour), ErrExpiryTooFar},
		{now.Add(1500 * time.Millisecond), nil}, // whole seconds on the wire: now+1
	} {
		req := testQuery()
		req.Expiry = tc.expiry
		env, _, err := SealQuery(worker.PublicKey(), req, signer)
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = OpenQuery(worker, env, now)
		if (tc.want == nil && err != nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("expiry now%+v: got %v, want %v", tc.expiry.Sub(now), err, tc.want)
		}
	}
	req := testQuery()
	req.Expiry = time.Time{}
	if _, _, err := SealQuery(worker.PublicKey(), req, signer); !errors.Is(err, ErrExpired) {
		t.Fatalf("unset expiry: %v", err)
	}
	// Expiry 0 and above MaxInt64 are malformed on the wire.
	pt := signedQueryPlaintext(t, worker, signer, testQuery())
	expOff := 1 + 32 + 32 + 16
	for _, v := range []uint64{0, 1 << 63} {
		b := bytes.Clone(pt)
		binary.BigEndian.PutUint64(b[expOff:], v)
		if _, err := DecodeSignedQuery(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("expiry %d: %v", v, err)
		}
	}
}

// signedQueryPlaintext builds a query plaintext for worker by hand, with a
// fixed nonce.
func signedQueryPlaintext(t testing.TB, worker hpke.PrivateKey, signer keys.Signer, req QueryRequest) []byte {
	t.Helper()
	enc, err := EncodeQuery(signer.Public(), req, [16]byte{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := signer.Sign(QuerySigningMessage(Fingerprint(worker.PublicKey().Bytes()), enc))
	if err != nil {
		t.Fatal(err)
	}
	return append(enc, sig...)
}

func TestQueryReplay(t *testing.T) {
	worker := workerKey(t, testWorkerIKM())
	signer := testSigner(t, keys.SchemeSr25519)
	rc, err := NewReplayCache(16)
	if err != nil {
		t.Fatal(err)
	}
	env, _, err := SealQuery(worker.PublicKey(), testQuery(), signer)
	if err != nil {
		t.Fatal(err)
	}
	q, _, err := OpenQuery(worker, env, testNow())
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Add(q, testNow()); err != nil {
		t.Fatal(err)
	}
	// The same envelope again: decrypts and verifies, but the cache says no.
	q2, _, err := OpenQuery(worker, env, testNow().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Add(q2, testNow().Add(30*time.Second)); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	// After its expiry the envelope is refused as expired, so forgetting
	// its nonce is safe.
	if _, _, err := OpenQuery(worker, env, testNow().Add(time.Minute)); !errors.Is(err, ErrExpired) {
		t.Fatalf("replay after expiry: %v", err)
	}
}

// TestQueryForwarded: a worker that decrypts a query and re-seals it to
// another worker gets it rejected there, because the signature covers the
// intended worker's key.
func TestQueryForwarded(t *testing.T) {
	a := workerKey(t, testWorkerIKM())
	b := workerKey(t, otherWorkerIKM())
	signer := testSigner(t, keys.SchemeEd25519)
	env, _, err := SealQuery(a.PublicKey(), testQuery(), signer)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := OpenQuery(b, env, testNow()); !errors.Is(err, ErrWrongRecipient) {
		t.Fatalf("opened by another worker: %v", err)
	}
	o, err := open(a, KindQuery, []byte(QueryInfo), env, maxQueryPlaintext)
	if err != nil {
		t.Fatal(err)
	}
	forwarded := mustSeal(t, b.PublicKey(), KindQuery, []byte(QueryInfo), o.pt)
	if _, _, err := OpenQuery(b, forwarded, testNow()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("forwarded: %v", err)
	}
}

func TestQueryTamperEveryByte(t *testing.T) {
	worker := workerKey(t, testWorkerIKM())
	env, qc, err := SealQuery(worker.PublicKey(), testQuery(), testSigner(t, keys.SchemeEd25519))
	if err != nil {
		t.Fatal(err)
	}
	for i := range env {
		_, _, err := OpenQuery(worker, flip(env, i, 0x80), testNow())
		var want error
		switch {
		case i == 0:
			want = ErrUnsupportedVersion
		case i == 1:
			want = ErrWrongKind
		case i < 8:
			want = ErrUnknownSuite
		case i < 16:
			want = ErrWrongRecipient
		case i < 18:
			want = ErrMalformed
		default:
			want = ErrDecrypt
		}
		if !errors.Is(err, want) {
			t.Fatalf("byte %d: got %v, want %v", i, err, want)
		}
	}
	for n := range env {
		if _, _, err := OpenQuery(worker, env[:n], testNow()); err == nil {
			t.Fatalf("truncated to %d accepted", n)
		}
	}
	// Responses: every byte flipped, every truncation.
	_, rs, err := OpenQuery(worker, env, testNow())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rs.Seal([]byte("the answer is 42"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range resp {
		_, err := qc.OpenResponse(flip(resp, i, 0x01))
		want := ErrDecrypt
		switch i {
		case 0:
			want = ErrUnsupportedVersion
		case 1:
			want = ErrWrongKind
		}
		if !errors.Is(err, want) {
			t.Fatalf("response byte %d: got %v, want %v", i, err, want)
		}
	}
	for n := range resp {
		want := ErrTruncated
		if n >= responseHeaderSize+gcmTagSize {
			want = ErrDecrypt
		}
		if _, err := qc.OpenResponse(resp[:n]); !errors.Is(err, want) {
			t.Fatalf("response truncated to %d: %v", n, err)
		}
	}
}

// TestResponseBoundToQuery: a response to one query does not open under
// another query's context, even from the same client to the same worker.
func TestResponseBoundToQuery(t *testing.T) {
	worker := workerKey(t, testWorkerIKM())
	signer := testSigner(t, keys.SchemeEd25519)
	env1, qc1, _ := SealQuery(worker.PublicKey(), testQuery(), signer)
	_, qc2, _ := SealQuery(worker.PublicKey(), testQuery(), signer)
	_, rs1, err := OpenQuery(worker, env1, testNow())
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := rs1.Seal([]byte("for query 1"))
	if _, err := qc2.OpenResponse(resp); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("response opened by another query: %v", err)
	}
	if _, err := qc1.OpenResponse(resp); err != nil {
		t.Fatal(err)
	}
	if _, err := rs1.Seal(make([]byte, MaxResponseSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized response: %v", err)
	}
	big := make([]byte, responseHeaderSize+MaxResponseSize+gcmTagSize+1)
	big[0], big[1] = FormatVersion, byte(KindResponse)
	if _, err := qc1.OpenResponse(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized response opened: %v", err)
	}
}

func TestQueryOversizedAndMalformed(t *testing.T) {
	worker := workerKey(t, testWorkerIKM())
	signer := testSigner(t, keys.SchemeEd25519)
	req := testQuery()
	req.Args = make([]byte, MaxQueryArgsSize+1)
	if _, _, err := SealQuery(worker.PublicKey(), req, signer); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("args: %v", err)
	}
	req = testQuery()
	req.Method = ""
	if _, _, err := SealQuery(worker.PublicKey(), req, signer); !errors.Is(err, ErrInvalidMethod) {
		t.Fatalf("method: %v", err)
	}
	if _, _, err := SealQuery(nil, testQuery(), signer); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("nil worker key: %v", err)
	}
	if _, _, err := SealQuery(worker.PublicKey(), testQuery(), nil); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("nil signer: %v", err)
	}
	huge := mustSeal(t, worker.PublicKey(), KindQuery, []byte(QueryInfo), make([]byte, maxQueryPlaintext+1))
	if _, _, err := OpenQuery(worker, huge, testNow()); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("huge envelope: %v", err)
	}
	pt := signedQueryPlaintext(t, worker, signer, testQuery())
	for name, tc := range map[string]struct {
		pt   []byte
		want error
	}{
		"trailing": {append(bytes.Clone(pt), 1), ErrMalformed},
		"short":    {pt[:10], ErrMalformed},
		"args len": {func() []byte {
			b := bytes.Clone(pt)
			binary.BigEndian.PutUint32(b[queryFixedSize-4+len("balance_of"):], 1<<31)
			return b
		}(), ErrTooLarge},
	} {
		env := mustSeal(t, worker.PublicKey(), KindQuery, []byte(QueryInfo), tc.pt)
		if _, _, err := OpenQuery(worker, env, testNow()); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", name, err, tc.want)
		}
	}
}

func TestReplayCache(t *testing.T) {
	if _, err := NewReplayCache(0); err == nil {
		t.Fatal("zero capacity accepted")
	}
	rc, _ := NewReplayCache(3)
	now := testNow()
	q := func(nonce byte, expiry time.Duration) *VerifiedQuery {
		return &VerifiedQuery{Caller: testSigner(t, keys.SchemeEd25519).Public(), Nonce: [16]byte{nonce}, Expiry: now.Add(expiry)}
	}
	for i, e := range []time.Duration{10 * time.Second, 20 * time.Second, 30 * time.Second} {
		if err := rc.Add(q(byte(i), e), now); err != nil {
			t.Fatal(err)
		}
	}
	if err := rc.Add(q(1, 20*time.Second), now); !errors.Is(err, ErrReplay) {
		t.Fatalf("replay: %v", err)
	}
	// Full of unexpired nonces: refuse rather than forget one.
	if err := rc.Add(q(9, time.Minute), now); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("full: %v", err)
	}
	// Ten seconds later the first entry has expired and is evicted.
	later := now.Add(10 * time.Second)
	if err := rc.Add(q(9, time.Minute), later); err != nil {
		t.Fatalf("after eviction: %v", err)
	}
	if rc.Len() != 3 || rc.Capacity() != 3 {
		t.Fatalf("len %d", rc.Len())
	}
	// The evicted nonce is now refused as expired, never accepted again.
	if err := rc.Add(q(0, 10*time.Second), later); !errors.Is(err, ErrExpired) {
		t.Fatalf("expired nonce: %v", err)
	}
	// The clock stepping back does not revive it: the cache keeps the
	// latest now it saw.
	if err := rc.Add(q(0, 10*time.Second), now); !errors.Is(err, ErrExpired) {
		t.Fatalf("clock stepped back: %v", err)
	}
	// Same nonce from another caller is another request.
	other := q(1, 20*time.Second)
	other.Caller = testSigner(t, keys.SchemeSr25519).Public()
	if err := rc.Add(other, later); !errors.Is(err, ErrReplayCacheFull) {
		t.Fatalf("other caller, same nonce: %v", err) // distinct key; cache is full
	}
	// Everything expires.
	if err := rc.Add(q(7, 2*time.Minute), now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if rc.Len() != 1 {
		t.Fatalf("len after expiry %d", rc.Len())
	}
}

// TestReplayCacheBounded drives many more queries than the capacity
// through the cache and checks memory (entries) never exceeds it while
// every unexpired nonce stays remembered.
func TestReplayCacheBounded(t *testing.T) {
	const capacity = 1000
	rc, _ := NewReplayCache(capacity)
	caller := testSigner(t, keys.SchemeEd25519).Public()
	now := testNow()
	accepted := 0
	for i := range 20_000 {
		t0 := now.Add(time.Duration(i/100) * time.Second) // 100 queries/s
		var n [16]byte
		binary.BigEndian.PutUint64(n[:], uint64(i))
		err := rc.Add(&VerifiedQuery{Caller: caller, Nonce: n, Expiry: t0.Add(5 * time.Second)}, t0)
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, ErrReplayCacheFull):
			t.Fatal(err)
		}
		if rc.Len() > capacity {
			t.Fatalf("len %d > capacity", rc.Len())
		}
		if i%997 == 0 && err == nil { // replay a just-accepted nonce
			if err := rc.Add(&VerifiedQuery{Caller: caller, Nonce: n, Expiry: t0.Add(5 * time.Second)}, t0); !errors.Is(err, ErrReplay) {
				t.Fatalf("replay %d: %v", i, err)
			}
		}
	}
	if accepted != 20_000 {
		t.Fatalf("accepted %d of 20000 at 100/s × 5 s lifetime with capacity %d", accepted, capacity)
	}
}

func TestReplayCacheConcurrent(t *testing.T) {
	rc, _ := NewReplayCache(10_000)
	caller := testSigner(t, keys.SchemeEd25519).Public()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for range 4 {
		wg.Go(func() {
			for i := range 500 { // every goroutine submits the same 500 nonces
				var n [16]byte
				binary.BigEndian.PutUint64(n[:], uint64(i))
				if rc.Add(&VerifiedQuery{Caller: caller, Nonce: n, Expiry: testNow().Add(time.Minute)}, testNow()) == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if ok != 500 {
		t.Fatalf("%d accepted, want each of 500 nonces exactly once", ok)
	}
}

func ExampleSealQuery() {
	// Client side: seal a signed query to the worker's registered key.
	worker, _ := hpke.MLKEM768X25519().DeriveKeyPair([]byte("example worker key, 32+ bytes..."))
	signer := keys.NewEd25519FromSeed([32]byte{1})
	now := time.Unix(1_767_225_600, 0)
	env, qc, _ := SealQuery(worker.PublicKey(), QueryRequest{
		ContractID: [32]byte{0xa0}, Method: "balance_of", Args: []byte("alice"), Expiry: now.Add(time.Minute),
	}, signer)

	// Worker side: open, reject replays, answer.
	cache, _ := NewReplayCache(100_000)
	q, rs, err := OpenQuery(worker, env, now)
	if err == nil {
		err = cache.Add(q, now)
	}
	if err != nil {
		fmt.Println("rejected:", err)
		return
	}
	resp, _ := rs.Seal([]byte("100 VEIL"))

	// Client side: open the response.
	answer, _ := qc.OpenResponse(resp)
	fmt.Printf("%s asked %s: %s\n", q.Caller.Scheme, q.Method, answer)
	// Output: ed25519 asked balance_of: 100 VEIL
}

// TestFormatRedacts checks that printing the holders of response secrets
// or private keys never shows them.
func TestFormatRedacts(t *testing.T) {
	worker := workerKey(t, testWorkerIKM())
	ck, _ := NewCachedKey(worker)
	env, qc, err := SealQuery(worker.PublicKey(), testQuery(), testSigner(t, keys.SchemeEd25519))
	if err != nil {
		t.Fatal(err)
	}
	_, rs, err := OpenQuery(ck, env, testNow())
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := worker.Bytes()
	secrets := []string{hex.EncodeToString(qc.secret), hex.EncodeToString(seed)}
	for _, v := range []any{qc, *qc, rs, *rs, ck, *ck} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			out := fmt.Sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(out, s[:16]) {
					t.Fatalf("%s of %T prints a secret: %s", verb, v, out)
				}
			}
		}
	}
}
