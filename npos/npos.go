// Package npos is a pure Go reproduction of Substrate's sp-npos-elections:
// sequential Phragmén, PhragMMS, star balancing, reduce, election scores and
// the ratio/staked assignment conversions, with the same integer semantics
// (u64 stakes, u128 extended arithmetic, Rational128 loads, PerThing
// ratios, upstream's normalisation) so that a chain running it agrees bit for
// bit with a Substrate runtime fed the same input.
//
// Everything is deterministic: no maps are iterated, no floats are used and
// ties are broken by input order exactly where upstream breaks them. The
// functions never panic on any input (the chain calls them from
// FinalizeBlock); where upstream would panic (reduce on corrupt input) an
// error is returned instead.
//
// Account identifiers are any comparable type (a string, a [32]byte …). The
// algorithms run on dense indices internally, so the identifier type only
// matters for input de-duplication and output.
//
// See docs/npos.md for the algorithms, the exactness approach and the places
// where upstream behaviour differs from intuition.
package npos

// Error is the error type of this package. Its values are constants so that
// the package holds no mutable state; compare with errors.Is.
type Error string

func (e Error) Error() string { return string(e) }

// Errors returned by this package.
const (
	// ErrNoCandidates: the election was given no candidate at all.
	ErrNoCandidates Error = "npos: no candidates"
	// ErrZeroToElect: to_elect must be at least one.
	ErrZeroToElect Error = "npos: to_elect must be at least 1"
	// ErrInvalidBalancing: a balancing configuration with negative iterations.
	ErrInvalidBalancing Error = "npos: balancing iterations must not be negative"
	// ErrInvalidAccuracy: an accuracy that is not one of the PerThing types.
	ErrInvalidAccuracy Error = "npos: unknown accuracy"
	// ErrInvalidInput: malformed election or reduce input (JSON layer).
	ErrInvalidInput Error = "npos: invalid input"
	// ErrInvalidNumber: a decimal number that does not parse or fit.
	ErrInvalidNumber Error = "npos: invalid number"
	// ErrArithmetic is upstream's Error::ArithmeticError: a normalisation
	// failed (a sum did not fit in the working integer type).
	ErrArithmetic Error = "npos: arithmetic error"
	// ErrNormalizeSumOverflow is upstream's "sum of input cannot fit in `T`".
	ErrNormalizeSumOverflow Error = "npos: sum of input cannot fit in the integer type"
	// ErrNormalizeLengthOverflow is upstream's "length of `inputs` cannot fit in `T`".
	ErrNormalizeLengthOverflow Error = "npos: length of input cannot fit in the integer type"
	// ErrTooLarge: an input with more than 2^31-1 candidates, votes or
	// edges (the engine indexes with int32).
	ErrTooLarge Error = "npos: input too large"
	// ErrDuplicateVoter: reduce requires unique voters; upstream panics or
	// silently corrupts the assignments when they are not.
	ErrDuplicateVoter Error = "npos: duplicate voter in assignments"
	// ErrCorruptAssignments: reduce met a state upstream answers with a
	// panic ("Duplicate voter (or other corrupt input)").
	ErrCorruptAssignments Error = "npos: corrupt assignments"
)

// VoteWeight is upstream's VoteWeight: the stake of a voter.
type VoteWeight = uint64

// Voter is one voter of an election: its identifier, its stake and the
// targets it approves, in its own order of preference (the order is kept in
// the output and decides ties inside upstream's normalisation).
type Voter[A comparable] struct {
	ID      A
	Stake   VoteWeight
	Targets []A
}

// BalancingConfig is upstream's BalancingConfig: at most Iterations rounds of
// star balancing, stopping early once no voter moves more than Tolerance.
type BalancingConfig struct {
	Iterations int
	Tolerance  Uint128
}

// Winner is an elected candidate with the stake the algorithm assigned to it
// and the (zero-based) round it was elected in.
type Winner[A comparable] struct {
	ID          A
	BackedStake Uint128
	Round       int
}

// RatioEdge is one entry of a ratio assignment: a target and the PerThing
// parts of the voter's stake it receives.
type RatioEdge[A comparable] struct {
	Target A
	Parts  uint64
}

// Assignment is upstream's Assignment: how one voter's stake is split among
// elected targets, as PerThing parts that sum to exactly Accuracy.One() for
// election output. Stake carries the voter's stake from the election input;
// the staked conversions use it where upstream calls stake_of(who), which
// keeps them well defined even when two voters share an identifier.
type Assignment[A comparable] struct {
	Voter        A
	Stake        VoteWeight
	Distribution []RatioEdge[A]
}

// StakedEdge is one entry of a staked assignment.
type StakedEdge[A comparable] struct {
	Target A
	Stake  Uint128
}

// StakedAssignment is upstream's StakedAssignment: absolute stake per target.
type StakedAssignment[A comparable] struct {
	Voter        A
	Distribution []StakedEdge[A]
}

// Total is the saturating sum of the distribution (upstream's total()).
func (s StakedAssignment[A]) Total() Uint128 {
	var t Uint128
	for _, e := range s.Distribution {
		t = t.AddSat(e.Stake)
	}
	return t
}

// ElectionResult is the outcome of SeqPhragmen or PhragMMS: the winners in
// election order and one ratio assignment per voter that backs at least one
// winner (in voter input order; each distribution in the voter's target
// order).
type ElectionResult[A comparable] struct {
	Accuracy    Accuracy
	Winners     []Winner[A]
	Assignments []Assignment[A]
}

// Backing is one voter's stake inside a Support.
type Backing[A comparable] struct {
	Voter A
	Stake Uint128
}

// Support is upstream's Support seen from one target: its total backing and
// the voters providing it, in assignment order.
type Support[A comparable] struct {
	Target A
	Total  Uint128
	Voters []Backing[A]
}

// Outcome bundles what a chain needs from an election: the staked view of the
// assignments, the supports (exposures) and the score.
type Outcome[A comparable] struct {
	Staked   []StakedAssignment[A]
	Supports []Support[A]
	Score    ElectionScore
}

// Outcome converts the ratio assignments to stakes with
// AssignmentRatioToStakedNormalized (so each voter's stakes add up to exactly
// its stake), builds the supports ordered like the winners (targets that are
// not winners, which only upstream's zero-stake quirk can produce, follow in
// first-appearance order) and scores them.
func (r ElectionResult[A]) Outcome() (Outcome[A], error) {
	staked, err := AssignmentRatioToStakedNormalized(r.Accuracy, r.Assignments)
	if err != nil {
		return Outcome[A]{}, err
	}
	order := make([]A, len(r.Winners))
	for i, w := range r.Winners {
		order[i] = w.ID
	}
	supports := OrderSupports(ToSupports(staked), order)
	return Outcome[A]{Staked: staked, Supports: supports, Score: EvaluateSupport(supports)}, nil
}
