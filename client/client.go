// Package client is Veil's Go SDK: it talks to a node's Connect API, builds
// and signs transactions (fees and nonces filled in), and waits for results.
// The CLI and the integration tests use it; so can any Go program.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/crypto/keys"
	bankv1 "github.com/veil-network/veil/gen/veil/bank/v1"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
	"github.com/veil-network/veil/gen/veil/node/v1/nodev1connect"
	txv1 "github.com/veil-network/veil/gen/veil/tx/v1"
)

// DefaultExpiryBlocks is how long a transaction built by the SDK stays
// valid: long enough for a congested mempool, short enough that a lost
// transaction is known dead soon.
const DefaultExpiryBlocks = 200

// Client is a connection to one node's API. Safe for concurrent use.
type Client struct {
	URL  string
	Node nodev1connect.NodeServiceClient

	mu     sync.Mutex
	status *nodev1.GetStatusResponse
}

// New connects to a node API base URL such as http://127.0.0.1:26650.
func New(url string) *Client {
	url = strings.TrimRight(url, "/")
	return &Client{URL: url, Node: nodev1connect.NewNodeServiceClient(http.DefaultClient, url)}
}

// Status fetches the node status (always fresh).
func (c *Client) Status(ctx context.Context) (*nodev1.GetStatusResponse, error) {
	r, err := c.Node.GetStatus(ctx, connect.NewRequest(&nodev1.GetStatusRequest{}))
	if err != nil {
		return nil, fmt.Errorf("node status from %s: %w", c.URL, err)
	}
	c.mu.Lock()
	c.status = r.Msg
	c.mu.Unlock()
	return r.Msg, nil
}

// chainInfo returns the cached status, fetching it once.
func (c *Client) chainInfo(ctx context.Context) (*nodev1.GetStatusResponse, error) {
	c.mu.Lock()
	st := c.status
	c.mu.Unlock()
	if st != nil {
		return st, nil
	}
	return c.Status(ctx)
}

// SS58Prefix is the chain's address prefix.
func (c *Client) SS58Prefix(ctx context.Context) (uint16, error) {
	st, err := c.chainInfo(ctx)
	if err != nil {
		return 0, err
	}
	return uint16(st.GetSs58Prefix()), nil
}

// Account fetches balances and the next nonce (including mempool).
func (c *Client) Account(ctx context.Context, address string) (*nodev1.GetAccountResponse, error) {
	r, err := c.Node.GetAccount(ctx, connect.NewRequest(&nodev1.GetAccountRequest{Address: address}))
	if err != nil {
		return nil, fmt.Errorf("account %s: %w", address, err)
	}
	return r.Msg, nil
}

// TxOptions tune how a transaction is built and submitted.
type TxOptions struct {
	// Wait until committed (the returned result then has a height).
	Wait bool
	// Nonce overrides the account's next nonce (for pipelining).
	Nonce *uint64
	// Fee overrides the computed minimum fee.
	Fee *types.Amount
	// ExpiryBlocks overrides DefaultExpiryBlocks.
	ExpiryBlocks uint64
	Memo         string
}

// TxError is a transaction the chain rejected (CheckTx) or executed with
// a failure code.
type TxError struct {
	Result *nodev1.TxResult
}

func (e *TxError) Error() string {
	// The log starts with the code's name ("insufficient_funds: …").
	return fmt.Sprintf("transaction %X rejected: %s (code %d)", e.Result.GetHash(), e.Result.GetLog(), e.Result.GetCode())
}

// Code is the chain's result code.
func (e *TxError) Code() types.Code { return types.Code(e.Result.GetCode()) }

// BuildTx signs msgs from signer with the chain's parameters filled in.
func (c *Client) BuildTx(ctx context.Context, signer keys.Signer, msgs []proto.Message, opts TxOptions) ([]byte, error) {
	pub := signer.Public()
	// The expiry counts from the latest height: the account read reports
	// it along with the nonce; with a given nonce, a fresh status (which
	// also refreshes the cached chain parameters read below).
	var nonce uint64
	var height int64
	if opts.Nonce != nil {
		latest, err := c.Status(ctx)
		if err != nil {
			return nil, err
		}
		nonce, height = *opts.Nonce, latest.GetLatestHeight()
	} else {
		acct, err := c.Account(ctx, pub.Hex())
		if err != nil {
			return nil, err
		}
		nonce, height = acct.GetNonce(), acct.GetHeight()
	}
	st, err := c.chainInfo(ctx)
	if err != nil {
		return nil, err
	}
	expiry := opts.ExpiryBlocks
	if expiry == 0 {
		expiry = DefaultExpiryBlocks
	}
	anys := make([]*anypb.Any, len(msgs))
	for i, m := range msgs {
		if anys[i], err = types.PackMsg(m); err != nil {
			return nil, err
		}
	}
	body := &txv1.TxBody{
		ChainId: st.GetChainId(), Sender: pub.Key[:], Nonce: nonce,
		ExpiryHeight: uint64(height) + expiry, Messages: anys, Memo: opts.Memo,
	}
	if opts.Fee != nil {
		body.Fee = opts.Fee.String()
		return auth.Encode(body, signer)
	}
	return SignWithMinimumFee(body, signer, st)
}

// SignWithMinimumFee sets the body's fee to the chain's required minimum
// (which depends on the signed size, which depends on the fee's digits:
// iterate to the fixed point) and signs it.
func SignWithMinimumFee(body *txv1.TxBody, signer keys.Signer, st *nodev1.GetStatusResponse) ([]byte, error) {
	perByte, err := types.ParseAmount(st.GetFeePerByte())
	if err != nil {
		return nil, fmt.Errorf("node reports fee_per_byte %q: %w", st.GetFeePerByte(), err)
	}
	perMsg, err := types.ParseAmount(st.GetFeePerMessage())
	if err != nil {
		return nil, fmt.Errorf("node reports fee_per_message %q: %w", st.GetFeePerMessage(), err)
	}
	var weight uint64
	for _, m := range body.GetMessages() {
		w, ok := st.GetMessageWeights()[m.GetTypeUrl()]
		if !ok {
			return nil, fmt.Errorf("the node does not know message type %s", m.GetTypeUrl())
		}
		weight += w
	}
	var fee types.Amount // what body.Fee says
	body.Fee = "0"
	for range 4 {
		raw, err := auth.Encode(body, signer)
		if err != nil {
			return nil, err
		}
		need, ok := perByte.Mul64(uint64(len(raw)))
		msgFee, ok2 := perMsg.Mul64(weight)
		if ok && ok2 {
			need, ok = need.Add(msgFee)
		}
		if !ok || !ok2 {
			return nil, errors.New("fee overflows")
		}
		if fee.Cmp(need) >= 0 {
			return raw, nil
		}
		fee = need
		body.Fee = fee.String()
	}
	return nil, errors.New("fee did not converge")
}

// Submit sends a signed transaction. A CheckTx rejection or a failed
// execution is returned as *TxError along with the result.
func (c *Client) Submit(ctx context.Context, raw []byte, wait bool) (*nodev1.TxResult, error) {
	r, err := c.Node.SubmitTx(ctx, connect.NewRequest(&nodev1.SubmitTxRequest{Tx: raw, Wait: wait}))
	if err != nil {
		return nil, fmt.Errorf("submit to %s: %w", c.URL, err)
	}
	res := r.Msg.GetResult()
	if res.GetCode() != 0 {
		return res, &TxError{Result: res}
	}
	if wait && !r.Msg.GetCommitted() {
		return res, fmt.Errorf("transaction %X not committed before the deadline; check later with its hash", res.GetHash())
	}
	return res, nil
}

// Send builds, signs and submits msgs.
func (c *Client) Send(ctx context.Context, signer keys.Signer, msgs []proto.Message, opts TxOptions) (*nodev1.TxResult, error) {
	raw, err := c.BuildTx(ctx, signer, msgs, opts)
	if err != nil {
		return nil, err
	}
	return c.Submit(ctx, raw, opts.Wait)
}

// Transfer sends amount from signer to the account `to`.
func (c *Client) Transfer(ctx context.Context, signer keys.Signer, to types.AccountID, amount types.Amount, opts TxOptions) (*nodev1.TxResult, error) {
	return c.Send(ctx, signer, []proto.Message{&bankv1.MsgTransfer{To: to[:], Amount: amount.String()}}, opts)
}

// Tx looks a transaction up by hash.
func (c *Client) Tx(ctx context.Context, hash []byte) (*nodev1.GetTxResponse, error) {
	r, err := c.Node.GetTx(ctx, connect.NewRequest(&nodev1.GetTxRequest{Hash: hash}))
	if err != nil {
		return nil, fmt.Errorf("tx %X: %w", hash, err)
	}
	return r.Msg, nil
}

// WaitHeight blocks until the chain reaches height h.
func (c *Client) WaitHeight(ctx context.Context, h int64) error {
	for {
		st, err := c.Status(ctx)
		if err == nil && st.GetLatestHeight() >= h {
			return nil
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("waiting for height %d: %w (last error: %v)", h, ctx.Err(), err)
			}
			return fmt.Errorf("waiting for height %d: %w", h, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Block fetches a committed block (0 = latest).
func (c *Client) Block(ctx context.Context, height int64) (*nodev1.GetBlockResponse, error) {
	r, err := c.Node.GetBlock(ctx, connect.NewRequest(&nodev1.GetBlockRequest{Height: height}))
	if err != nil {
		return nil, fmt.Errorf("block %d: %w", height, err)
	}
	return r.Msg, nil
}

// QueryModule runs a module query and decodes its JSON result into out
// (which may be nil, or *json.RawMessage to keep it raw).
func (c *Client) QueryModule(ctx context.Context, module, path string, args any, out any) (int64, error) {
	var raw []byte
	if args != nil {
		var err error
		if raw, err = json.Marshal(args); err != nil {
			return 0, err
		}
	}
	r, err := c.Node.QueryModule(ctx, connect.NewRequest(&nodev1.QueryModuleRequest{Module: module, Path: path, Args: raw}))
	if err != nil {
		return 0, fmt.Errorf("query %s/%s: %w", module, path, err)
	}
	if out != nil {
		if err := json.Unmarshal(r.Msg.GetResult(), out); err != nil {
			return 0, fmt.Errorf("decode %s/%s result: %w", module, path, err)
		}
	}
	return r.Msg.GetHeight(), nil
}
