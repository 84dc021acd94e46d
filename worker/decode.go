package worker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"
	ics23 "github.com/cosmos/ics23/go"

	"github.com/veil-network/veil/chain/app"
	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
)

// The decoders below turn relayer input into verified-shape values. They
// are the worker's attack surface toward its host: each bounds its input,
// never panics (CometBFT's FromProto functions are not fuzzed against
// arbitrary bytes, so a panic is turned into an error), and checks only
// shape; verification happens in the light client and the inbox.

const (
	maxGenesisBytes    = 16 << 20
	maxLightBlockBytes = 4 << 20
	maxProofBytes      = 64 << 10
	maxValidators      = 10_000
)

// errMalformed marks relayer input that does not decode.
var errMalformed = errors.New("malformed input")

func guard(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: %s: decoder panicked: %v", errMalformed, what, r)
	}
}

// decodeLightBlock parses a serialized tendermint.types.LightBlock.
func decodeLightBlock(b []byte) (lb *cmttypes.LightBlock, err error) {
	defer guard("light block", &err)
	if len(b) == 0 || len(b) > maxLightBlockBytes {
		return nil, fmt.Errorf("%w: light block of %d bytes", errMalformed, len(b))
	}
	var p cmtproto.LightBlock
	if err := p.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: light block: %v", errMalformed, err)
	}
	if p.SignedHeader == nil || p.SignedHeader.Header == nil || p.SignedHeader.Commit == nil || p.ValidatorSet == nil {
		return nil, fmt.Errorf("%w: light block is incomplete", errMalformed)
	}
	if len(p.ValidatorSet.Validators) > maxValidators {
		return nil, fmt.Errorf("%w: %d validators", errMalformed, len(p.ValidatorSet.Validators))
	}
	lb, err = cmttypes.LightBlockFromProto(&p)
	if err != nil {
		return nil, fmt.Errorf("%w: light block: %v", errMalformed, err)
	}
	return lb, nil
}

// decodeValidatorSet parses a serialized tendermint.types.ValidatorSet.
func decodeValidatorSet(b []byte) (vs *cmttypes.ValidatorSet, err error) {
	defer guard("validator set", &err)
	var p cmtproto.ValidatorSet
	if err := p.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: validator set: %v", errMalformed, err)
	}
	if len(p.Validators) == 0 || len(p.Validators) > maxValidators {
		return nil, fmt.Errorf("%w: validator set has %d validators", errMalformed, len(p.Validators))
	}
	vs, err = cmttypes.ValidatorSetFromProto(&p)
	if err != nil {
		return nil, fmt.Errorf("%w: validator set: %v", errMalformed, err)
	}
	if err := vs.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("%w: validator set: %v", errMalformed, err)
	}
	return vs, nil
}

func encodeValidatorSet(vs *cmttypes.ValidatorSet) ([]byte, error) {
	p, err := vs.ToProto()
	if err != nil {
		return nil, fmt.Errorf("encode validator set: %w", err)
	}
	return p.Marshal()
}

// decodeTrustRoot turns an InitTrustRoot request into a trust root and its
// validator set. For genesis.json, the genesis hash is computed exactly as
// the chain computes it at InitChain (app.GenesisHash over the document's
// chain id, initial height, time and app_state bytes), so a document that
// is not the chain's cannot match the worker's binding.
func decodeTrustRoot(req *workerv1.InitTrustRootRequest) (root *workerv1.TrustRoot, vals *cmttypes.ValidatorSet, err error) {
	defer guard("trust root", &err)
	switch r := req.GetRoot().(type) {
	case *workerv1.InitTrustRootRequest_GenesisJson:
		if len(r.GenesisJson) == 0 || len(r.GenesisJson) > maxGenesisBytes {
			return nil, nil, fmt.Errorf("%w: genesis of %d bytes", errMalformed, len(r.GenesisJson))
		}
		doc, err := cmttypes.GenesisDocFromJSON(r.GenesisJson)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: genesis: %v", errMalformed, err)
		}
		if len(doc.Validators) == 0 {
			return nil, nil, fmt.Errorf("%w: genesis lists no validators (the chain's module sets them at InitChain): pass an explicit trust root", errMalformed)
		}
		vs := make([]*cmttypes.Validator, len(doc.Validators))
		for i, v := range doc.Validators {
			vs[i] = cmttypes.NewValidator(v.PubKey, v.Power)
		}
		vals = cmttypes.NewValidatorSet(vs)
		if err := vals.ValidateBasic(); err != nil {
			return nil, nil, fmt.Errorf("%w: genesis validators: %v", errMalformed, err)
		}
		vb, err := encodeValidatorSet(vals)
		if err != nil {
			return nil, nil, err
		}
		gh := app.GenesisHash(doc.ChainID, doc.InitialHeight, doc.GenesisTime, doc.AppState)
		return &workerv1.TrustRoot{ChainId: doc.ChainID, GenesisHash: gh[:], InitialHeight: max(doc.InitialHeight, 1), ValidatorSet: vb}, vals, nil
	case *workerv1.InitTrustRootRequest_Explicit:
		e := r.Explicit
		if err := checkBinding(e.GetChainId(), e.GetGenesisHash()); err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		if e.GetInitialHeight() <= 0 {
			return nil, nil, fmt.Errorf("%w: initial height must be positive", errMalformed)
		}
		if vals, err = decodeValidatorSet(e.GetValidatorSet()); err != nil {
			return nil, nil, err
		}
		vb, err := encodeValidatorSet(vals)
		if err != nil {
			return nil, nil, err
		}
		return &workerv1.TrustRoot{ChainId: e.GetChainId(), GenesisHash: bytes.Clone(e.GetGenesisHash()), InitialHeight: e.GetInitialHeight(), ValidatorSet: vb}, vals, nil
	}
	return nil, nil, fmt.Errorf("%w: no trust root given", errMalformed)
}

// decodeProof parses a serialized ICS23 proof of one key: an existence or
// non-existence proof. Batch and compressed forms are refused here: ics23's
// Decompress indexes its lookup table with unchecked input.
func decodeProof(b []byte) (p *ics23.CommitmentProof, err error) {
	defer guard("proof", &err)
	if len(b) == 0 || len(b) > maxProofBytes {
		return nil, fmt.Errorf("%w: proof of %d bytes", errMalformed, len(b))
	}
	p = &ics23.CommitmentProof{}
	if err := p.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: proof: %v", errMalformed, err)
	}
	if p.GetExist() == nil && p.GetNonexist() == nil {
		return nil, fmt.Errorf("%w: expected a single existence or non-existence proof", errMalformed)
	}
	return p, nil
}

// decodeBatchProof parses an ICS23 batch proof (compressed or not) of at
// most maxEntries keys and returns it decompressed. Compressed entries'
// lookup indices are checked before decompressing.
func decodeBatchProof(b []byte, maxEntries int) (p *ics23.CommitmentProof, err error) {
	defer guard("batch proof", &err)
	if len(b) == 0 || len(b) > maxEntries*maxProofBytes/4 {
		return nil, fmt.Errorf("%w: batch proof of %d bytes", errMalformed, len(b))
	}
	p = &ics23.CommitmentProof{}
	if err := p.Unmarshal(b); err != nil {
		return nil, fmt.Errorf("%w: batch proof: %v", errMalformed, err)
	}
	switch {
	case p.GetBatch() != nil:
		if len(p.GetBatch().GetEntries()) > maxEntries {
			return nil, fmt.Errorf("%w: batch proof has %d entries, at most %d", errMalformed, len(p.GetBatch().GetEntries()), maxEntries)
		}
		return p, nil
	case p.GetCompressed() != nil:
		c := p.GetCompressed()
		if len(c.GetEntries()) > maxEntries {
			return nil, fmt.Errorf("%w: batch proof has %d entries, at most %d", errMalformed, len(c.GetEntries()), maxEntries)
		}
		n := int32(len(c.GetLookupInners()))
		check := func(e *ics23.CompressedExistenceProof) error {
			for _, i := range e.GetPath() {
				if i < 0 || i >= n {
					return fmt.Errorf("%w: batch proof refers to inner node %d of %d", errMalformed, i, n)
				}
			}
			return nil
		}
		for _, e := range c.GetEntries() {
			if ex := e.GetExist(); ex != nil {
				if err := check(ex); err != nil {
					return nil, err
				}
			} else if ne := e.GetNonexist(); ne != nil {
				if err := errors.Join(check(ne.GetLeft()), check(ne.GetRight())); err != nil {
					return nil, err
				}
			} else {
				return nil, fmt.Errorf("%w: empty batch proof entry", errMalformed)
			}
		}
		return ics23.Decompress(p), nil
	}
	return nil, fmt.Errorf("%w: expected a batch proof", errMalformed)
}

// Command is what a message on the worker's own ingress topic asks for:
// JSON {"op": "ping"}. Anything else is counted and ignored (contracts and
// key hand-over arrive on their own topics in later issues).
type Command struct {
	Op string `json:"op"`
}

// OpPing asks the worker for a sync report naming the ping's sequence.
const OpPing = "ping"

// parseCommand decodes a worker-topic payload; ok is false for anything
// that is not a command object.
func parseCommand(payload []byte) (Command, bool) {
	var c Command
	if len(payload) > 4096 || json.Unmarshal(payload, &c) != nil || c.Op == "" {
		return Command{}, false
	}
	return c, true
}
