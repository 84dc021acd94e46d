package client

// Confidential contracts from Go: build, deploy, call (encrypted commands
// through the chain), query (encrypted, straight to an assigned worker),
// receipts, deposits. The chain sees only ciphertext: commands are sealed
// to the contract's HPKE key (published on chain by a gatekeeper), queries
// to the worker's registered HPKE key, and answers come back sealed to a
// key only this process can derive (docs/envelopes.md).

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/contracts"
	"github.com/veil-network/veil/chain/registry"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/envelope"
	"github.com/veil-network/veil/crypto/keys"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/gen/veil/worker/v1/workerv1connect"
	"github.com/veil-network/veil/worker/answer"
)

// ContractsModule is the chain module of confidential contracts.
const ContractsModule = contracts.Name

// Event types and attributes the contracts module emits (its
// MsgPushCommand and MsgDeposit handlers, chain/contracts/msgs.go, which
// write them as literals).
const (
	EventContractCommand = "contract_command"
	EventContractDeposit = "contract_deposit"
	AttrSequence         = "sequence"
	AttrContract         = "contract"
)

// ReceiptMethod is the query method that returns a command's receipt.
const ReceiptMethod = answer.ReceiptMethod

// Receipt statuses.
const (
	StatusOK       = answer.StatusOK
	StatusReverted = answer.StatusReverted
	StatusFailed   = answer.StatusFailed
	StatusRejected = answer.StatusRejected
)

// Query response codes (ContractError.Code).
const (
	CodeNotReady      = answer.CodeNotReady
	CodePending       = answer.CodePending
	CodeNotAuthorized = answer.CodeNotAuthorized
	CodeNotFound      = answer.CodeNotFound
	CodeReverted      = answer.CodeReverted
	CodeFailed        = answer.CodeFailed
	CodeInvalid       = answer.CodeInvalid
)

// ContractID is a contract instance's 32-byte id.
type ContractID [32]byte

// Hex is the id as 64 lower-case hex digits (no 0x), as the chain's
// queries and events print it.
func (id ContractID) Hex() string { return hex.EncodeToString(id[:]) }

func (id ContractID) String() string { return id.Hex() }

// ParseContractID accepts 64 hex digits, with or without 0x.
func ParseContractID(s string) (ContractID, error) {
	var id ContractID
	h := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != len(id) {
		return id, fmt.Errorf("contract id must be 64 hex digits, got %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// ContractIDFor is the id the chain gives an instance:
// SHA-256("veil/contract-id/v1\0" || deployer || code_hash || salt). It is
// known before the instantiation commits, so a deployer can prepare calls.
func ContractIDFor(deployer types.AccountID, codeHash [32]byte, salt []byte) ContractID {
	return ContractID(contracts.ContractID(deployer, codeHash, salt))
}

// CodeKey is the state key under which the chain stores the raw code of
// hash. Code is content-addressed, so a reader needs no proof.
func CodeKey(hash [32]byte) []byte { return contracts.CodeKey(hash) }

// CodeHash is the SHA-256 of a raw wasm module: its id on chain.
func CodeHash(wasm []byte) [32]byte { return sha256.Sum256(wasm) }

// ContractInfo is the chain's record of a contract, as its "contract"
// and "contracts" queries return it: the chain's own type, so the SDK
// reads every field the chain writes. KeysPublished is set once a
// gatekeeper has published the contract's keys (HPKEPublicKey, the key
// commands are sealed to: see CommandKey).
type ContractInfo = contracts.ContractView

// ContractError is a contract-level refusal from a worker: a query or a
// receipt answered {"ok":false,"code":…,"error":…}, or a command whose
// receipt says it reverted, failed or was rejected. Code is one of the
// Code* constants, or a receipt status.
type ContractError = answer.Error

// IsContractCode reports whether err is a *ContractError with code.
func IsContractCode(err error, code string) bool {
	var ce *ContractError
	return errors.As(err, &ce) && ce.Code == code
}

// IsNotAuthorized reports an access refusal: a receipt the caller may not
// read (code not_authorized), or a method that reverted with the SDK's
// sdk.ErrNotAuthorized ("not authorized"), as owner-only reads do.
func IsNotAuthorized(err error) bool {
	var ce *ContractError
	if !errors.As(err, &ce) {
		return false
	}
	return ce.Code == CodeNotAuthorized || (ce.Code == CodeReverted && ce.Message == "not authorized")
}

// Receipt is what an assigned worker reports about an executed command
// (answer.Receipt, the worker's own definition). Its Err method is nil
// for a successful command, else a *ContractError carrying the status
// and the contract's error text.
type Receipt = answer.Receipt

// ReceiptEvent is an event a command emitted (data as the worker encodes
// it: the contract's JSON, or a base64 string).
type ReceiptEvent = answer.ReceiptEvent

// Contracts is the contract client: a node client plus how to reach the
// workers. The zero value of the optional fields works for a dev network
// through NewContracts.
type Contracts struct {
	Node *Client
	// WorkerURLs maps worker identities (64 hex digits, no 0x) to their
	// API base URLs, e.g. from network.json's "workers".
	WorkerURLs map[string]string
	// WorkerURL, when set, is the only worker queries are sent to (its
	// identity is read from its Info and must be assigned to the
	// contract).
	WorkerURL string
	// HTTPClient talks to workers (default http.DefaultClient).
	HTTPClient *http.Client
	// PollInterval paces the waits for keys and receipts (default 200 ms).
	PollInterval time.Duration
	// ReadyWait is how long a query keeps asking while every assigned
	// worker answers "not ready" — a freshly deployed or newly assigned
	// contract whose key, code or state replay has not landed yet
	// (default 15 s; negative: do not wait).
	ReadyWait time.Duration
	// QueryLifetime is the expiry of sealed queries (default 60 s, at most
	// envelope.MaxQueryLifetime).
	QueryLifetime time.Duration

	// Sessions, when set, sends queries under per-(signer, worker,
	// contract) query sessions: one sealed, signed opening query, then
	// symmetric requests only (about 4x cheaper for the worker). Nil
	// seals and signs every query.
	Sessions *QuerySessions

	mu        sync.Mutex
	workerKey map[string]hpke.PublicKey // identity hex → registered HPKE key
	lastNonce uint64
	// pinned is WorkerURL's worker as its Info last said, so that a
	// query (or each poll of a receipt) costs no Info round trip; it is
	// forgotten when that worker fails to answer.
	pinned candidate
}

// NewContracts returns a contract client for node, reaching the workers
// that n lists (n may be nil: then only WorkerURL can be queried).
func NewContracts(node *Client, n *Network) *Contracts {
	cs := &Contracts{Node: node, WorkerURLs: map[string]string{}}
	if n != nil {
		for _, w := range n.Workers {
			if w.Identity != "" && w.API != "" {
				cs.WorkerURLs[normHex(w.Identity)] = w.API
			}
		}
	}
	return cs
}

func normHex(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X"))
}

func (cs *Contracts) poll() time.Duration {
	if cs.PollInterval > 0 {
		return cs.PollInterval
	}
	return 200 * time.Millisecond
}

func (cs *Contracts) httpClient() *http.Client {
	if cs.HTTPClient != nil {
		return cs.HTTPClient
	}
	return http.DefaultClient
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// ---------------------------------------------------------------------------
// Building.

// WasmBuildFlags are the go build arguments of a contract: a WASI reactor
// (-buildmode=c-shared), reproducible paths (-trimpath) and no symbol
// tables (-s -w: a third smaller; contracts are paid for by the byte).
var WasmBuildFlags = []string{"-buildmode=c-shared", "-trimpath", "-ldflags=-s -w"}

// BuildContract compiles the Go contract package in dir to wasm with the
// Go toolchain on PATH (GOOS=wasip1 GOARCH=wasm) and returns the module.
// The build runs in dir, so dir's own go.mod (if any) applies.
func BuildContract(ctx context.Context, dir string) ([]byte, error) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		return nil, errors.New("building a contract needs the Go toolchain (go 1.24 or later) on PATH; install it from https://go.dev/dl or pass a prebuilt .wasm file")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(abs); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("contract package %s: not a directory", dir)
	}
	tmp, err := os.MkdirTemp("", "veil-contract-*")
	if err != nil {
		return nil, fmt.Errorf("build contract: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "contract.wasm")
	args := append([]string{"build"}, WasmBuildFlags...)
	args = append(args, "-o", out, ".")
	cmd := exec.CommandContext(ctx, gobin, args...)
	cmd.Dir = abs
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go build of contract %s failed: %w\n%s", dir, err, strings.TrimSpace(stderr.String()))
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("read built contract: %w", err)
	}
	return b, nil
}

// LoadContractCode reads a contract: a .wasm file (raw or gzip), or a Go
// package directory, which it builds.
func LoadContractCode(ctx context.Context, path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("contract %s: %w", path, err)
	}
	if st.IsDir() {
		return BuildContract(ctx, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("contract %s: %w", path, err)
	}
	if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
		r, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("contract %s: %w", path, err)
		}
		// Bounded like the chain's own decompression (16 MiB modules).
		if b, err = io.ReadAll(io.LimitReader(r, contracts.DefaultMaxCodeBytes+1)); err != nil {
			return nil, fmt.Errorf("contract %s: %w", path, err)
		}
		if len(b) > contracts.DefaultMaxCodeBytes {
			return nil, fmt.Errorf("contract %s: decompressed module larger than %d MiB", path, contracts.DefaultMaxCodeBytes>>20)
		}
	}
	if !bytes.HasPrefix(b, []byte("\x00asm")) {
		return nil, fmt.Errorf("contract %s is not a WebAssembly module (no \\0asm header)", path)
	}
	return b, nil
}

// gzipCode compresses a module for upload: Go contracts shrink to about
// 28 %, and the upload fee is per byte.
func gzipCode(wasm []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(wasm); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ---------------------------------------------------------------------------
// Chain reads.

// CodeExists reports whether the chain stores code with this hash. It
// reads the code's record, as the chain does, not the module itself
// (which can be megabytes).
func (cs *Contracts) CodeExists(ctx context.Context, hash [32]byte) (bool, error) {
	r, err := cs.Node.Node.QueryState(ctx, connect.NewRequest(&nodev1.QueryStateRequest{Key: contracts.CodeRecordKey(hash)}))
	if err != nil {
		if connect.CodeOf(err) == connect.CodeNotFound {
			return false, nil
		}
		return false, fmt.Errorf("look up code %x: %w", hash, err)
	}
	return len(r.Msg.GetValue()) > 0, nil
}

// GetContract reads a contract's on-chain record.
func (cs *Contracts) GetContract(ctx context.Context, id ContractID) (*ContractInfo, error) {
	var ci ContractInfo
	if _, err := cs.Node.QueryModule(ctx, ContractsModule, "contract", map[string]string{"id": id.Hex()}, &ci); err != nil {
		if connect.CodeOf(err) == connect.CodeNotFound {
			return nil, fmt.Errorf("contract %s does not exist on this chain: %w", id.Hex(), err)
		}
		return nil, err
	}
	return &ci, nil
}

// List returns every contract on chain (following the query's pages).
func (cs *Contracts) List(ctx context.Context) ([]ContractInfo, error) {
	var all []ContractInfo
	after := ""
	for {
		var page struct {
			Contracts []ContractInfo `json:"contracts"`
			Next      string         `json:"next"`
		}
		args := map[string]any{"limit": contracts.MaxQueryLimit}
		if after != "" {
			args["after"] = after
		}
		if _, err := cs.Node.QueryModule(ctx, ContractsModule, "contracts", args, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Contracts...)
		if page.Next == "" || page.Next == after {
			return all, nil
		}
		after = page.Next
	}
}

// WaitKeys waits until the contract's keys are published (a gatekeeper
// answers the instantiation within a few blocks) and returns the record.
func (cs *Contracts) WaitKeys(ctx context.Context, id ContractID) (*ContractInfo, error) {
	var last error
	for {
		ci, err := cs.GetContract(ctx, id)
		if err == nil && ci.KeysPublished {
			return ci, nil
		}
		if err != nil {
			last = err
		}
		if err := sleepCtx(ctx, cs.poll()); err != nil {
			if last != nil {
				return nil, fmt.Errorf("contract %s: keys not published: %w (last error: %v)", id.Hex(), err, last)
			}
			return nil, fmt.Errorf("contract %s: keys not published yet (is a gatekeeper running and holding the master key? see 'veil query gatekeepers'): %w", id.Hex(), err)
		}
	}
}

// CommandKey is the contract's published HPKE public key, the key
// commands are sealed to (envelope.SealCommand).
func CommandKey(ci *ContractInfo) (hpke.PublicKey, error) {
	if len(ci.HPKEPublicKey) == 0 {
		return nil, fmt.Errorf("contract %s has no published keys yet (a gatekeeper publishes them a few blocks after instantiation)", ci.ID)
	}
	pk, err := hpke.MLKEM768X25519().NewPublicKey(ci.HPKEPublicKey)
	if err != nil {
		return nil, fmt.Errorf("contract %s: invalid HPKE public key: %w", ci.ID, err)
	}
	return pk, nil
}

// ---------------------------------------------------------------------------
// Deploying.

// DeployRequest describes a new contract instance.
type DeployRequest struct {
	// Code is the raw wasm module (LoadContractCode, BuildContract).
	Code []byte
	// Salt distinguishes instances of the same code by the same deployer.
	Salt []byte
	// InitArgs are the (public) arguments of the contract's init method.
	InitArgs []byte
	// Replicas is the number of workers to assign (0: the chain's default).
	Replicas uint32
	Label    string
	// NoWaitKeys returns once the instantiation commits, without waiting
	// for the contract's keys.
	NoWaitKeys bool
	// Nonce overrides the signer's account nonce (pipelined deployments).
	Nonce *uint64
}

// Deployment is a deployed contract.
type Deployment struct {
	ID       ContractID
	CodeHash [32]byte
	// Address is the contract's on-chain account (SS58).
	Address string
	// Uploaded is set when this deployment stored the code.
	Uploaded bool
	TxHash   []byte
	Height   int64
	Info     *ContractInfo
}

// DeployMsgs returns the messages that deploy req: MsgUploadCode (gzip)
// unless the code is on chain already, then MsgInstantiate; both go in
// one transaction, so a deployment is atomic and costs one block.
func (cs *Contracts) DeployMsgs(ctx context.Context, deployer types.AccountID, req DeployRequest) ([]proto.Message, ContractID, [32]byte, bool, error) {
	if !bytes.HasPrefix(req.Code, []byte("\x00asm")) {
		return nil, ContractID{}, [32]byte{}, false, errors.New("deploy: code is not a WebAssembly module")
	}
	hash := CodeHash(req.Code)
	exists, err := cs.CodeExists(ctx, hash)
	if err != nil {
		return nil, ContractID{}, hash, false, err
	}
	var msgs []proto.Message
	if !exists {
		gz, err := gzipCode(req.Code)
		if err != nil {
			return nil, ContractID{}, hash, false, fmt.Errorf("compress code: %w", err)
		}
		msgs = append(msgs, &contractsv1.MsgUploadCode{Code: gz})
	}
	msgs = append(msgs, &contractsv1.MsgInstantiate{CodeHash: hash[:], Salt: req.Salt, InitArgs: req.InitArgs, Replicas: req.Replicas, Label: req.Label})
	return msgs, ContractIDFor(deployer, hash, req.Salt), hash, !exists, nil
}

// Deploy uploads the code (unless stored already) and instantiates it in
// one transaction, then waits (bounded by ctx) until a gatekeeper has
// published the contract's keys, so the contract accepts commands when it
// returns.
func (cs *Contracts) Deploy(ctx context.Context, signer keys.Signer, req DeployRequest) (*Deployment, error) {
	deployer := types.AccountID(signer.Public().Key)
	msgs, id, hash, upload, err := cs.DeployMsgs(ctx, deployer, req)
	if err != nil {
		return nil, err
	}
	res, err := cs.Node.Send(ctx, signer, msgs, TxOptions{Wait: true, Nonce: req.Nonce})
	if err != nil {
		return nil, fmt.Errorf("deploy transaction: %w", err)
	}
	d := &Deployment{ID: id, CodeHash: hash, Uploaded: upload, TxHash: res.GetHash(), Height: res.GetHeight()}
	return d, cs.finishDeploy(ctx, d, req.NoWaitKeys)
}

// finishDeploy reads the instance's record and waits for its keys.
func (cs *Contracts) finishDeploy(ctx context.Context, d *Deployment, noWait bool) error {
	var ci *ContractInfo
	var err error
	if noWait {
		ci, err = cs.GetContract(ctx, d.ID)
	} else {
		ci, err = cs.WaitKeys(ctx, d.ID)
	}
	if err != nil {
		return err
	}
	d.Info, d.Address = ci, ci.Account
	return nil
}

// DeployMany deploys several contracts from one signer with pipelined
// nonces: every transaction is submitted before the first is waited for,
// so they commit in one or two blocks (one transaction per contract,
// since a Go contract's compressed code is close to a megabyte). Then it
// waits for every contract's keys.
func (cs *Contracts) DeployMany(ctx context.Context, signer keys.Signer, reqs []DeployRequest) ([]*Deployment, error) {
	deployer := types.AccountID(signer.Public().Key)
	acct, err := cs.Node.Account(ctx, deployer.Hex())
	if err != nil {
		return nil, err
	}
	nonce := acct.GetNonce()
	out := make([]*Deployment, len(reqs))
	uploading := map[[32]byte]bool{}
	for i, req := range reqs {
		msgs, id, hash, upload, err := cs.DeployMsgs(ctx, deployer, req)
		if err != nil {
			return nil, fmt.Errorf("deploy %d (%s): %w", i, req.Label, err)
		}
		if upload && uploading[hash] {
			msgs = msgs[1:] // the same code in an earlier transaction of this batch
			upload = false
		}
		uploading[hash] = uploading[hash] || upload
		n := nonce + uint64(i)
		raw, err := cs.Node.BuildTx(ctx, signer, msgs, TxOptions{Nonce: &n})
		if err != nil {
			return nil, fmt.Errorf("deploy %d (%s): %w", i, req.Label, err)
		}
		res, err := cs.Node.Submit(ctx, raw, false)
		if err != nil {
			return nil, fmt.Errorf("deploy %d (%s): %w", i, req.Label, err)
		}
		out[i] = &Deployment{ID: id, CodeHash: hash, Uploaded: upload, TxHash: res.GetHash()}
	}
	for i, d := range out {
		res, err := cs.WaitTx(ctx, d.TxHash)
		if err != nil {
			return nil, fmt.Errorf("deploy %d (%s): %w", i, reqs[i].Label, err)
		}
		d.Height = res.GetHeight()
	}
	for i, d := range out {
		if err := cs.finishDeploy(ctx, d, reqs[i].NoWaitKeys); err != nil {
			return nil, fmt.Errorf("deploy %d (%s): %w", i, reqs[i].Label, err)
		}
	}
	return out, nil
}

// WaitTx polls until the transaction with hash is committed; a failed
// execution is returned as *TxError.
func (cs *Contracts) WaitTx(ctx context.Context, hash []byte) (*nodev1.TxResult, error) {
	for {
		r, err := cs.Node.Tx(ctx, hash)
		if err == nil && r.GetStatus() == nodev1.TxStatus_TX_STATUS_COMMITTED {
			if r.GetResult().GetCode() != 0 {
				return r.GetResult(), &TxError{Result: r.GetResult()}
			}
			return r.GetResult(), nil
		}
		if err := sleepCtx(ctx, cs.poll()); err != nil {
			return nil, fmt.Errorf("transaction %X not committed: %w", hash, err)
		}
	}
}

// ---------------------------------------------------------------------------
// Commands.

// NextCallNonce returns a strictly increasing, time-based command nonce:
// the executor accepts a caller's command only above the caller's last
// accepted nonce, and a clock-derived one keeps that true across
// processes without any state (bumped when the clock has not moved on,
// so calls through one Contracts never repeat a nonce).
func (cs *Contracts) NextCallNonce() uint64 {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	n := uint64(time.Now().UnixNano())
	if n <= cs.lastNonce {
		n = cs.lastNonce + 1
	}
	cs.lastNonce = n
	return n
}

// CallOptions tune Call.
type CallOptions struct {
	// Wait for the command's receipt (from an assigned worker); without
	// it Call returns once the transaction commits.
	Wait bool
	Tx   TxOptions
}

// CallResult is a submitted command.
type CallResult struct {
	TxHash   []byte
	Height   int64
	Sequence uint64
	// Fee is what the transaction cost the signer (planck, decimal).
	Fee string
	// Receipt is set with CallOptions.Wait.
	Receipt *Receipt
}

// Call seals a command to the contract's key, submits it (MsgPushCommand,
// waiting for the block), reads its log sequence from the
// "contract_command" event and, with opts.Wait, polls an assigned worker
// for its receipt until the workers have executed it. A reverted, failed
// or rejected command is returned with its receipt and a *ContractError.
func (cs *Contracts) Call(ctx context.Context, signer keys.Signer, id ContractID, method string, args []byte, opts CallOptions) (*CallResult, error) {
	ci, err := cs.GetContract(ctx, id)
	if err != nil {
		return nil, err
	}
	pub, err := CommandKey(ci)
	if err != nil {
		return nil, err
	}
	env, err := envelope.SealCommand(pub, envelope.Call{ContractID: id, Nonce: cs.NextCallNonce(), Method: method, Args: args}, signer)
	if err != nil {
		return nil, fmt.Errorf("seal command: %w", err)
	}
	txo := opts.Tx
	txo.Wait = true
	res, err := cs.Node.Send(ctx, signer, []proto.Message{&contractsv1.MsgPushCommand{ContractId: id[:], Envelope: env}}, txo)
	if err != nil {
		return nil, fmt.Errorf("push command: %w", err)
	}
	seq, err := eventSequence(res, EventContractCommand, id)
	if err != nil {
		return nil, err
	}
	cr := &CallResult{TxHash: res.GetHash(), Height: res.GetHeight(), Sequence: seq, Fee: res.GetFee()}
	if !opts.Wait {
		return cr, nil
	}
	rc, err := cs.waitReceipt(ctx, signer, ci, id, seq)
	if err != nil {
		return cr, err
	}
	cr.Receipt = rc
	return cr, rc.Err()
}

// eventSequence reads the log sequence from the first event of type typ
// (for contract id, when the event names one) in a committed result.
func eventSequence(res *nodev1.TxResult, typ string, id ContractID) (uint64, error) {
	for _, e := range res.GetEvents() {
		if e.GetType() != typ {
			continue
		}
		var seq string
		match := true
		for _, a := range e.GetAttributes() {
			switch a.GetKey() {
			case AttrSequence:
				seq = a.GetValue()
			case AttrContract:
				match = normHex(a.GetValue()) == id.Hex()
			}
		}
		if !match || seq == "" {
			continue
		}
		n, err := strconv.ParseUint(seq, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s event: sequence %q: %w", typ, seq, err)
		}
		return n, nil
	}
	return 0, fmt.Errorf("transaction %X committed without a %s event for contract %s", res.GetHash(), typ, id.Hex())
}

// Deposit moves amount from the signer's account to the contract's and
// has the chain call the contract's deposit method (origin chain) with
// the signer as caller. It returns the transaction and the call's log
// sequence, whose receipt the signer can read.
func (cs *Contracts) Deposit(ctx context.Context, signer keys.Signer, id ContractID, amount types.Amount, opts TxOptions) (*nodev1.TxResult, uint64, error) {
	opts.Wait = true
	res, err := cs.Node.Send(ctx, signer, []proto.Message{&contractsv1.MsgDeposit{ContractId: id[:], Amount: amount.String()}}, opts)
	if err != nil {
		return res, 0, fmt.Errorf("deposit: %w", err)
	}
	seq, err := eventSequence(res, EventContractDeposit, id)
	return res, seq, err
}

// Reassign asks the chain to replace the contract's assigned workers
// that are offline (deployer or sudo only).
func (cs *Contracts) Reassign(ctx context.Context, signer keys.Signer, id ContractID, opts TxOptions) (*nodev1.TxResult, error) {
	return cs.Node.Send(ctx, signer, []proto.Message{&contractsv1.MsgReassign{ContractId: id[:]}}, opts)
}

// ---------------------------------------------------------------------------
// Queries and receipts.

// Query runs a read-only method on an assigned worker, end-to-end
// encrypted, as signer (the contract sees the signer as caller). The
// result is the method's JSON (null when it returns nothing). A refusal
// by the contract is a *ContractError (e.g. code not_authorized).
func (cs *Contracts) Query(ctx context.Context, signer keys.Signer, id ContractID, method string, args []byte) (json.RawMessage, error) {
	ci, err := cs.GetContract(ctx, id)
	if err != nil {
		return nil, err
	}
	return cs.query(ctx, signer, ci, id, method, args)
}

// QueryContract is Query with a contract record the caller holds already
// (from GetContract, WaitKeys or a Deployment), so that a client sending
// many queries does not read the record from the chain for each one. The
// record's workers are those queried: read it again after a reassignment.
func (cs *Contracts) QueryContract(ctx context.Context, signer keys.Signer, ci *ContractInfo, method string, args []byte) (json.RawMessage, error) {
	if ci == nil {
		return nil, errors.New("query: no contract record")
	}
	id, err := ParseContractID(ci.ID)
	if err != nil {
		return nil, fmt.Errorf("contract record: %w", err)
	}
	return cs.query(ctx, signer, ci, id, method, args)
}

// Receipt fetches the receipt of the command at sequence (only its caller
// may read it). A command not executed yet is a *ContractError with code
// "pending".
func (cs *Contracts) Receipt(ctx context.Context, signer keys.Signer, id ContractID, sequence uint64) (*Receipt, error) {
	ci, err := cs.GetContract(ctx, id)
	if err != nil {
		return nil, err
	}
	return cs.receipt(ctx, signer, ci, id, sequence)
}

func (cs *Contracts) receipt(ctx context.Context, signer keys.Signer, ci *ContractInfo, id ContractID, sequence uint64) (*Receipt, error) {
	raw, err := cs.query(ctx, signer, ci, id, ReceiptMethod, receiptArgs(sequence))
	if err != nil {
		return nil, err
	}
	return decodeReceipt(raw)
}

func receiptArgs(sequence uint64) []byte {
	return fmt.Appendf(nil, `{"sequence":%d}`, sequence)
}

func decodeReceipt(raw json.RawMessage) (*Receipt, error) {
	var r Receipt
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode receipt: %w", err)
	}
	return &r, nil
}

// WaitReceipt polls the receipt of the command at sequence until an
// assigned worker has executed it (bounded by ctx).
func (cs *Contracts) WaitReceipt(ctx context.Context, signer keys.Signer, id ContractID, sequence uint64) (*Receipt, error) {
	ci, err := cs.GetContract(ctx, id)
	if err != nil {
		return nil, err
	}
	return cs.waitReceipt(ctx, signer, ci, id, sequence)
}

func (cs *Contracts) waitReceipt(ctx context.Context, signer keys.Signer, ci *ContractInfo, id ContractID, sequence uint64) (*Receipt, error) {
	args := receiptArgs(sequence)
	for {
		// queryOnce, not query: this loop already waits out workers that
		// are not ready, for as long as ctx allows.
		raw, _, err := cs.queryOnce(ctx, signer, ci, id, ReceiptMethod, args)
		if err == nil {
			return decodeReceipt(raw)
		}
		if !IsContractCode(err, CodePending) && !IsContractCode(err, CodeNotReady) {
			return nil, err
		}
		if serr := sleepCtx(ctx, cs.poll()); serr != nil {
			return nil, fmt.Errorf("receipt of command %d of contract %s: %w (last answer: %v)", sequence, id.Hex(), serr, err)
		}
	}
}

// candidate is a worker a query may go to.
type candidate struct {
	identity string // hex, no 0x
	url      string
}

func (c candidate) String() string {
	return fmt.Sprintf("%s (%s…)", c.url, c.identity[:min(16, len(c.identity))])
}

// queryLifetime is the expiry of a sealed query: d, or 60 s when d is
// not set or beyond envelope.MaxQueryLifetime.
func queryLifetime(d time.Duration) time.Duration {
	if d <= 0 || d > envelope.MaxQueryLifetime {
		return time.Minute
	}
	return d
}

// candidates lists the assigned workers with a known URL, in assignment
// order; with WorkerURL, only that worker.
func (cs *Contracts) candidates(ctx context.Context, ci *ContractInfo) ([]candidate, error) {
	assigned := map[string]bool{}
	for _, w := range ci.Workers {
		assigned[normHex(w)] = true
	}
	if cs.WorkerURL != "" {
		c, err := cs.pinnedWorker(ctx)
		if err != nil {
			return nil, err
		}
		if !assigned[c.identity] {
			return nil, fmt.Errorf("worker %s (identity %s) is not assigned to contract %s (assigned: %s)", c.url, c.identity, ci.ID, strings.Join(ci.Workers, ", "))
		}
		return []candidate{c}, nil
	}
	var out []candidate
	for _, w := range ci.Workers {
		idh := normHex(w)
		if u, ok := cs.WorkerURLs[idh]; ok {
			out = append(out, candidate{identity: idh, url: u})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no URL known for any worker assigned to contract %s (assigned: %s); pass a worker URL (--worker)", ci.ID, strings.Join(ci.Workers, ", "))
	}
	return out, nil
}

// pinnedWorker is WorkerURL's worker, its identity read from its Info
// once (and again after it failed to answer, see query).
func (cs *Contracts) pinnedWorker(ctx context.Context) (candidate, error) {
	url := cs.WorkerURL
	cs.mu.Lock()
	c := cs.pinned
	cs.mu.Unlock()
	if c.url == url && c.identity != "" {
		return c, nil
	}
	info, err := workerv1connect.NewWorkerServiceClient(cs.httpClient(), strings.TrimRight(url, "/")).
		Info(ctx, connect.NewRequest(&workerv1.InfoRequest{}))
	if err != nil {
		return candidate{}, fmt.Errorf("worker %s: %w", url, err)
	}
	c = candidate{identity: hex.EncodeToString(info.Msg.GetWorkerInfo().GetIdentity()), url: url}
	cs.mu.Lock()
	cs.pinned = c
	cs.mu.Unlock()
	return c, nil
}

// workerHPKEKey returns the worker's HPKE key from its registry record:
// the chain's word, not the worker's, so a query is never sealed to a key
// an impostor at that URL made up.
func (cs *Contracts) workerHPKEKey(ctx context.Context, identity string) (hpke.PublicKey, error) {
	cs.mu.Lock()
	pk, ok := cs.workerKey[identity]
	cs.mu.Unlock()
	if ok {
		return pk, nil
	}
	var v registry.WorkerView
	if _, err := cs.Node.QueryModule(ctx, registry.Name, "worker", registry.WorkerQuery{Identity: identity}, &v); err != nil {
		return nil, fmt.Errorf("registry record of worker %s: %w", identity, err)
	}
	b, err := hex.DecodeString(normHex(v.HPKEPublicKey))
	if err != nil {
		return nil, fmt.Errorf("worker %s: registry HPKE key is not hex", identity)
	}
	// Parsed once: an ML-KEM key's parse expands its matrix, work a
	// query need not repeat.
	if pk, err = hpke.MLKEM768X25519().NewPublicKey(b); err != nil {
		return nil, fmt.Errorf("worker %s: invalid registered HPKE key: %w", identity, err)
	}
	cs.mu.Lock()
	if cs.workerKey == nil {
		cs.workerKey = map[string]hpke.PublicKey{}
	}
	cs.workerKey[identity] = pk
	cs.mu.Unlock()
	return pk, nil
}

// query tries the candidates in order: a worker that cannot be reached or
// is not ready (no key or code yet) hands over to the next replica; a
// contract-level answer is final.
func (cs *Contracts) query(ctx context.Context, signer keys.Signer, ci *ContractInfo, id ContractID, method string, args []byte) (json.RawMessage, error) {
	wait := cs.ReadyWait
	if wait == 0 {
		wait = 15 * time.Second
	}
	deadline := time.Now().Add(wait)
	for {
		raw, notReady, err := cs.queryOnce(ctx, signer, ci, id, method, args)
		if !notReady || time.Now().After(deadline) {
			return raw, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(cs.poll()):
		}
	}
}

// queryOnce asks each candidate worker in turn; notReady reports that
// every one of them answered "not ready".
func (cs *Contracts) queryOnce(ctx context.Context, signer keys.Signer, ci *ContractInfo, id ContractID, method string, args []byte) (_ json.RawMessage, notReady bool, _ error) {
	cands, err := cs.candidates(ctx, ci)
	if err != nil {
		return nil, false, err
	}
	var errs []error
	allNotReady := len(cands) > 0
	for _, c := range cands {
		raw, err := cs.queryWorker(ctx, signer, c, id, method, args)
		if err == nil {
			return raw, false, nil
		}
		var ce *ContractError
		if errors.As(err, &ce) && ce.Code != CodeNotReady {
			return nil, false, err
		}
		if ce == nil {
			allNotReady = false
			cs.mu.Lock()
			if cs.pinned == c {
				cs.pinned = candidate{} // perhaps another worker at that URL now
			}
			cs.mu.Unlock()
		}
		if ctx.Err() != nil {
			return nil, false, err
		}
		errs = append(errs, err)
	}
	if len(errs) == 1 {
		return nil, allNotReady, errs[0]
	}
	return nil, allNotReady, fmt.Errorf("no assigned worker answered: %w", errors.Join(errs...))
}

func (cs *Contracts) queryWorker(ctx context.Context, signer keys.Signer, c candidate, id ContractID, method string, args []byte) (json.RawMessage, error) {
	pub, err := cs.workerHPKEKey(ctx, c.identity)
	if err != nil {
		return nil, err
	}
	svc := workerv1connect.NewContractServiceClient(cs.httpClient(), strings.TrimRight(c.url, "/"))
	if cs.Sessions != nil {
		raw, err := cs.Sessions.Query(ctx, c.identity, QuerySessionConfig{Worker: svc, WorkerKey: pub, Signer: signer, Contract: id, QueryLifetime: cs.QueryLifetime}, method, args)
		var ce *ContractError
		if err != nil && !errors.As(err, &ce) {
			return nil, fmt.Errorf("worker %s: %w", c, err)
		}
		return raw, err
	}
	env, qctx, err := envelope.SealQuery(pub, envelope.QueryRequest{ContractID: id, Method: method, Args: args, Expiry: time.Now().Add(queryLifetime(cs.QueryLifetime))}, signer)
	if err != nil {
		return nil, fmt.Errorf("seal query: %w", err)
	}
	resp, err := svc.Query(ctx, connect.NewRequest(&workerv1.ContractQueryRequest{Envelope: env}))
	if err != nil {
		return nil, fmt.Errorf("worker %s: %w", c, err)
	}
	pt, err := qctx.OpenResponse(resp.Msg.GetResponse())
	if err != nil {
		return nil, fmt.Errorf("worker %s: open response: %w", c.url, err)
	}
	// {"ok":true,"result":…} → the result, or a *ContractError.
	raw, err := answer.Decode(pt)
	var ce *ContractError
	if err != nil && !errors.As(err, &ce) {
		return nil, fmt.Errorf("worker %s: %w", c.url, err)
	}
	return raw, err
}

// NetworkContract is an entry of network.json's "contracts": a contract
// 'veil dev' deployed, by name.
type NetworkContract struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	CodeHash string `json:"code_hash"`
}

// NamedContracts decodes network.json's "contracts" (empty if none).
func (n *Network) NamedContracts() (map[string]NetworkContract, error) {
	out := map[string]NetworkContract{}
	if len(n.Contracts) == 0 || string(n.Contracts) == "null" {
		return out, nil
	}
	if err := json.Unmarshal(n.Contracts, &out); err != nil {
		return nil, fmt.Errorf("network file: \"contracts\": %w", err)
	}
	return out, nil
}

// SetNamedContracts replaces network.json's "contracts".
func (n *Network) SetNamedContracts(m map[string]NetworkContract) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	n.Contracts = b
	return nil
}

// ResolveContract accepts a contract id (64 hex digits, with or without
// 0x) or, when n is not nil, the name of a contract in its "contracts".
func ResolveContract(n *Network, s string) (ContractID, error) {
	if id, err := ParseContractID(s); err == nil {
		return id, nil
	}
	if n != nil {
		named, err := n.NamedContracts()
		if err != nil {
			return ContractID{}, err
		}
		if c, ok := named[s]; ok {
			return ParseContractID(c.ID)
		}
		if len(named) > 0 {
			names := make([]string, 0, len(named))
			for k := range named {
				names = append(names, k)
			}
			slices.Sort(names)
			return ContractID{}, fmt.Errorf("%q is neither a contract id (64 hex digits) nor a contract of the network file (%s)", s, strings.Join(names, ", "))
		}
	}
	return ContractID{}, fmt.Errorf("%q is not a contract id (64 hex digits)", s)
}

// Resolve is ResolveContract, then, for a reference that is neither an id
// nor a name in n, the label of a contract on chain (as set by 'veil
// contract deploy --label'): a freshly deployed contract can be called by
// its label without copying its id around. A label that several contracts
// share is refused with their ids, never guessed.
func (cs *Contracts) Resolve(ctx context.Context, n *Network, s string) (ContractID, error) {
	id, err := ResolveContract(n, s)
	if err == nil {
		return id, nil
	}
	label := strings.TrimSpace(s)
	if label == "" {
		return ContractID{}, err
	}
	all, lerr := cs.List(ctx)
	if lerr != nil {
		return ContractID{}, fmt.Errorf("%w (and listing the chain's contracts to match a label failed: %v)", err, lerr)
	}
	var ids []string
	for _, c := range all {
		if c.Label == label {
			ids = append(ids, c.ID)
		}
	}
	switch len(ids) {
	case 0:
		return ContractID{}, fmt.Errorf("%w, nor the label of a contract on chain ('veil contract list' shows them)", err)
	case 1:
		return ParseContractID(ids[0])
	default:
		return ContractID{}, fmt.Errorf("label %q names %d contracts on chain (%s): use an id", label, len(ids), strings.Join(ids, ", "))
	}
}
