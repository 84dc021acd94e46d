package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/types"
	"github.com/veil-network/veil/client"
	"github.com/veil-network/veil/crypto/keys"
	"github.com/veil-network/veil/devnet"
	mqv1 "github.com/veil-network/veil/gen/veil/mq/v1"
	txv1 "github.com/veil-network/veil/gen/veil/tx/v1"
)

// SyncOptions configure WorkerSync.
type SyncOptions struct {
	// Rate is the message load in messages per second (default 500).
	Rate int
	// Duration of the load (default 30 s); the run stops by itself.
	Duration time.Duration
	// BlockTime of the dev network (default 1 s).
	BlockTime time.Duration
	// PerTx messages per transaction (default 10).
	PerTx int
	// PayloadBytes per message (default 64).
	PayloadBytes int
	// Dir for the network (default: a temporary directory, removed).
	Dir      string
	Logger   *slog.Logger
	Progress func(string)
}

// SyncReport is what WorkerSync measured. Lag is from the commit of the
// block that enqueued a message to the moment the worker had processed
// every message of that block; in blocks, it is the chain's height at that
// moment minus the block's. A worker cannot do better than 1 block: the
// state after block H is committed by header H+1.
type SyncReport struct {
	Messages        int           `json:"messages"`
	Rate            float64       `json:"messages_per_s"`
	Blocks          int           `json:"blocks_with_messages"`
	MaxPerBlock     int           `json:"max_messages_per_block"`
	BlockTime       time.Duration `json:"block_time_ns"`
	LagBlocksP50    int64         `json:"lag_blocks_p50"`
	LagBlocksP99    int64         `json:"lag_blocks_p99"`
	LagBlocksMax    int64         `json:"lag_blocks_max"`
	LagP50          time.Duration `json:"lag_p50_ns"`
	LagP99          time.Duration `json:"lag_p99_ns"`
	LagMax          time.Duration `json:"lag_max_ns"`
	SubmitErrors    int           `json:"submit_errors"`
	WorkerRefusals  string        `json:"worker_last_refusal,omitempty"`
	WorkerProcessed uint64        `json:"worker_messages_processed"`
}

type blockLoad struct {
	height    int64
	committed time.Time
	last      uint64 // the block's last sequence on the topic
	count     int
}

// WorkerSync runs a one-validator dev network with one worker and its
// relayer on loopback, pushes Rate messages per second to the worker's
// topic for Duration, and measures how long after each block's commit the
// worker has verified and processed its messages. It is bounded: the load
// stops after Duration, and the run after the worker caught up (or 60 s).
func WorkerSync(ctx context.Context, o SyncOptions) (*SyncReport, error) {
	if o.Rate <= 0 {
		o.Rate = 500
	}
	if o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	if o.BlockTime <= 0 {
		o.BlockTime = time.Second
	}
	if o.PerTx <= 0 {
		o.PerTx = 10
	}
	if o.PayloadBytes <= 0 {
		o.PayloadBytes = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	progress := func(format string, args ...any) {
		if o.Progress != nil {
			o.Progress(fmt.Sprintf(format, args...))
		}
	}
	dir := o.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "veil-bench-sync-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	n, err := devnet.Start(ctx, devnet.Options{Home: dir, Reset: true, BlockTime: o.BlockTime, Workers: 1, Logger: o.Logger})
	if err != nil {
		return nil, err
	}
	defer n.Stop()
	c := n.Client()
	w := n.Workers[0]
	topic := mq.WorkerTopic([32]byte(w.Identity()))
	progress("dev network up; waiting for the worker to register and sync")
	if err := waitUntil(ctx, 60*time.Second, func() bool {
		st, err := c.Status(ctx)
		return err == nil && w.Info().GetSyncedHeight() >= st.GetLatestHeight()-1 && n.Relayers[0].Status().Registrations > 0
	}); err != nil {
		return nil, fmt.Errorf("worker did not sync: %w", err)
	}

	// Commit times and per-block last sequences, from the app itself.
	blocks, cancelSub := n.Nodes[0].App.Subscribe(8192)
	defer cancelSub()
	var mu sync.Mutex
	var loads []*blockLoad
	var head atomic.Int64
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for b := range blocks {
			now := time.Now()
			head.Store(b.Height)
			bl := &blockLoad{height: b.Height, committed: now}
			for _, tx := range b.Txs {
				for _, ev := range tx.Events {
					if ev.Type != "mq_message" {
						continue
					}
					var t, seq string
					for _, a := range ev.Attrs {
						switch a.Key {
						case "topic":
							t = a.Value
						case "sequence":
							seq = a.Value
						}
					}
					if t == topic {
						s, _ := strconv.ParseUint(seq, 10, 64)
						bl.last = max(bl.last, s)
						bl.count++
					}
				}
			}
			if bl.count > 0 {
				mu.Lock()
				loads = append(loads, bl)
				mu.Unlock()
			}
		}
	}()

	// The worker's progress: poll its inbox position.
	type done struct {
		lag    time.Duration
		blocks int64
	}
	var results []done
	var lastRefusal string
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	pollDone := make(chan struct{})
	var pending int
	go func() {
		defer close(pollDone)
		next := 0
		for {
			info := w.Info()
			pos := uint64(0)
			for _, tp := range info.GetSync().GetTopics() {
				if tp.GetTopic() == topic {
					pos = tp.GetNextSequence()
				}
			}
			now, h := time.Now(), head.Load()
			mu.Lock()
			for next < len(loads) && loads[next].last < pos {
				l := loads[next]
				results = append(results, done{lag: now.Sub(l.committed), blocks: h - l.height})
				next++
			}
			pending = len(loads) - next
			lastRefusal = info.GetSync().GetLastRefusal()
			mu.Unlock()
			select {
			case <-pollCtx.Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	// The load: every 100 ms, Rate/10 messages in transactions of PerTx
	// from the dev accounts, pre-signed with local nonces.
	st, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	var signers []keys.Signer
	for _, name := range []string{"Bob", "Charlie", "Dave", "Eve", "Ferdie"} {
		s, err := keys.FromURI("//"+name, keys.SchemeSr25519)
		if err != nil {
			return nil, err
		}
		signers = append(signers, s)
	}
	nonces := make([]uint64, len(signers))
	for i, s := range signers {
		a, err := c.Account(ctx, s.Public().Hex())
		if err != nil {
			return nil, err
		}
		nonces[i] = a.GetNonce()
	}
	payload := make([]byte, o.PayloadBytes)
	var submitErrs atomic.Int64
	var sent int
	var wg sync.WaitGroup
	// On an early return, the submissions in flight end before the
	// network stops (deferred earlier, so it runs later).
	defer wg.Wait()
	sem := make(chan struct{}, 16)
	perTick := max(o.Rate/10, 1)
	progress("pushing %d messages/s to %s for %v", o.Rate, topic, o.Duration)
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	for time.Since(start) < o.Duration {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-tick.C:
		}
		for k := 0; k < perTick; k += o.PerTx {
			m := min(o.PerTx, perTick-k)
			i := (sent / o.PerTx) % len(signers)
			var anys []*anypb.Any
			for j := 0; j < m; j++ {
				a, err := types.PackMsg(&mqv1.MsgPushMessage{Topic: topic, Payload: payload})
				if err != nil {
					return nil, err
				}
				anys = append(anys, a)
			}
			pub := signers[i].Public().Key
			body := &txv1.TxBody{ChainId: st.GetChainId(), Sender: pub[:], Nonce: nonces[i],
				ExpiryHeight: uint64(head.Load()) + client.DefaultExpiryBlocks, Messages: anys}
			raw, err := client.SignWithMinimumFee(body, signers[i], st)
			if err != nil {
				return nil, err
			}
			nonces[i]++
			sent += m
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if _, err := c.Submit(ctx, raw, false); err != nil {
					submitErrs.Add(1)
				}
			}()
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	wg.Wait()
	progress("load done (%d messages in %v); waiting for the worker to catch up", sent, elapsed.Round(time.Millisecond))
	err = waitUntil(ctx, 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		total := 0
		for _, l := range loads {
			total += l.count
		}
		return pending == 0 && total >= sent-int(submitErrs.Load())*o.PerTx
	})
	stopPoll()
	<-pollDone
	cancelSub()
	if err != nil {
		return nil, fmt.Errorf("the worker did not catch up: %w (last refusal: %s)", err, lastRefusal)
	}
	mu.Lock()
	defer mu.Unlock()
	rep := &SyncReport{Messages: sent, Rate: float64(sent) / elapsed.Seconds(), Blocks: len(results), BlockTime: o.BlockTime,
		SubmitErrors: int(submitErrs.Load()), WorkerRefusals: lastRefusal, WorkerProcessed: w.Info().GetSync().GetMessagesProcessed()}
	for _, l := range loads {
		rep.MaxPerBlock = max(rep.MaxPerBlock, l.count)
	}
	if len(results) == 0 {
		return nil, errors.New("no block carried messages")
	}
	lags := make([]time.Duration, len(results))
	lb := make([]int64, len(results))
	for i, r := range results {
		lags[i], lb[i] = r.lag, r.blocks
	}
	slices.Sort(lags)
	slices.Sort(lb)
	pct := func(n int, p float64) int { return min(n-1, int(float64(n)*p)) }
	rep.LagP50, rep.LagP99, rep.LagMax = lags[pct(len(lags), 0.5)], lags[pct(len(lags), 0.99)], lags[len(lags)-1]
	rep.LagBlocksP50, rep.LagBlocksP99, rep.LagBlocksMax = lb[pct(len(lb), 0.5)], lb[pct(len(lb), 0.99)], lb[len(lb)-1]
	return rep, nil
}

func waitUntil(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
