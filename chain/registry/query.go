package registry

import (
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/veil-network/veil/chain/types"
	registryv1 "github.com/veil-network/veil/gen/veil/registry/v1"
)

// HPKESuiteView is a record's HPKE suite ids in query results.
type HPKESuiteView struct {
	KEM  uint32 `json:"kem_id"`
	KDF  uint32 `json:"kdf_id"`
	AEAD uint32 `json:"aead_id"`
}

// WorkerView is a worker record as the "worker" and "workers" queries
// return it: hex keys, the operator in SS58, and the stale flag computed
// at the query's height.
type WorkerView struct {
	Identity      string        `json:"identity"`
	Operator      string        `json:"operator"`
	TEEKind       string        `json:"tee_kind"`
	Measurement   string        `json:"measurement"`
	TCBStatus     string        `json:"tcb_status"`
	AdvisoryIDs   []string      `json:"advisory_ids"`
	Confidence    uint32        `json:"confidence"`
	RegisteredAt  int64         `json:"registered_at"`
	AttestedAt    int64         `json:"attested_at"`
	ExpiresAt     int64         `json:"expires_at"`
	Stale         bool          `json:"stale"`
	Simulated     bool          `json:"simulated"`
	Version       string        `json:"version"`
	HPKEPublicKey string        `json:"hpke_public_key"`
	HPKESuite     HPKESuiteView `json:"hpke_suite"`
	// SyncedHeight is the height the worker last reported its light client
	// had verified (egress "registry/synced"; 0: never), accepted in the
	// block at SyncReportedAt.
	SyncedHeight   int64 `json:"synced_height"`
	SyncReportedAt int64 `json:"sync_reported_at"`
}

// withSync adds the worker's latest sync report to a view.
func withSync(s types.KVStore, v WorkerView, identity []byte) WorkerView {
	if ws := WorkerSynced(s, identity); ws != nil {
		v.SyncedHeight, v.SyncReportedAt = ws.GetReport().GetSyncedHeight(), ws.GetReportedAt()
	}
	return v
}

// MeasurementView is an allowlist entry in query results.
type MeasurementView struct {
	ID      string `json:"id"`
	Label   string `json:"label"`
	AddedAt int64  `json:"added_at"`
}

// WorkerQuery is the argument of the "worker" query.
type WorkerQuery struct {
	// Identity is the 32-byte identity key in hex, with or without 0x.
	Identity string `json:"identity"`
}

// View renders a record for queries at height.
func View(r *registryv1.WorkerRecord, height int64, prefix uint16) WorkerView {
	op, _ := types.AccountFromBytes(r.GetOperator())
	adv := r.GetAdvisoryIds()
	if adv == nil {
		adv = []string{}
	}
	s := r.GetHpkeSuite()
	return WorkerView{
		Identity: types.HexID(r.GetIdentity()), Operator: op.Address(prefix), TEEKind: r.GetTeeKind(),
		Measurement: r.GetMeasurementId(), TCBStatus: r.GetTcbStatus(), AdvisoryIDs: adv,
		Confidence: r.GetConfidence(), RegisteredAt: r.GetRegisteredAt(), AttestedAt: r.GetAttestedAt(),
		ExpiresAt: r.GetExpiresAt(), Stale: IsStale(r, height), Simulated: r.GetSimulated(),
		Version: r.GetVersion(), HPKEPublicKey: types.HexID(r.GetHpkePublicKey()),
		HPKESuite: HPKESuiteView{KEM: s.GetKemId(), KDF: s.GetKdfId(), AEAD: s.GetAeadId()},
	}
}

// ParseIdentity decodes a hex identity (with or without 0x).
func ParseIdentity(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != IdentitySize {
		return nil, types.Errf(types.CodeInvalidRequest, "identity must be %d bytes of hex, got %q", IdentitySize, truncate(s))
	}
	return b, nil
}

// Query implements types.Querier: "workers" (every worker sorted by
// identity), "worker" ({"identity": hex}), "measurements" (the allowlist,
// sorted by id), "params" and "gatekeepers" (gatekeepers by index, master-key
// epochs, the current epoch).
func (m *Module) Query(ctx *types.Context, path string, args []byte) (any, error) {
	switch path {
	case "workers":
		out := []WorkerView{}
		var ids [][]byte
		ctx.Store.Iterate(prefixWorker, func(_, v []byte) bool {
			r := &registryv1.WorkerRecord{}
			types.DecodeProto(v, r)
			out = append(out, View(r, ctx.Height, ctx.SS58Prefix))
			ids = append(ids, r.GetIdentity())
			return true
		})
		// Sync reports are read after the iteration, not inside it.
		for i := range out {
			out[i] = withSync(ctx.Store, out[i], ids[i])
		}
		return out, nil
	case "worker":
		var q WorkerQuery
		if err := json.Unmarshal(args, &q); err != nil {
			return nil, types.Errf(types.CodeInvalidRequest, "arguments must be {\"identity\": hex}: %v", err)
		}
		id, err := ParseIdentity(q.Identity)
		if err != nil {
			return nil, err
		}
		r := Worker(ctx.Store, id)
		if r == nil {
			return nil, types.Errf(types.CodeNotFound, "no worker %s", types.HexID(id))
		}
		return withSync(ctx.Store, View(r, ctx.Height, ctx.SS58Prefix), id), nil
	case "measurements":
		out := []MeasurementView{}
		ctx.Store.Iterate(prefixMeasurement, func(k, v []byte) bool {
			var e measurementEntry
			if err := json.Unmarshal(v, &e); err != nil {
				panic(&types.StoreFailure{Err: err})
			}
			out = append(out, MeasurementView{ID: string(k[len(prefixMeasurement):]), Label: e.Label, AddedAt: e.AddedAt})
			return true
		})
		return out, nil
	case "params":
		return m.Params(ctx.Store), nil
	case "gatekeepers":
		return gatekeepersView(ctx.Store), nil
	}
	return nil, types.Errf(types.CodeInvalidRequest, "unknown registry query %q (workers, worker, measurements, params, gatekeepers)", truncate(path))
}
