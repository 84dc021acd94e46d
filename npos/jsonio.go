package npos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// This file defines the JSON layout of shared/testdata/npos (README.md
// there): what `veil npos elect` reads and prints, and the reduce layout.
// Amounts are decimal strings on output (stakes are u64, results u128, and
// JSON numbers lose precision beyond 2^53); on input both strings and plain
// JSON integers are accepted. Counts (to_elect, iterations, removed) are
// JSON numbers.

// JSONNumber is a non-negative integer read from a JSON string or number and
// written as a decimal string.
type JSONNumber struct{ V Uint128 }

// UnmarshalJSON accepts "123" and 123.
func (n *JSONNumber) UnmarshalJSON(b []byte) error {
	s, err := jsonScalar(b)
	if err != nil {
		return err
	}
	v, err := ParseUint128(s)
	if err != nil {
		return err
	}
	n.V = v
	return nil
}

// MarshalJSON writes the value as a decimal string.
func (n JSONNumber) MarshalJSON() ([]byte, error) {
	return json.Marshal(n.V.String())
}

// JSONID is an account identifier read from a JSON string (or, leniently, a
// number, kept as its literal text).
type JSONID string

// UnmarshalJSON accepts "alice" and 10.
func (id *JSONID) UnmarshalJSON(b []byte) error {
	s, err := jsonScalar(b)
	if err != nil {
		return err
	}
	*id = JSONID(s)
	return nil
}

// jsonScalar returns the text of a JSON string or number literal.
func jsonScalar(b []byte) (string, error) {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return "", fmt.Errorf("decode string: %w", err)
		}
		return s, nil
	}
	var num json.Number
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&num); err != nil {
		return "", fmt.Errorf("want a string or an integer, got %s: %w", b, ErrInvalidNumber)
	}
	return num.String(), nil
}

// ElectionInput is the input layout of `veil npos elect`.
type ElectionInput struct {
	Algorithm  string           `json:"algorithm"`
	ToElect    json.Number      `json:"to_elect"`
	Accuracy   string           `json:"accuracy"`
	Balancing  *BalancingInput  `json:"balancing"`
	Candidates []JSONID         `json:"candidates"`
	Voters     []JSONVoterInput `json:"voters"`
}

// BalancingInput is the optional balancing configuration (null: none).
type BalancingInput struct {
	Iterations json.Number `json:"iterations"`
	Tolerance  JSONNumber  `json:"tolerance"`
}

// JSONVoterInput is one voter of ElectionInput.
type JSONVoterInput struct {
	ID      JSONID     `json:"id"`
	Stake   JSONNumber `json:"stake"`
	Targets []JSONID   `json:"targets"`
}

// ElectionOutput is the output layout of `veil npos elect --output json`.
type ElectionOutput struct {
	Winners     []JSONWinner     `json:"winners"`
	Assignments []JSONAssignment `json:"assignments"`
	Supports    []JSONSupport    `json:"supports"`
	Score       JSONScore        `json:"score"`
}

// JSONWinner is a winner and its backed stake.
type JSONWinner struct {
	ID          JSONID     `json:"id"`
	BackedStake JSONNumber `json:"backed_stake"`
}

// JSONAssignment is a voter's ratio assignment.
type JSONAssignment struct {
	Voter        JSONID      `json:"voter"`
	Distribution []JSONRatio `json:"distribution"`
}

// JSONRatio is one target and its PerThing parts.
type JSONRatio struct {
	Target JSONID     `json:"target"`
	Parts  JSONNumber `json:"parts"`
}

// JSONSupport is one winner's support.
type JSONSupport struct {
	Target JSONID        `json:"target"`
	Total  JSONNumber    `json:"total"`
	Voters []JSONBacking `json:"voters"`
}

// JSONBacking is one voter's stake in a support.
type JSONBacking struct {
	ID    JSONID     `json:"id"`
	Stake JSONNumber `json:"stake"`
}

// JSONScore is the ElectionScore.
type JSONScore struct {
	MinimalStake    JSONNumber `json:"minimal_stake"`
	SumStake        JSONNumber `json:"sum_stake"`
	SumStakeSquared JSONNumber `json:"sum_stake_squared"`
}

// Algorithm names accepted in ElectionInput.
const (
	AlgorithmSeqPhragmen = "seq-phragmen"
	AlgorithmPhragMMS    = "phragmms"
)

// unwrapVector accepts either a bare input object or a whole test vector
// ({"source", "input", "expected"}), returning the input object: the shared
// vectors are then usable directly as --input files.
func unwrapVector(data []byte, marker string) []byte {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(data, &probe); err != nil {
		return data
	}
	inner, hasInput := probe["input"]
	if _, bare := probe[marker]; hasInput && !bare {
		return inner
	}
	return data
}

// DecodeElectionInput parses the elect input layout (or a test vector
// holding it under "input"). Unknown fields are ignored so that annotated
// inputs (comments, provenance) are accepted.
func DecodeElectionInput(data []byte) (ElectionInput, error) {
	var in ElectionInput
	if err := json.Unmarshal(unwrapVector(data, "algorithm"), &in); err != nil {
		return ElectionInput{}, fmt.Errorf("decode election input: %w", err)
	}
	return in, nil
}

// parseCount parses a non-negative JSON integer that fits in an int.
func parseCount(n json.Number, what string) (int, error) {
	s := strings.TrimSpace(n.String())
	if s == "" {
		return 0, fmt.Errorf("%s is missing: %w", what, ErrInvalidNumber)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 || int64(int(v)) != v {
		return 0, fmt.Errorf("%s %q is not a non-negative integer: %w", what, s, ErrInvalidNumber)
	}
	return int(v), nil
}

// Elect runs the election described by in and renders the result in the
// output layout. Supports are built with AssignmentRatioToStakedNormalized
// (each voter's stakes add up to its stake, as the staking pallet does) and
// come in winners order; the score is computed from them.
func Elect(in ElectionInput) (ElectionOutput, error) {
	toElect, err := parseCount(in.ToElect, "to_elect")
	if err != nil {
		return ElectionOutput{}, err
	}
	acc, err := ParseAccuracy(in.Accuracy)
	if err != nil {
		return ElectionOutput{}, err
	}
	var bal *BalancingConfig
	if in.Balancing != nil {
		it, err := parseCount(in.Balancing.Iterations, "balancing.iterations")
		if err != nil {
			return ElectionOutput{}, err
		}
		bal = &BalancingConfig{Iterations: it, Tolerance: in.Balancing.Tolerance.V}
	}
	voters := make([]Voter[JSONID], len(in.Voters))
	for i, v := range in.Voters {
		if v.Stake.V.Hi != 0 {
			return ElectionOutput{}, fmt.Errorf("voter %q: stake %s exceeds u64: %w", v.ID, v.Stake.V, ErrInvalidNumber)
		}
		voters[i] = Voter[JSONID]{ID: v.ID, Stake: v.Stake.V.Lo, Targets: v.Targets}
	}
	var res ElectionResult[JSONID]
	switch strings.ToLower(strings.TrimSpace(in.Algorithm)) {
	case AlgorithmSeqPhragmen, "seq_phragmen", "seqphragmen":
		res, err = SeqPhragmen(toElect, in.Candidates, voters, bal, acc)
	case AlgorithmPhragMMS:
		res, err = PhragMMS(toElect, in.Candidates, voters, bal, acc)
	default:
		return ElectionOutput{}, fmt.Errorf("algorithm %q (want %s or %s): %w", in.Algorithm, AlgorithmSeqPhragmen, AlgorithmPhragMMS, ErrInvalidInput)
	}
	if err != nil {
		return ElectionOutput{}, err
	}
	outcome, err := res.Outcome()
	if err != nil {
		return ElectionOutput{}, fmt.Errorf("evaluate election: %w", err)
	}
	return renderElection(res, outcome), nil
}

func renderElection(res ElectionResult[JSONID], outcome Outcome[JSONID]) ElectionOutput {
	out := ElectionOutput{
		Winners:     make([]JSONWinner, len(res.Winners)),
		Assignments: make([]JSONAssignment, len(res.Assignments)),
		Supports:    make([]JSONSupport, len(outcome.Supports)),
		Score: JSONScore{
			MinimalStake:    JSONNumber{outcome.Score.MinimalStake},
			SumStake:        JSONNumber{outcome.Score.SumStake},
			SumStakeSquared: JSONNumber{outcome.Score.SumStakeSquared},
		},
	}
	for i, w := range res.Winners {
		out.Winners[i] = JSONWinner{ID: w.ID, BackedStake: JSONNumber{w.BackedStake}}
	}
	for i, a := range res.Assignments {
		d := make([]JSONRatio, len(a.Distribution))
		for j, x := range a.Distribution {
			d[j] = JSONRatio{Target: x.Target, Parts: JSONNumber{U128(x.Parts)}}
		}
		out.Assignments[i] = JSONAssignment{Voter: a.Voter, Distribution: d}
	}
	for i, s := range outcome.Supports {
		vs := make([]JSONBacking, len(s.Voters))
		for j, b := range s.Voters {
			vs[j] = JSONBacking{ID: b.Voter, Stake: JSONNumber{b.Stake}}
		}
		out.Supports[i] = JSONSupport{Target: s.Target, Total: JSONNumber{s.Total}, Voters: vs}
	}
	return out
}

// ReduceInput is the input (and, with Removed, the output) layout of
// `veil npos reduce`: staked assignments.
type ReduceInput struct {
	Assignments []JSONStakedAssignment `json:"assignments"`
}

// ReduceOutput is the reduced assignments plus the number of removed edges.
type ReduceOutput struct {
	Assignments []JSONStakedAssignment `json:"assignments"`
	Removed     int                    `json:"removed"`
}

// JSONStakedAssignment is a voter's staked assignment.
type JSONStakedAssignment struct {
	Voter        JSONID       `json:"voter"`
	Distribution []JSONStaked `json:"distribution"`
}

// JSONStaked is one target and the stake it receives.
type JSONStaked struct {
	Target JSONID     `json:"target"`
	Stake  JSONNumber `json:"stake"`
}

// DecodeReduceInput parses the reduce input layout (or a test vector
// holding it under "input").
func DecodeReduceInput(data []byte) (ReduceInput, error) {
	var in ReduceInput
	if err := json.Unmarshal(unwrapVector(data, "assignments"), &in); err != nil {
		return ReduceInput{}, fmt.Errorf("decode reduce input: %w", err)
	}
	return in, nil
}

// ReduceJSON runs Reduce on the staked assignments of in.
func ReduceJSON(in ReduceInput) (ReduceOutput, error) {
	staked := make([]StakedAssignment[JSONID], len(in.Assignments))
	for i, a := range in.Assignments {
		d := make([]StakedEdge[JSONID], len(a.Distribution))
		for j, x := range a.Distribution {
			d[j] = StakedEdge[JSONID]{Target: x.Target, Stake: x.Stake.V}
		}
		staked[i] = StakedAssignment[JSONID]{Voter: a.Voter, Distribution: d}
	}
	removed, err := Reduce(staked)
	if err != nil {
		return ReduceOutput{}, err
	}
	out := ReduceOutput{Assignments: make([]JSONStakedAssignment, len(staked)), Removed: removed}
	for i, a := range staked {
		d := make([]JSONStaked, len(a.Distribution))
		for j, x := range a.Distribution {
			d[j] = JSONStaked{Target: x.Target, Stake: JSONNumber{x.Stake}}
		}
		out.Assignments[i] = JSONStakedAssignment{Voter: a.Voter, Distribution: d}
	}
	return out, nil
}
