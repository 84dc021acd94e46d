package app

import (
	"sync"

	"github.com/veil-network/veil/chain/auth"
	"github.com/veil-network/veil/chain/types"
)

// broadcaster fans committed blocks out to in-process subscribers (the API's
// block stream and tx waiters). A slow subscriber is dropped rather than
// allowed to stall consensus: its channel is closed and it must resubscribe.
type broadcaster struct {
	mu   sync.Mutex
	next int
	subs map[int]chan *BlockResult
	last *BlockResult
	// recent remembers the transactions of the last recentBlocks blocks:
	// CometBFT indexes transactions asynchronously after commit, and a
	// client that just saw its transaction committed must find it at once.
	recent      map[[32]byte]recentTx
	recentOrder [][][32]byte
}

type recentTx struct {
	height int64
	result TxResult
}

const recentBlocks = 256

func newBroadcaster() *broadcaster {
	return &broadcaster{subs: map[int]chan *BlockResult{}, recent: map[[32]byte]recentTx{}}
}

func (b *broadcaster) publish(r *BlockResult) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.last = r
	hashes := make([][32]byte, len(r.Txs))
	for i, t := range r.Txs {
		hashes[i] = t.Hash
		b.recent[t.Hash] = recentTx{height: r.Height, result: t}
	}
	b.recentOrder = append(b.recentOrder, hashes)
	if len(b.recentOrder) > recentBlocks {
		for _, h := range b.recentOrder[0] {
			if rt, ok := b.recent[h]; ok && rt.height <= r.Height-recentBlocks {
				delete(b.recent, h)
			}
		}
		b.recentOrder = b.recentOrder[1:]
	}
	for id, ch := range b.subs {
		select {
		case ch <- r:
		default:
			close(ch)
			delete(b.subs, id)
		}
	}
}

// Subscribe returns a channel of committed blocks (buffered) and a cancel
// function. The channel is closed if the subscriber falls too far behind.
func (a *App) Subscribe(buffer int) (<-chan *BlockResult, func()) {
	b := a.subs
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	ch := make(chan *BlockResult, buffer)
	b.subs[id] = ch
	return ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if c, ok := b.subs[id]; ok {
			close(c)
			delete(b.subs, id)
		}
	}
}

// RecentTx returns a transaction committed in one of the last blocks.
func (a *App) RecentTx(h [32]byte) (height int64, r TxResult, ok bool) {
	a.subs.mu.Lock()
	defer a.subs.mu.Unlock()
	rt, ok := a.subs.recent[h]
	return rt.height, rt.result, ok
}

// LastBlock is the most recently committed block seen by this process.
func (a *App) LastBlock() *BlockResult {
	a.subs.mu.Lock()
	defer a.subs.mu.Unlock()
	return a.subs.last
}

// AccountView is an account's balances and nonces as the API reports them.
type AccountView struct {
	Free, Reserved types.Amount
	// Nonce is the next nonce in committed state; PendingNonce includes
	// transactions this node's mempool has accepted since.
	Nonce, PendingNonce uint64
	Height              int64
}

// Account reads an account from the latest committed state and the mempool view.
func (a *App) Account(id types.AccountID) AccountView {
	s := a.tree.Committed()
	b := a.Bank.Get(s, id)
	v := AccountView{Free: b.Free, Reserved: b.Reserved, Nonce: auth.Nonce(s, id), Height: a.tree.Version()}
	a.checkMu.Lock()
	v.PendingNonce = auth.Nonce(a.checkState, id)
	a.checkMu.Unlock()
	if v.PendingNonce < v.Nonce {
		v.PendingNonce = v.Nonce
	}
	return v
}

// IsPending reports whether this node's mempool holds the transaction.
func (a *App) IsPending(h [32]byte) bool {
	a.checkMu.Lock()
	defer a.checkMu.Unlock()
	_, ok := a.inMempool[h]
	return ok
}
