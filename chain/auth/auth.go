package auth

import (
	"fmt"

	"github.com/veil-network/veil/chain/bank"
	"github.com/veil-network/veil/chain/types"
)

// Name is the module name and state prefix.
const Name = "auth"

var (
	prefixNonce = []byte("auth/nonce/")
	keyParams   = []byte("auth/params")
)

// Fee destinations.
const (
	FeeToTreasury = "treasury"
	FeeBurn       = "burn"
)

// TreasuryAccount receives fees (and, in later modules, slashed funds).
var TreasuryAccount = types.ModuleAccount("treasury")

// Params price and bound transactions.
type Params struct {
	// FeePerByte prices the bandwidth and storage of the raw transaction.
	FeePerByte types.Amount `json:"fee_per_byte"`
	// FeePerMessage prices execution: each message type has a weight
	// (1 for a transfer) multiplied by this.
	FeePerMessage types.Amount `json:"fee_per_message"`
	// FeeDestination is "treasury" or "burn".
	FeeDestination string `json:"fee_destination"`
	MaxTxBytes     int    `json:"max_tx_bytes"`
	MaxMessages    int    `json:"max_messages"`
	MaxMemoBytes   int    `json:"max_memo_bytes"`
	// MaxTxLifetime bounds expiry_height - current height, so a signed
	// transaction cannot wait indefinitely for a chance to be replayed
	// into a different state.
	MaxTxLifetime uint64 `json:"max_tx_lifetime"`
}

// DefaultMaxTxBytes fits a contract code upload (contracts'
// max_upload_bytes, 2 MiB) plus 64 KiB for the envelope, fee and memo.
// Other messages keep their own, much smaller limits, and the per-byte
// fee prices the size.
const DefaultMaxTxBytes = 2<<20 + 64<<10

// DefaultParams: a transfer (~190 bytes, one message) costs about 0.0003
// tokens of 12 decimals.
func DefaultParams() Params {
	return Params{
		FeePerByte:     types.NewAmount(1_000_000),
		FeePerMessage:  types.NewAmount(100_000_000),
		FeeDestination: FeeToTreasury,
		MaxTxBytes:     DefaultMaxTxBytes,
		MaxMessages:    64,
		MaxMemoBytes:   256,
		MaxTxLifetime:  14_400,
	}
}

// Validate checks parameter sanity.
func (p Params) Validate() error {
	if p.FeeDestination != FeeToTreasury && p.FeeDestination != FeeBurn {
		return fmt.Errorf("fee_destination must be %q or %q, got %q", FeeToTreasury, FeeBurn, p.FeeDestination)
	}
	if p.MaxTxBytes <= 0 || p.MaxMessages <= 0 || p.MaxMemoBytes < 0 || p.MaxTxLifetime == 0 {
		return fmt.Errorf("max_tx_bytes, max_messages and max_tx_lifetime must be positive")
	}
	return nil
}

// Limits derives decoding limits.
func (p Params) Limits() Limits {
	return Limits{MaxTxBytes: p.MaxTxBytes, MaxMessages: p.MaxMessages, MaxMemoBytes: p.MaxMemoBytes}
}

// RequiredFee is len(raw)*FeePerByte + sum(weights)*FeePerMessage.
func (p Params) RequiredFee(txBytes int, msgs []types.Msg) (types.Amount, error) {
	fee, ok := p.FeePerByte.Mul64(uint64(txBytes))
	var weight uint64
	for _, m := range msgs {
		weight += m.Weight()
	}
	perMsg, ok2 := p.FeePerMessage.Mul64(weight)
	if ok && ok2 {
		fee, ok = fee.Add(perMsg)
	}
	if !ok || !ok2 {
		return types.Amount{}, types.Errf(types.CodeOverflow, "required fee overflows")
	}
	return fee, nil
}

// Module implements types.Module.
type Module struct {
	bank *bank.Module
	// ParamsModule provides Params, SetParams and the genesis methods. Its
	// cache keys the decoded parameters by their stored bytes, so the
	// per-transaction read is a byte comparison, not a JSON decode. It is
	// deterministic: a change of the stored bytes is seen at once.
	types.ParamsModule[Params, paramsSpec]
}

// New returns the auth module paying fees through bank.
func New(b *bank.Module) *Module { return &Module{bank: b} }

// Name implements types.Module.
func (*Module) Name() string { return Name }

// RegisterMessages implements types.Module: auth has no messages.
func (*Module) RegisterMessages(*types.Router) {}

// paramsSpec places the parameters under keyParams, with DefaultParams as
// the defaults of an empty genesis section (types.ParamsModule).
type paramsSpec struct{}

func (paramsSpec) Name() string     { return Name }
func (paramsSpec) Key() []byte      { return keyParams }
func (paramsSpec) Defaults() Params { return DefaultParams() }

// NonceKey is the provable state key of an account's next nonce.
func NonceKey(a types.AccountID) []byte {
	return append(append(make([]byte, 0, len(prefixNonce)+32), prefixNonce...), a[:]...)
}

// Nonce is the account's next expected nonce.
func Nonce(s types.KVStore, a types.AccountID) uint64 { return types.GetUint64(s, NonceKey(a)) }

func setNonce(s types.KVStore, a types.AccountID, n uint64) { types.SetUint64(s, NonceKey(a), n) }

// Ante authenticates tx against state (signature already verified) and
// charges it: chain id, expiry, nonce, fee. On success the nonce is used
// and the fee paid, whatever the messages then do: a failing transaction
// still cost the network its work.
func (m *Module) Ante(ctx *types.Context, tx *Tx) error {
	p := m.Params(ctx.Store)
	b := tx.Body
	if b.GetChainId() != ctx.ChainID {
		return types.Errf(types.CodeWrongChainID, "transaction is for chain %q, this is %q", truncateID(b.GetChainId()), ctx.ChainID)
	}
	h := uint64(ctx.Height)
	if b.GetExpiryHeight() < h {
		return types.Errf(types.CodeTxExpired, "transaction expired at height %d (now %d)", b.GetExpiryHeight(), h)
	}
	if b.GetExpiryHeight()-h > p.MaxTxLifetime {
		return types.Errf(types.CodeExpiryTooFar, "expiry height %d is more than %d blocks ahead of %d", b.GetExpiryHeight(), p.MaxTxLifetime, h)
	}
	next := Nonce(ctx.Store, tx.Sender)
	switch n := b.GetNonce(); {
	case n < next:
		return types.Errf(types.CodeStaleNonce, "nonce %d already used (next is %d)", n, next)
	case n > next:
		return types.Errf(types.CodeFutureNonce, "nonce %d is ahead of the next nonce %d", n, next)
	}
	required, err := p.RequiredFee(len(tx.Raw), tx.Msgs)
	if err != nil {
		return err
	}
	if tx.Fee.Cmp(required) < 0 {
		return types.Errf(types.CodeInsufficientFee, "fee %s is below the required %s", tx.Fee, required)
	}
	if !tx.Fee.IsZero() {
		if p.FeeDestination == FeeBurn {
			err = m.bank.Burn(ctx, tx.Sender, tx.Fee)
		} else {
			err = m.bank.Move(ctx, tx.Sender, TreasuryAccount, tx.Fee)
		}
		if err != nil {
			return types.Errf(types.CodeInsufficientFunds, "cannot pay fee %s: %v", tx.Fee, err)
		}
	}
	setNonce(ctx.Store, tx.Sender, next+1)
	return nil
}

func truncateID(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
