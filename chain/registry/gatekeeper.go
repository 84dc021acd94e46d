package registry

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/sudo"
	"github.com/veil-network/veil/chain/types"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// Gatekeepers (Phala's gatekeepers; architecture decision 9) are workers
// governance designates to hold the master-key history and serve contract
// keys. The registry keeps who they are and which master-key epochs exist,
// and talks to them through the reserved mq topic "gatekeeper"
// (contractsv1.GatekeeperMessage, origin module "registry"):
//
//	registry/gatekeeper/<identity>  protobuf GatekeeperRecord
//	registry/gk_next_index          u64 BE: index of the next designation
//	registry/master/<u64be epoch>   protobuf MasterKeyRecord
//	registry/master_epoch           u64 BE: latest requested epoch (0: none)
//	registry/handover/<recipient><u64be latest_epoch>  empty marker
//
// Master-key epochs are requested one at a time: the first when the first
// gatekeeper is designated, later ones by MsgRotateMasterKey, which is
// refused while the latest epoch is unpublished. So every epoch below the
// latest is published, and the latest published epoch is the one new
// contracts derive their keys from.

// Egress topics of the gatekeepers (received through HandleEgress).
const (
	TopicMasterKey         = Name + "/master_key"
	TopicMasterKeyHandover = Name + "/master_key_handover"
)

// SigningKeySize is the size of an ed25519 public key (master and contract
// signing keys).
const SigningKeySize = 32

var (
	prefixGatekeeper = []byte("registry/gatekeeper/")
	keyGKNextIndex   = []byte("registry/gk_next_index")
	prefixMaster     = []byte("registry/master/")
	keyMasterEpoch   = []byte("registry/master_epoch")
	prefixHandover   = []byte("registry/handover/")
)

// SetSender installs the message queue, which the registry needs to talk
// to gatekeepers and to forward master-key hand-overs. Without one, every
// gatekeeper operation fails (CodeNoMessageQueue) rather than silently
// dropping the messages gatekeepers depend on.
func (m *Module) SetSender(s mq.Sender) { m.sender = s }

// origin is the mq origin of every message the registry sends.
var origin = mq.ModuleOrigin(Name)

func (m *Module) send(ctx *types.Context, topic string, msg proto.Message) error {
	if m.sender == nil {
		return errf(CodeNoMessageQueue, "the registry has no message queue: gatekeeper messages cannot be sent")
	}
	_, err := mq.SendProto(ctx, m.sender, origin, topic, msg)
	return err
}

func (m *Module) sendGatekeepers(ctx *types.Context, gm *contractsv1.GatekeeperMessage) error {
	return m.send(ctx, mq.TopicGatekeeper, gm)
}

// GatekeeperKey is the provable state key of a gatekeeper's record.
func GatekeeperKey(identity []byte) []byte {
	return append(append(make([]byte, 0, len(prefixGatekeeper)+len(identity)), prefixGatekeeper...), identity...)
}

// MasterKeyKey is the provable state key of a master-key epoch's record.
func MasterKeyKey(epoch uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte{}, prefixMaster...), epoch)
}

func handoverKey(recipient []byte, epoch uint64) []byte {
	k := append(append([]byte{}, prefixHandover...), recipient...)
	return binary.BigEndian.AppendUint64(k, epoch)
}

// Gatekeeper reads a gatekeeper's record (nil if the identity is none).
func Gatekeeper(s types.KVStore, identity []byte) *registryv1.GatekeeperRecord {
	r := &registryv1.GatekeeperRecord{}
	if !types.GetProto(s, GatekeeperKey(identity), r) {
		return nil
	}
	return r
}

// IsGatekeeper reports whether identity is a designated gatekeeper
// (whether or not its attestation is currently valid).
func IsGatekeeper(s types.KVStore, identity []byte) bool {
	return len(identity) == IdentitySize && s.Has(GatekeeperKey(identity))
}

// Gatekeepers lists every gatekeeper in designation order (index).
func Gatekeepers(s types.KVStore) []*registryv1.GatekeeperRecord {
	var out []*registryv1.GatekeeperRecord
	s.Iterate(prefixGatekeeper, func(_, v []byte) bool {
		r := &registryv1.GatekeeperRecord{}
		types.DecodeProto(v, r)
		out = append(out, r)
		return true
	})
	slices.SortFunc(out, func(a, b *registryv1.GatekeeperRecord) int {
		return cmp.Or(cmp.Compare(a.GetIndex(), b.GetIndex()), bytes.Compare(a.GetIdentity(), b.GetIdentity()))
	})
	return out
}

// attested reports a registered worker whose attestation is valid at
// height.
func attested(s types.KVStore, identity []byte, height int64) bool {
	w := Worker(s, identity)
	return w != nil && !IsStale(w, height)
}

// activeGatekeeper reports a gatekeeper whose worker record is valid at
// height: only such a gatekeeper can answer a request.
func activeGatekeeper(s types.KVStore, identity []byte, height int64) bool {
	return IsGatekeeper(s, identity) && attested(s, identity, height)
}

// firstActiveGatekeeper is the lowest-index gatekeeper not stale at height
// (nil if none).
func firstActiveGatekeeper(s types.KVStore, height int64) []byte {
	for _, g := range Gatekeepers(s) {
		if attested(s, g.GetIdentity(), height) {
			return g.GetIdentity()
		}
	}
	return nil
}

// MasterKey reads the record of a master-key epoch (nil if not requested).
func MasterKey(s types.KVStore, epoch uint64) *registryv1.MasterKeyRecord {
	r := &registryv1.MasterKeyRecord{}
	if !types.GetProto(s, MasterKeyKey(epoch), r) {
		return nil
	}
	return r
}

func published(r *registryv1.MasterKeyRecord) bool { return r != nil && r.GetPublishedAt() != 0 }

// CurrentMasterEpoch is the latest requested master-key epoch (0: none
// yet) and whether its generator has published it.
func CurrentMasterEpoch(s types.KVStore) (epoch uint64, isPublished bool) {
	epoch = types.GetUint64(s, keyMasterEpoch)
	if epoch == 0 {
		return 0, false
	}
	return epoch, published(MasterKey(s, epoch))
}

// LatestPublishedEpoch is the newest published master-key epoch, the one
// new contracts derive their keys from (ok false: none yet). Epochs are
// requested one at a time, so it is the current epoch or the one before.
func LatestPublishedEpoch(s types.KVStore) (epoch uint64, ok bool) {
	cur, pub := CurrentMasterEpoch(s)
	switch {
	case pub:
		return cur, true
	case cur > 1:
		return cur - 1, true
	}
	return 0, false
}

func (m *Module) registerGatekeeperMessages(r *types.Router) {
	types.Handle(r, 1, m.registerGatekeeper)
	types.Handle(r, 1, m.removeGatekeeper)
	types.Handle(r, 1, m.rotateMasterKey)
}

func (m *Module) registerGatekeeper(ctx *types.Context, sender types.AccountID, msg *registryv1.MsgRegisterGatekeeper) error {
	if err := sudo.Require(ctx, sender, "register_gatekeeper"); err != nil {
		return err
	}
	id := msg.GetIdentity()
	if len(id) != IdentitySize {
		return errf(CodeInvalidWorkerInfo, "gatekeeper identity must have %d bytes, got %d", IdentitySize, len(id))
	}
	w := Worker(ctx.Store, id)
	if w == nil {
		return errf(CodeWorkerNotRegistered, "worker %s is not registered: only a registered worker can be a gatekeeper", types.HexID(id))
	}
	if IsStale(w, ctx.Height) {
		return errf(CodeWorkerStale, "worker %s is stale since height %d: it must re-attest before it can be a gatekeeper", types.HexID(id), w.GetExpiresAt())
	}
	if IsGatekeeper(ctx.Store, id) {
		return errf(CodeGatekeeperExists, "worker %s is already a gatekeeper", types.HexID(id))
	}
	idx := types.GetUint64(ctx.Store, keyGKNextIndex)
	rec := &registryv1.GatekeeperRecord{Identity: id, AddedAt: ctx.Height, Index: idx}
	types.SetProto(ctx.Store, GatekeeperKey(id), rec)
	types.SetUint64(ctx.Store, keyGKNextIndex, idx+1)
	if err := m.sendGatekeepers(ctx, &contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_GatekeeperAdded{
		GatekeeperAdded: &contractsv1.GatekeeperAdded{Identity: id, HpkePublicKey: w.GetHpkePublicKey()}}}); err != nil {
		return err
	}
	ctx.Emit("gatekeeper_added", types.Attr{Key: "gatekeeper", Value: types.HexID(id)},
		types.Attr{Key: "index", Value: strconv.FormatUint(idx, 10)})
	cur, _ := CurrentMasterEpoch(ctx.Store)
	if cur == 0 {
		return m.requestMasterKey(ctx, 1, id, "first gatekeeper")
	}
	return m.repairPendingEpoch(ctx)
}

func (m *Module) removeGatekeeper(ctx *types.Context, sender types.AccountID, msg *registryv1.MsgRemoveGatekeeper) error {
	if err := sudo.Require(ctx, sender, "remove_gatekeeper"); err != nil {
		return err
	}
	id := msg.GetIdentity()
	if !IsGatekeeper(ctx.Store, id) {
		return errf(CodeNotGatekeeper, "%s is not a gatekeeper", types.HexID(id))
	}
	if _, ok := LatestPublishedEpoch(ctx.Store); ok && len(Gatekeepers(ctx.Store)) == 1 {
		return errf(CodeLastGatekeeper, "%s is the last gatekeeper and a master key exists: designate another gatekeeper first", types.HexID(id))
	}
	ctx.Store.Delete(GatekeeperKey(id))
	if err := m.sendGatekeepers(ctx, &contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_GatekeeperRemoved{
		GatekeeperRemoved: &contractsv1.GatekeeperRemoved{Identity: id}}}); err != nil {
		return err
	}
	ctx.Emit("gatekeeper_removed", types.Attr{Key: "gatekeeper", Value: types.HexID(id)})
	return m.repairPendingEpoch(ctx)
}

// rotateMasterKey starts epoch latest+1. The generator is the publisher of
// the latest epoch if it is still an active gatekeeper (it holds the
// history already), else the lowest-index active gatekeeper. While the
// latest epoch is unpublished rotation is refused, unless its generator
// can no longer answer: then the same epoch is asked of another
// gatekeeper (the only way out of a request nobody will serve).
func (m *Module) rotateMasterKey(ctx *types.Context, sender types.AccountID, _ *registryv1.MsgRotateMasterKey) error {
	if err := sudo.Require(ctx, sender, "rotate_master_key"); err != nil {
		return err
	}
	cur, pub := CurrentMasterEpoch(ctx.Store)
	if cur != 0 && !pub {
		rec := MasterKey(ctx.Store, cur)
		if activeGatekeeper(ctx.Store, rec.GetGenerator(), ctx.Height) {
			return errf(CodeMasterKeyPending, "master-key epoch %d is still awaiting publication by %s", cur, types.HexID(rec.GetGenerator()))
		}
		gen := firstActiveGatekeeper(ctx.Store, ctx.Height)
		if gen == nil {
			return errf(CodeNoGatekeeper, "no gatekeeper with a valid attestation can generate epoch %d", cur)
		}
		return m.requestMasterKey(ctx, cur, gen, "generator unavailable")
	}
	var gen []byte
	if cur != 0 {
		if g := MasterKey(ctx.Store, cur).GetGenerator(); activeGatekeeper(ctx.Store, g, ctx.Height) {
			gen = g
		}
	}
	if gen == nil {
		gen = firstActiveGatekeeper(ctx.Store, ctx.Height)
	}
	if gen == nil {
		return errf(CodeNoGatekeeper, "no gatekeeper with a valid attestation: register one first")
	}
	return m.requestMasterKey(ctx, cur+1, gen, "rotation")
}

// repairPendingEpoch re-asks an unpublished epoch of the lowest-index
// active gatekeeper when its generator is no longer a gatekeeper (it was
// removed): otherwise the request would wait forever and block rotation.
// A generator that is merely stale keeps the request (it may re-attest);
// MsgRotateMasterKey moves it on explicitly.
func (m *Module) repairPendingEpoch(ctx *types.Context) error {
	cur, pub := CurrentMasterEpoch(ctx.Store)
	if cur == 0 || pub {
		return nil
	}
	if IsGatekeeper(ctx.Store, MasterKey(ctx.Store, cur).GetGenerator()) {
		return nil
	}
	gen := firstActiveGatekeeper(ctx.Store, ctx.Height)
	if gen == nil {
		return nil // asked again when a gatekeeper is designated
	}
	return m.requestMasterKey(ctx, cur, gen, "generator removed")
}

// requestMasterKey records epoch as requested from generator and asks it.
func (m *Module) requestMasterKey(ctx *types.Context, epoch uint64, generator []byte, reason string) error {
	types.SetProto(ctx.Store, MasterKeyKey(epoch), &registryv1.MasterKeyRecord{Epoch: epoch, Generator: generator, RequestedAt: ctx.Height})
	types.SetUint64(ctx.Store, keyMasterEpoch, epoch)
	if err := m.sendGatekeepers(ctx, &contractsv1.GatekeeperMessage{Kind: &contractsv1.GatekeeperMessage_MasterKeyRequest{
		MasterKeyRequest: &contractsv1.MasterKeyRequest{Epoch: epoch, Generator: generator}}}); err != nil {
		return err
	}
	ctx.Emit("master_key_requested", types.Attr{Key: "epoch", Value: strconv.FormatUint(epoch, 10)},
		types.Attr{Key: "generator", Value: types.HexID(generator)}, types.Attr{Key: "reason", Value: reason})
	return nil
}

// handleMasterKey accepts the generator's publication of the epoch it was
// asked for, once.
func (m *Module) handleMasterKey(ctx *types.Context, sender [32]byte, payload []byte) error {
	var p contractsv1.MasterKeyPublication
	if err := proto.Unmarshal(payload, &p); err != nil {
		return types.Errf(types.CodeInvalidRequest, "malformed master-key publication: %v", err)
	}
	rec := MasterKey(ctx.Store, p.GetEpoch())
	if rec == nil || published(rec) {
		return errf(CodeMasterKeyNotPending, "master-key epoch %d is not awaiting publication", p.GetEpoch())
	}
	if !bytes.Equal(rec.GetGenerator(), sender[:]) {
		return errf(CodeNotGenerator, "epoch %d was requested from %s, not %s", p.GetEpoch(), types.HexID(rec.GetGenerator()), types.HexID(sender[:]))
	}
	if !ValidHPKEPublicKey(p.GetHpkePublicKey()) {
		return errf(CodeInvalidMasterKey, "HPKE public key is not a valid X-Wing key (%d bytes, want %d)", len(p.GetHpkePublicKey()), HPKEPublicKeySize)
	}
	if len(p.GetSigningPublicKey()) != SigningKeySize {
		return errf(CodeInvalidMasterKey, "signing public key has %d bytes, want %d", len(p.GetSigningPublicKey()), SigningKeySize)
	}
	rec.HpkePublicKey, rec.SigningPublicKey, rec.PublishedAt = p.GetHpkePublicKey(), p.GetSigningPublicKey(), ctx.Height
	types.SetProto(ctx.Store, MasterKeyKey(rec.GetEpoch()), rec)
	ctx.Emit("master_key_published", types.Attr{Key: "epoch", Value: strconv.FormatUint(rec.GetEpoch(), 10)},
		types.Attr{Key: "generator", Value: types.HexID(sender[:])})
	return nil
}

// handleHandover forwards a gatekeeper's sealed master-key history to
// another gatekeeper, once per (recipient, latest_epoch): every holder
// answers a GatekeeperAdded, and the recipient needs only one copy.
func (m *Module) handleHandover(ctx *types.Context, sender [32]byte, payload []byte) error {
	var h contractsv1.MasterKeyHandover
	if err := proto.Unmarshal(payload, &h); err != nil {
		return types.Errf(types.CodeInvalidRequest, "malformed master-key handover: %v", err)
	}
	if !IsGatekeeper(ctx.Store, sender[:]) {
		return errf(CodeNotGatekeeper, "handover sender %s is not a gatekeeper", types.HexID(sender[:]))
	}
	rcpt := h.GetRecipient()
	if !IsGatekeeper(ctx.Store, rcpt) {
		return errf(CodeNotGatekeeper, "handover recipient %s is not a gatekeeper", types.HexID(rcpt))
	}
	if bytes.Equal(rcpt, sender[:]) {
		return types.Errf(types.CodeInvalidRequest, "a gatekeeper cannot hand the master key over to itself")
	}
	if !published(MasterKey(ctx.Store, h.GetLatestEpoch())) {
		return errf(CodeUnknownMasterEpoch, "master-key epoch %d is not published", h.GetLatestEpoch())
	}
	if len(h.GetSealed()) == 0 {
		return types.Errf(types.CodeInvalidRequest, "handover carries no sealed history")
	}
	mk := handoverKey(rcpt, h.GetLatestEpoch())
	if ctx.Store.Has(mk) {
		return errf(CodeHandoverDuplicate, "master-key history up to epoch %d was already handed to %s", h.GetLatestEpoch(), types.HexID(rcpt))
	}
	ctx.Store.Set(mk, []byte{})
	if err := m.send(ctx, mq.WorkerTopic([32]byte(rcpt)), &contractsv1.WorkerMessage{Kind: &contractsv1.WorkerMessage_MasterKey{
		MasterKey: &contractsv1.MasterKeyDelivery{LatestEpoch: h.GetLatestEpoch(), Sealed: h.GetSealed(), From: sender[:]}}}); err != nil {
		return err
	}
	ctx.Emit("master_key_handover", types.Attr{Key: "from", Value: types.HexID(sender[:])},
		types.Attr{Key: "to", Value: types.HexID(rcpt)}, types.Attr{Key: "latest_epoch", Value: strconv.FormatUint(h.GetLatestEpoch(), 10)})
	return nil
}

// GatekeeperView is a gatekeeper in the "gatekeepers" query.
type GatekeeperView struct {
	Identity string `json:"identity"`
	Index    uint64 `json:"index"`
	AddedAt  int64  `json:"added_at"`
}

// MasterKeyView is a master-key epoch in the "gatekeepers" query.
type MasterKeyView struct {
	Epoch            uint64 `json:"epoch"`
	Generator        string `json:"generator"`
	RequestedAt      int64  `json:"requested_at"`
	PublishedAt      int64  `json:"published_at"`
	HPKEPublicKey    []byte `json:"hpke_public_key"` // base64 (JSON bytes)
	SigningPublicKey string `json:"signing_public_key"`
}

// GatekeepersView is the result of the "gatekeepers" query.
type GatekeepersView struct {
	Gatekeepers  []GatekeeperView `json:"gatekeepers"`
	MasterKeys   []MasterKeyView  `json:"master_keys"`
	CurrentEpoch uint64           `json:"current_epoch"`
}

func gatekeepersView(s types.KVStore) GatekeepersView {
	v := GatekeepersView{Gatekeepers: []GatekeeperView{}, MasterKeys: []MasterKeyView{}}
	for _, g := range Gatekeepers(s) {
		v.Gatekeepers = append(v.Gatekeepers, GatekeeperView{Identity: types.HexID(g.GetIdentity()), Index: g.GetIndex(), AddedAt: g.GetAddedAt()})
	}
	s.Iterate(prefixMaster, func(_, b []byte) bool {
		r := &registryv1.MasterKeyRecord{}
		types.DecodeProto(b, r)
		mv := MasterKeyView{Epoch: r.GetEpoch(), Generator: types.HexID(r.GetGenerator()), RequestedAt: r.GetRequestedAt(),
			PublishedAt: r.GetPublishedAt(), HPKEPublicKey: r.GetHpkePublicKey()}
		if len(r.GetSigningPublicKey()) > 0 {
			mv.SigningPublicKey = types.HexID(r.GetSigningPublicKey())
		}
		v.MasterKeys = append(v.MasterKeys, mv)
		return true
	})
	v.CurrentEpoch, _ = CurrentMasterEpoch(s)
	return v
}
