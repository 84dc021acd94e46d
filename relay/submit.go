package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	nodev1 "github.com/veil-network/veil/gen/veil/node/v1"
)

// maxNonceAttempts bounds how often one transaction is re-signed after
// the chain refused its nonce (each time with the nonce read afresh).
const maxNonceAttempts = 3

// operatorTxs submits the relayer's transactions from the operator
// account: registrations (registration loop), compute bind/start (the
// same loop) and egress (egress loop), which run concurrently.
//
// The chain accepts an account's transactions only at exactly its next
// nonce. Left to client.Send, two loops submitting at once would both
// read the same pending nonce and one transaction would be refused
// (stale_nonce), costing that loop a backoff. So submissions take turns:
// the turn is held from choosing the nonce until the node has answered
// (Submit with wait: until the transaction is committed), which costs
// the other loop at most a block, rarely (registrations come once a
// day, compute bind/start once). The next nonce is tracked here after
// each accepted transaction, so the node's pending-nonce view (briefly
// behind while its mempool is rechecked after a commit) is consulted
// only at the start and after a failure. A stale_nonce or future_nonce
// refusal — the account used by someone else meanwhile, or a transaction
// of ours dropped from the mempool — means the transaction did nothing:
// the nonce is read from the node again and the transaction re-signed.
type operatorTxs struct {
	node    *client.Client
	signer  keys.Signer
	log     *slog.Logger
	resyncs prometheus.Counter

	// turn is a one-slot semaphore (a channel, so waiting for it ends
	// with the caller's context).
	turn chan struct{}
	// next is the account's next nonce when known; guarded by turn.
	next  uint64
	known bool
}

func newOperatorTxs(node *client.Client, signer keys.Signer, log *slog.Logger, resyncs prometheus.Counter) *operatorTxs {
	return &operatorTxs{node: node, signer: signer, log: log, resyncs: resyncs, turn: make(chan struct{}, 1)}
}

// send builds, signs and submits msgs from the operator account and
// waits for the block, like client.Send with TxOptions{Wait: true}, and
// returns the same result and errors (*client.TxError for a refusal),
// but never races another submission of this relayer for a nonce.
func (o *operatorTxs) send(ctx context.Context, msgs []proto.Message) (*nodev1.TxResult, error) {
	select {
	case o.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the operator account's previous transaction: %w", ctx.Err())
	}
	defer func() { <-o.turn }()
	for attempt := 1; ; attempt++ {
		if !o.known {
			acct, err := o.node.Account(ctx, o.signer.Public().Hex())
			if err != nil {
				return nil, err
			}
			o.next, o.known = acct.GetNonce(), true
		}
		nonce := o.next
		raw, err := o.node.BuildTx(ctx, o.signer, msgs, client.TxOptions{Nonce: &nonce})
		if err != nil {
			return nil, err // nothing was sent: the nonce is still next
		}
		res, err := o.node.Submit(ctx, raw, true)
		if res != nil && res.GetCode() == 0 {
			// Accepted (err is nil), or accepted into the mempool but
			// not committed within the node's wait (err says so): either
			// way the nonce is taken.
			o.next = nonce + 1
			return res, err
		}
		// Refused, or no answer (it may or may not have reached the
		// mempool): ask the node next time.
		o.known = false
		var txErr *client.TxError
		if !errors.As(err, &txErr) || (txErr.Code() != types.CodeStaleNonce && txErr.Code() != types.CodeFutureNonce) || attempt >= maxNonceAttempts {
			return res, err
		}
		o.resyncs.Inc()
		o.log.Info("the operator account's nonce moved (used elsewhere, or a transaction dropped from the mempool); re-signing with the chain's",
			"nonce", nonce, "refusal", res.GetLog(), "attempt", attempt)
	}
}
