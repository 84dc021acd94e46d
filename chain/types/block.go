package types

import "time"

// BlockInfo is what consensus tells the application about the block being
// executed, translated from CometBFT's types so modules stay independent
// of the engine.
type BlockInfo struct {
	// Proposer is the consensus address (first 20 bytes of SHA-256 of the
	// ed25519 consensus public key) of the block's proposer.
	Proposer []byte
	// Votes are the validators of the previous height with whether their
	// signature is in this block's last commit (for era points and
	// downtime tracking).
	Votes []VoteInfo
	// Misbehavior is evidence of equivocation committed in this block.
	Misbehavior []Misbehavior
}

// VoteInfo is one validator's participation in the last commit.
type VoteInfo struct {
	Address []byte
	Power   int64
	Signed  bool
}

// Misbehavior kinds.
const (
	MisbehaviorDuplicateVote     = "duplicate_vote"
	MisbehaviorLightClientAttack = "light_client_attack"
	MisbehaviorUnknown           = "unknown"
)

// Misbehavior is evidence that a validator equivocated at Height.
type Misbehavior struct {
	Kind             string
	Address          []byte
	Power            int64
	Height           int64
	Time             time.Time
	TotalVotingPower int64
}

// ValidatorUpdate sets a consensus key's voting power (0 removes it). The
// new set takes effect at height H+2 (CometBFT's rule).
type ValidatorUpdate struct {
	// PubKey is the ed25519 consensus public key.
	PubKey [32]byte
	Power  int64
}
