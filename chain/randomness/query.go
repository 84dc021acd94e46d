package randomness

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/veil-network/veil/chain/types"
	randomnessv1 "github.com/veil-network/veil/gen/veil/randomness/v1"
)

// View is a block's randomness as the "randomness" query returns it; byte
// strings are 0x-prefixed hex ("" for the proof of a fallback record).
type View struct {
	Height int64 `json:"height"`
	// Output is the 64-byte VRF output, the block's randomness.
	Output string `json:"output"`
	// Proof is the 80-byte ECVRF proof.
	Proof string `json:"proof"`
	// Proposer is the 20-byte consensus address of the block's proposer.
	Proposer string `json:"proposer"`
	// ProposerKey is the 32-byte ed25519 consensus key the proof verifies
	// under.
	ProposerKey string `json:"proposer_key"`
	// Input is the VRF input (alpha), so anyone can re-verify the proof.
	Input string `json:"input"`
	// Fallback marks a block without a valid proof (see Fallback).
	Fallback bool `json:"fallback"`
}

// ViewOf renders a record for queries.
func ViewOf(r *randomnessv1.BlockRandomness) View {
	hx := func(b []byte) string {
		if len(b) == 0 {
			return ""
		}
		return types.HexID(b)
	}
	return View{
		Height: r.GetHeight(), Output: hx(r.GetOutput()), Proof: hx(r.GetProof()), Proposer: hx(r.GetProposer()),
		ProposerKey: hx(r.GetProposerKey()), Input: hx(r.GetInput()), Fallback: r.GetFallback(),
	}
}

// Query implements types.Querier:
//
//	"randomness"  args: a decimal height (a bare JSON number or string;
//	              empty or null for the latest) → View
//	"params"      → Params
func (m *Module) Query(ctx *types.Context, path string, args []byte) (any, error) {
	switch path {
	case "randomness":
		height, err := parseHeightArg(args)
		if err != nil {
			return nil, err
		}
		if height == 0 {
			r := Latest(ctx.Store)
			if r == nil {
				return nil, types.Errf(types.CodeNotFound, "no block randomness is recorded yet")
			}
			return ViewOf(r), nil
		}
		r := Get(ctx.Store, height)
		if r == nil {
			if l := Latest(ctx.Store); l != nil && height > l.GetHeight() {
				return nil, types.Errf(types.CodeNotFound, "no randomness for height %d: the latest is %d", height, l.GetHeight())
			}
			return nil, types.Errf(types.CodeNotFound, "no randomness for height %d: before the chain's first block, or pruned (history_blocks %d)", height, m.Params(ctx.Store).HistoryBlocks)
		}
		return ViewOf(r), nil
	case "params":
		return m.Params(ctx.Store), nil
	}
	return nil, types.Errf(types.CodeInvalidRequest, "unknown randomness query %q (supported: randomness, params)", truncate(path))
}

// parseHeightArg reads the "randomness" query's argument: a positive
// decimal height, bare or as a JSON string; empty or null means latest (0).
func parseHeightArg(args []byte) (int64, error) {
	a := bytes.TrimSpace(args)
	if len(a) == 0 || string(a) == "null" {
		return 0, nil
	}
	s := string(a)
	if a[0] == '"' {
		if err := json.Unmarshal(a, &s); err != nil {
			return 0, types.Errf(types.CodeInvalidRequest, "height must be a decimal integer: %v", err)
		}
		if s == "" {
			return 0, nil
		}
	}
	h, err := strconv.ParseInt(s, 10, 64)
	if err != nil || h <= 0 {
		return 0, types.Errf(types.CodeInvalidRequest, "height must be a positive decimal integer, got %q", truncate(s))
	}
	return h, nil
}

func truncate(s string) string {
	if len(s) > 48 {
		return s[:48] + "…"
	}
	return s
}
