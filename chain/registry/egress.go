package registry

import (
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// TopicSynced is the egress topic on which a worker reports how far its
// light client has verified the chain (a registryv1.SyncReport), as Phala
// workers report through their egress queue. The registry receives every
// egress topic under "registry" (app.NewModuleSet wires it).
const TopicSynced = Name + "/synced"

var prefixSynced = []byte("registry/synced/")

// SyncedKey is the provable state key of a worker's latest sync report.
func SyncedKey(identity []byte) []byte {
	return append(append(make([]byte, 0, len(prefixSynced)+len(identity)), prefixSynced...), identity...)
}

// AuthorizeEgress implements mq.EgressSenders: only a registered worker
// whose attestation is still valid at this height may send egress. A
// stale worker's messages wait (at the relayer) until it re-attests, so a
// worker whose platform or code is no longer trusted cannot act on chain.
func (m *Module) AuthorizeEgress(ctx *types.Context, identity [32]byte) error {
	rec := Worker(ctx.Store, identity[:])
	if rec == nil {
		return errf(CodeWorkerNotRegistered, "worker %s is not registered: its egress is not accepted", types.HexID(identity[:]))
	}
	if IsStale(rec, ctx.Height) {
		return errf(CodeWorkerStale, "worker %s is stale since height %d: its egress is accepted again once it re-attests", types.HexID(identity[:]), rec.GetExpiresAt())
	}
	return nil
}

// HandleEgress implements mq.EgressHandler for the "registry" topics:
// "registry/master_key" and "registry/master_key_handover" from
// gatekeepers (gatekeeper.go), and "registry/synced", the worker's sync
// report.
func (m *Module) HandleEgress(ctx *types.Context, sender [32]byte, topic string, payload []byte) error {
	switch topic {
	case TopicSynced:
		return handleSynced(ctx, sender, payload)
	case TopicMasterKey:
		return m.handleMasterKey(ctx, sender, payload)
	case TopicMasterKeyHandover:
		return m.handleHandover(ctx, sender, payload)
	}
	return types.Errf(types.CodeInvalidRequest, "unknown registry egress topic %q (want %s, %s or %s)", truncate(topic), TopicSynced, TopicMasterKey, TopicMasterKeyHandover)
}

// handleSynced records a worker's sync report. It is what makes a worker's
// progress visible on chain ('veil query workers' shows it) and closes the
// loop of a ping: an account pushes {"op":"ping"} to the worker's ingress
// topic, the worker processes it (only after verifying it against an app
// hash its light client verified) and answers with a report naming the
// ping's sequence, which lands here as an event.
func handleSynced(ctx *types.Context, sender [32]byte, payload []byte) error {
	// Unknown fields are dropped: the record keeps only what this version
	// understands, so a worker cannot park arbitrary bytes in state.
	var rep registryv1.SyncReport
	if err := (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(payload, &rep); err != nil {
		return types.Errf(types.CodeInvalidRequest, "malformed sync report: %v", err)
	}
	// A worker can only have verified headers the chain has produced.
	if h := rep.GetSyncedHeight(); h <= 0 || h > ctx.Height {
		return types.Errf(types.CodeInvalidRequest, "sync report height %d is outside 1..%d", h, ctx.Height)
	}
	if len(rep.GetPingTopic()) > 128 {
		return types.Errf(types.CodeInvalidRequest, "ping topic longer than 128 bytes")
	}
	types.SetProto(ctx.Store, SyncedKey(sender[:]), &registryv1.WorkerSync{Report: &rep, ReportedAt: ctx.Height})
	if ctx.Emitting() {
		attrs := []types.Attr{
			{Key: "worker", Value: types.HexID(sender[:])},
			{Key: "synced_height", Value: strconv.FormatInt(rep.GetSyncedHeight(), 10)},
		}
		if rep.GetPing() {
			attrs = append(attrs, types.Attr{Key: "ping_topic", Value: rep.GetPingTopic()},
				types.Attr{Key: "ping_sequence", Value: strconv.FormatUint(rep.GetPingSequence(), 10)})
		}
		ctx.Emit("worker_synced", attrs...)
	}
	return nil
}

// WorkerSynced reads a worker's latest sync report (nil if none).
func WorkerSynced(s types.KVStore, identity []byte) *registryv1.WorkerSync {
	ws := &registryv1.WorkerSync{}
	if !types.GetProto(s, SyncedKey(identity), ws) {
		return nil
	}
	return ws
}
