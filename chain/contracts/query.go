package contracts

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/veil-network/veil/chain/mq"
	"github.com/veil-network/veil/chain/types"
	contractsv1 "github.com/veil-network/veil/gen/veil/contracts/v1"
)

// Query limits.
const (
	DefaultQueryLimit = 100
	MaxQueryLimit     = 1000
)

// AssignmentView is one history entry in a ContractView.
type AssignmentView struct {
	Height  int64    `json:"height"`
	Workers []string `json:"workers"`
	Reason  string   `json:"reason"`
}

// ContractView is a contract as the "contract" and "contracts" queries
// return it.
type ContractView struct {
	ID               string           `json:"id"`
	CodeHash         string           `json:"code_hash"`
	Deployer         string           `json:"deployer"`
	Account          string           `json:"account"`
	Replicas         uint32           `json:"replicas"`
	Label            string           `json:"label"`
	InstantiatedAt   int64            `json:"instantiated_at"`
	KeyEpoch         uint64           `json:"key_epoch"`
	HPKEPublicKey    []byte           `json:"hpke_public_key"` // base64
	SigningPublicKey string           `json:"signing_public_key"`
	KeysPublished    bool             `json:"keys_published"`
	KeysPublishedAt  int64            `json:"keys_published_at"`
	Workers          []string         `json:"workers"`
	History          []AssignmentView `json:"history"`
	NextSequence     uint64           `json:"next_sequence"`
	EgressAfter      uint64           `json:"egress_after"`
	HasEgress        bool             `json:"has_egress"`
}

// CodeView is a CodeRecord in the "code" query.
type CodeView struct {
	CodeHash   string `json:"code_hash"`
	Size       uint64 `json:"size"`
	Uploader   string `json:"uploader"`
	UploadedAt int64  `json:"uploaded_at"`
}

// RootView is one reported state root in the "roots" query.
type RootView struct {
	Sequence  uint64 `json:"sequence"`
	Worker    string `json:"worker"`
	StateRoot string `json:"state_root"`
	Height    int64  `json:"height"`
	Disputed  bool   `json:"disputed"`
}

func hexList(ws [][]byte) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = types.HexID(w)
	}
	return out
}

// View renders a contract record for queries.
func View(s types.KVStore, r *contractsv1.ContractRecord, prefix uint16) ContractView {
	dep, _ := types.AccountFromBytes(r.GetDeployer())
	acc, _ := types.AccountFromBytes(r.GetAccount())
	v := ContractView{
		ID: types.HexID(r.GetId()), CodeHash: types.HexID(r.GetCodeHash()), Deployer: dep.Address(prefix), Account: acc.Address(prefix),
		Replicas: r.GetReplicas(), Label: r.GetLabel(), InstantiatedAt: r.GetInstantiatedAt(), KeyEpoch: r.GetKeyEpoch(),
		HPKEPublicKey: r.GetHpkePublicKey(), KeysPublished: len(r.GetHpkePublicKey()) > 0, KeysPublishedAt: r.GetKeysPublishedAt(),
		Workers: hexList(r.GetWorkers()), History: []AssignmentView{},
		NextSequence: mq.NextSequence(s, mq.ContractTopic([32]byte(r.GetId()))),
		EgressAfter:  r.GetEgressAfter(), HasEgress: r.GetHasEgress(),
	}
	if len(r.GetSigningPublicKey()) > 0 {
		v.SigningPublicKey = types.HexID(r.GetSigningPublicKey())
	}
	for _, h := range r.GetHistory() {
		v.History = append(v.History, AssignmentView{Height: h.GetHeight(), Workers: hexList(h.GetWorkers()), Reason: h.GetReason()})
	}
	return v
}

// ParseHash32 decodes 32 bytes of hex, with or without 0x.
func ParseHash32(s, what string) ([32]byte, error) {
	s = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(s), "0x"), "0X")
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return [32]byte{}, types.Errf(types.CodeInvalidRequest, "%s must be 32 bytes of hex", what)
	}
	return [32]byte(b), nil
}

// QueryArgs are the arguments of the module's queries.
type QueryArgs struct {
	ID    string `json:"id"`
	Hash  string `json:"hash"`
	After string `json:"after"`
	From  uint64 `json:"from"`
	Limit int    `json:"limit"`
}

// Query implements types.Querier:
//
//	contract  {"id"}                 ContractView
//	contracts {"after"?, "limit"?}   {contracts: [ContractView] by id, next: id of the last or ""}
//	code      {"hash"}               CodeView (the bytes: QueryState at CodeKey)
//	roots     {"id", "from"?, "limit"?}  {roots: [RootView] by sequence}
//	params                           Params
func (m *Module) Query(ctx *types.Context, path string, args []byte) (any, error) {
	var a QueryArgs
	if len(args) > 0 {
		if err := json.Unmarshal(args, &a); err != nil {
			return nil, types.Errf(types.CodeInvalidRequest, "arguments: %v", err)
		}
	}
	if a.Limit <= 0 || a.Limit > MaxQueryLimit {
		a.Limit = DefaultQueryLimit
	}
	switch path {
	case "contract":
		id, err := ParseHash32(a.ID, "id")
		if err != nil {
			return nil, err
		}
		r := Contract(ctx.Store, id)
		if r == nil {
			return nil, types.Errf(types.CodeNotFound, "no contract %s", types.HexID(id[:]))
		}
		return View(ctx.Store, r, ctx.SS58Prefix), nil
	case "contracts":
		start := prefixContract
		if a.After != "" {
			after, err := ParseHash32(a.After, "after")
			if err != nil {
				return nil, err
			}
			start = append(ContractKey(after), 0) // strictly after
		}
		var recs []*contractsv1.ContractRecord
		more := false
		ctx.Store.Iterate(prefixContract, func(k, v []byte) bool {
			if string(k) < string(start) {
				return true
			}
			if len(recs) == a.Limit {
				more = true
				return false
			}
			r := &contractsv1.ContractRecord{}
			types.DecodeProto(v, r)
			recs = append(recs, r)
			return true
		})
		out := struct {
			Contracts []ContractView `json:"contracts"`
			Next      string         `json:"next"`
		}{Contracts: []ContractView{}}
		for _, r := range recs {
			out.Contracts = append(out.Contracts, View(ctx.Store, r, ctx.SS58Prefix))
		}
		if more {
			out.Next = out.Contracts[len(out.Contracts)-1].ID
		}
		return out, nil
	case "code":
		h, err := ParseHash32(a.Hash, "hash")
		if err != nil {
			return nil, err
		}
		r := Code(ctx.Store, h)
		if r == nil {
			return nil, types.Errf(types.CodeNotFound, "no code %s", types.HexID(h[:]))
		}
		up, _ := types.AccountFromBytes(r.GetUploader())
		return CodeView{CodeHash: types.HexID(r.GetCodeHash()), Size: r.GetSize(), Uploader: up.Address(ctx.SS58Prefix), UploadedAt: r.GetUploadedAt()}, nil
	case "roots":
		id, err := ParseHash32(a.ID, "id")
		if err != nil {
			return nil, err
		}
		if Contract(ctx.Store, id) == nil {
			return nil, types.Errf(types.CodeNotFound, "no contract %s", types.HexID(id[:]))
		}
		out := struct {
			Roots []RootView `json:"roots"`
		}{Roots: []RootView{}}
		p := key(prefixRoot, id[:])
		from := RootKey(id, a.From)
		ctx.Store.Iterate(p, func(k, v []byte) bool {
			if string(k) < string(from) || len(k) != len(p)+8 {
				return true
			}
			if len(out.Roots) == a.Limit {
				return false
			}
			r := &contractsv1.StateRootRecord{}
			types.DecodeProto(v, r)
			out.Roots = append(out.Roots, RootView{Sequence: binary.BigEndian.Uint64(k[len(p):]), Worker: types.HexID(r.GetWorker()),
				StateRoot: types.HexID(r.GetStateRoot()), Height: r.GetHeight(), Disputed: r.GetDisputed()})
			return true
		})
		return out, nil
	case "params":
		return m.Params(ctx.Store), nil
	}
	return nil, types.Errf(types.CodeInvalidRequest, "unknown contracts query %q (contract, contracts, code, roots, params)", path)
}
