package randomness

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"github.com/oasisprotocol/curve25519-voi/primitives/ed25519/extra/ecvrf"

	"github.com/veil-network/veil/chain/staking"
	"github.com/veil-network/veil/chain/types"
	randomnessv1 "github.com/veil-network/veil/gen/veil/randomness/v1"
)

// Domain tags of the VRF input and of the genesis seed. Changing either
// changes every output: they are part of the protocol.
const (
	inputTag   = "veil/vrf/v1"
	genesisTag = "veil/vrf/genesis/v1"
)

// DefaultHistoryBlocks keeps about a day of 1 s blocks: long enough for
// any consumer that draws from a recent block's randomness (heartbeat
// challenges, scheduling) to find it, and short enough that the records
// (~260 bytes each) stay a bounded part of state.
const DefaultHistoryBlocks = 100_000

// MaxHistoryBlocks bounds history_blocks (about 31 years of 1 s blocks),
// so height arithmetic can never overflow.
const MaxHistoryBlocks = 1_000_000_000

// Params are the module's parameters, fixed at genesis.
type Params struct {
	// HistoryBlocks is how many blocks' randomness records are kept
	// (heights H-history+1 … H); 0 keeps all. The latest record is kept
	// regardless: the next block's input needs it.
	HistoryBlocks uint64 `json:"history_blocks"`
}

// Validate checks the parameters.
func (p Params) Validate() error {
	if p.HistoryBlocks > MaxHistoryBlocks {
		return fmt.Errorf("history_blocks %d exceeds %d (0 keeps all)", p.HistoryBlocks, uint64(MaxHistoryBlocks))
	}
	return nil
}

// DefaultParams keeps DefaultHistoryBlocks.
func DefaultParams() Params { return Params{HistoryBlocks: DefaultHistoryBlocks} }

// Genesis is the module's genesis section. The consensus-key registry is
// not part of it: the app fills it from the genesis validators CometBFT
// passes to InitChain (and from staking's genesis election).
type Genesis = types.ParamsGenesis[Params]

// paramsSpec places the parameters under keyParams, with DefaultParams as
// the defaults of an empty genesis section (types.ParamsModule).
type paramsSpec struct{}

func (paramsSpec) Name() string     { return Name }
func (paramsSpec) Key() []byte      { return keyParams }
func (paramsSpec) Defaults() Params { return DefaultParams() }

// Module implements types.Module and types.Querier. It has no messages
// and no BeginBlock: the application verifies and applies the block's
// proof transaction itself, before any module's BeginBlock, so every
// module sees the current block's randomness.
type Module struct {
	// ParamsModule provides Params, SetParams and the genesis methods.
	types.ParamsModule[Params, paramsSpec]
}

// New returns the randomness module.
func New() *Module { return &Module{} }

// Name implements types.Module.
func (*Module) Name() string { return Name }

// RegisterMessages implements types.Module: the module has no signed
// messages; its one transaction is the proposer's proof.
func (*Module) RegisterMessages(*types.Router) {}

// GenesisSeed is the "previous output" of the chain's first block:
// SHA-512("veil/vrf/genesis/v1" ‖ genesis hash).
func GenesisSeed(genesisHash [32]byte) []byte {
	h := sha512.New()
	h.Write([]byte(genesisTag))
	h.Write(genesisHash[:])
	return h.Sum(nil)
}

// Input is the VRF input (alpha) of height: "veil/vrf/v1" ‖ 0x00 ‖
// u32be(len(chain id)) ‖ chain id ‖ i64be(height) ‖ prev, where prev is
// the previous block's output (GenesisSeed for the first block). Binding
// the chain id and height makes a proof useless on another chain or at
// another height; chaining prev makes each output depend on all before it.
func Input(chainID string, height int64, prev []byte) []byte {
	b := make([]byte, 0, len(inputTag)+1+4+len(chainID)+8+len(prev))
	b = append(b, inputTag...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(chainID)))
	b = append(b, chainID...)
	b = binary.BigEndian.AppendUint64(b, uint64(height))
	return append(b, prev...)
}

// prevOutput is the latest recorded randomness (nil before the first) and
// the "previous output" the next input chains: its output, or GenesisSeed.
func prevOutput(s types.KVStore, genesisHash [32]byte) (*randomnessv1.BlockRandomness, []byte) {
	if l := Latest(s); l != nil {
		return l, l.GetOutput()
	}
	return nil, GenesisSeed(genesisHash)
}

// inputAt is the input of height over the randomness recorded in s.
func inputAt(s types.KVStore, chainID string, genesisHash [32]byte, height int64) ([]byte, error) {
	l, prev := prevOutput(s, genesisHash)
	if l != nil && l.GetHeight() >= height {
		return nil, errf(CodeWrongHeight, "randomness of height %d is already recorded (latest %d)", height, l.GetHeight())
	}
	return Input(chainID, height, prev), nil
}

// Key is a validator's consensus private key in the form ecvrf needs. Its
// String and LogValue show only the consensus address, so a Key that
// reaches a log line or an error message never leaks the secret.
type Key struct {
	sk   ed25519.PrivateKey
	pub  [32]byte
	addr []byte
}

// NewKey converts a CometBFT ed25519 private key (64 bytes: seed ‖ public
// key, as privval's FilePV holds it). The public half is checked against
// the seed: ecvrf.Prove trusts it, and a mismatched key would produce
// proofs no one accepts.
func NewKey(cometPriv []byte) (*Key, error) {
	if len(cometPriv) != ed25519.PrivateKeySize {
		return nil, errf(CodeInvalidKey, "consensus private key has %d bytes, want %d (ed25519 seed ‖ public key)", len(cometPriv), ed25519.PrivateKeySize)
	}
	sk := ed25519.NewKeyFromSeed(cometPriv[:ed25519.SeedSize])
	if !bytes.Equal(sk[ed25519.SeedSize:], cometPriv[ed25519.SeedSize:]) {
		return nil, errf(CodeInvalidKey, "consensus private key's public half does not match its seed")
	}
	k := &Key{sk: sk, pub: [32]byte(sk[ed25519.SeedSize:])}
	k.addr = staking.ConsensusAddress(k.pub[:])
	return k, nil
}

// PublicKey is the 32-byte ed25519 consensus public key.
func (k *Key) PublicKey() [32]byte { return k.pub }

// Address is the key's 20-byte CometBFT consensus address.
func (k *Key) Address() []byte { return bytes.Clone(k.addr) }

// String shows the address only.
func (k *Key) String() string { return "consensus key 0x" + hex.EncodeToString(k.addr) }

// GoString shows the address only (%#v).
func (k *Key) GoString() string { return k.String() }

// LogValue shows the address only.
func (k *Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Prove builds the proof transaction of height for the proposer holding k,
// over the randomness recorded in s (the state the block executes on).
// ECVRF proving is deterministic (RFC 9381): the proposer has exactly one
// valid proof per height, so it cannot grind for a favourable output.
func Prove(s types.KVStore, chainID string, genesisHash [32]byte, height int64, k *Key) ([]byte, error) {
	if k == nil {
		return nil, errf(CodeInvalidKey, "no consensus key")
	}
	if height <= 0 {
		return nil, errf(CodeWrongHeight, "height %d is not positive", height)
	}
	alpha, err := inputAt(s, chainID, genesisHash, height)
	if err != nil {
		return nil, err
	}
	return EncodeProofTx(height, ecvrf.Prove(k.sk, alpha)), nil
}

// Verify checks the proof transaction raw of the block at height proposed
// by proposerAddr, against the state s the block executes on (before it
// is applied), and returns the block's randomness record. The errors carry
// CodeMissingProof, CodeMalformedProof, CodeWrongHeight,
// CodeUnknownProposer or CodeInvalidProof.
func Verify(s types.KVStore, chainID string, genesisHash [32]byte, height int64, proposerAddr, raw []byte) (*randomnessv1.BlockRandomness, error) {
	if len(raw) == 0 {
		return nil, errf(CodeMissingProof, "block %d has no randomness proof transaction", height)
	}
	if !IsProofTx(raw) {
		return nil, errf(CodeMissingProof, "the first transaction of block %d is not a randomness proof", height)
	}
	p, err := DecodeProofTx(raw)
	if err != nil {
		return nil, err
	}
	if p.GetHeight() != height {
		return nil, errf(CodeWrongHeight, "proof is for height %d, the block is %d", p.GetHeight(), height)
	}
	pub := ConsensusKey(s, proposerAddr)
	if pub == nil {
		return nil, errf(CodeUnknownProposer, "no consensus key is registered for proposer 0x%x", proposerAddr)
	}
	alpha, err := inputAt(s, chainID, genesisHash, height)
	if err != nil {
		return nil, err
	}
	ok, beta := ecvrf.Verify(ed25519.PublicKey(pub), p.GetProof(), alpha)
	if !ok {
		return nil, errf(CodeInvalidProof, "proof of height %d does not verify under proposer 0x%x's consensus key", height, proposerAddr)
	}
	return &randomnessv1.BlockRandomness{
		Height: height, Output: beta, Proof: p.GetProof(), Proposer: bytes.Clone(proposerAddr),
		ProposerKey: bytes.Clone(pub), Input: alpha,
	}, nil
}

// Fallback is the randomness of a block that carries no valid proof,
// which consensus never decides (ProcessProposal rejects such proposals)
// but which a node must still execute without halting if it is handed
// one (a block store written by an older version, say): the output is
// SHA-512 of the block's input, which anyone could have computed in
// advance, so the record is flagged and consumers may treat it as
// biasable.
func Fallback(s types.KVStore, chainID string, genesisHash [32]byte, height int64, proposerAddr []byte) *randomnessv1.BlockRandomness {
	_, prev := prevOutput(s, genesisHash)
	alpha := Input(chainID, height, prev)
	out := sha512.Sum512(alpha)
	return &randomnessv1.BlockRandomness{
		Height: height, Output: out[:], Proposer: bytes.Clone(proposerAddr),
		ProposerKey: bytes.Clone(ConsensusKey(s, proposerAddr)), Input: alpha, Fallback: true,
	}
}

// Apply records r (from Verify or Fallback, for ctx.Height) as the latest
// randomness, deletes the one record that falls out of history_blocks
// (O(1) per block: exactly one height leaves the window each block), and
// emits a "randomness" event.
func (m *Module) Apply(ctx *types.Context, r *randomnessv1.BlockRandomness) {
	put(ctx.Store, r)
	if n := m.Params(ctx.Store).HistoryBlocks; n > 0 {
		if old := r.GetHeight() - int64(n); old >= 1 {
			ctx.Store.Delete(BlockKey(old))
		}
	}
	if ctx.Emitting() {
		ctx.Emit(Name,
			types.Attr{Key: "height", Value: strconv.FormatInt(r.GetHeight(), 10)},
			types.Attr{Key: "output", Value: types.HexID(r.GetOutput())},
			types.Attr{Key: "proposer", Value: types.HexID(r.GetProposer())},
			types.Attr{Key: "fallback", Value: strconv.FormatBool(r.GetFallback())},
		)
	}
}
