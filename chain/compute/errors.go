package compute

import (
	"fmt"

	"github.com/veil-network/veil/chain/types"
)

// Result codes of the compute module (500–549; the registry owns 100–199,
// staking 200–299, mq 300–399, contracts 400–499). Clients match on these
// numbers, so they are append-only; docs/compute.md lists them.
const (
	// CodeWorkerNotRegistered: the identity has no registry record.
	CodeWorkerNotRegistered types.Code = 500 + iota
	// CodeWorkerStale: the worker's attestation has expired; it must
	// re-attest before it can be bound or start computing.
	CodeWorkerStale
	// CodeNotOperator: the sender is not the worker's registered operator
	// (or, for a pool worker, the pool's owner).
	CodeNotOperator
	// CodeAlreadyBound: the worker is bound already.
	CodeAlreadyBound
	// CodeNotBound: the worker is not bound (no compute record).
	CodeNotBound
	// CodeNotReady: the operation needs a Ready worker (start, add to a
	// pool).
	CodeNotReady
	// CodeNotComputing: stop of a worker that is neither Computing nor
	// Unresponsive.
	CodeNotComputing
	// CodeNotCoolingDown: reclaim of a worker that is not cooling down.
	CodeNotCoolingDown
	// CodeCooldownNotOver: reclaim before cooldown_ends_at.
	CodeCooldownNotOver
	// CodeNoScore: start of a worker that has not reported a benchmark
	// score (P = 0).
	CodeNoScore
	// CodeStakeBelowMinimum: stake below k·isqrt(P).
	CodeStakeBelowMinimum
	// CodeNoChallenge: a heartbeat answer from a worker with no open
	// challenge.
	CodeNoChallenge
	// CodeWrongChallenge: a heartbeat answer whose height or nonce is not
	// the open challenge's.
	CodeWrongChallenge
	// CodeChallengeExpired: a heartbeat answer landing after the deadline
	// (before the deadline sweep reached it).
	CodeChallengeExpired
	// CodeInvalidScore: a benchmark report with score 0.
	CodeInvalidScore
	// CodePoolNotFound: no pool has this id.
	CodePoolNotFound
	// CodeNotPoolOwner: the sender does not own the pool.
	CodeNotPoolOwner
	// CodeInvalidCommission: commission above 1,000,000 ppm.
	CodeInvalidCommission
	// CodeWorkerInPool: the worker already belongs to a pool.
	CodeWorkerInPool
	// CodePoolFull: the pool has max_pool_workers workers.
	CodePoolFull
	// CodeInsufficientShares: a withdrawal of more shares than the sender
	// holds in the pool (queued shares excluded).
	CodeInsufficientShares
	// CodeWithdrawPending: a pool worker cannot start while the pool's
	// withdraw queue is not empty (its free funds are owed).
	CodeWithdrawPending
	// CodeContributionTooSmall: the contribution buys zero shares at the
	// current share price.
	CodeContributionTooSmall
	// CodePoolInsolvent: the pool has shares outstanding but no value
	// left, so no share price exists for a contribution.
	CodePoolInsolvent
	// CodeWithdrawQueueFull: the pool's withdraw queue has
	// MaxWithdrawQueue accounts waiting.
	CodeWithdrawQueueFull
	// CodeNoMessageQueue: the module was wired without a message queue.
	CodeNoMessageQueue
)

// CodeName names a compute code ("" for other codes).
func CodeName(c types.Code) string {
	switch c {
	case CodeWorkerNotRegistered:
		return "worker_not_registered"
	case CodeWorkerStale:
		return "worker_stale"
	case CodeNotOperator:
		return "worker_owned_by_other_operator"
	case CodeAlreadyBound:
		return "worker_already_bound"
	case CodeNotBound:
		return "worker_not_bound"
	case CodeNotReady:
		return "worker_not_ready"
	case CodeNotComputing:
		return "worker_not_computing"
	case CodeNotCoolingDown:
		return "worker_not_cooling_down"
	case CodeCooldownNotOver:
		return "cooldown_not_over"
	case CodeNoScore:
		return "no_benchmark_score"
	case CodeStakeBelowMinimum:
		return "stake_below_minimum"
	case CodeNoChallenge:
		return "no_open_challenge"
	case CodeWrongChallenge:
		return "wrong_challenge"
	case CodeChallengeExpired:
		return "challenge_expired"
	case CodeInvalidScore:
		return "invalid_score"
	case CodePoolNotFound:
		return "pool_not_found"
	case CodeNotPoolOwner:
		return "not_pool_owner"
	case CodeInvalidCommission:
		return "invalid_commission"
	case CodeWorkerInPool:
		return "worker_in_pool"
	case CodePoolFull:
		return "pool_full"
	case CodeInsufficientShares:
		return "insufficient_shares"
	case CodeWithdrawPending:
		return "pool_withdraw_pending"
	case CodeContributionTooSmall:
		return "contribution_too_small"
	case CodePoolInsolvent:
		return "pool_insolvent"
	case CodeWithdrawQueueFull:
		return "withdraw_queue_full"
	case CodeNoMessageQueue:
		return "no_message_queue"
	}
	return ""
}

// errf builds a compute error whose message starts with the code's name,
// since types.Code.String knows only the core codes.
func errf(code types.Code, format string, args ...any) *types.Error {
	return types.Errf(code, "%s: %s", CodeName(code), fmt.Sprintf(format, args...))
}
