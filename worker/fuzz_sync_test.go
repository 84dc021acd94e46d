package worker

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	cmttypes "github.com/cometbft/cometbft/types"
	"google.golang.org/protobuf/proto"

	workerv1 "github.com/veil-network/veil/gen/veil/worker/v1"
	"github.com/veil-network/veil/worker/lightclient/lctest"
)

// signedChain builds n consecutive light blocks of chainID signed by a
// fresh 4-validator set.
func signedChain(tb testing.TB, chainID string, n int) []*cmttypes.LightBlock {
	return lctest.New(chainID, 4).Blocks(tb, 1, int64(n))
}

// FuzzSyncInputs feeds arbitrary bytes to the worker's sync API (decoded
// as each request type) and to its decoders: nothing panics, the verified
// height never exceeds what the genuine chain signed, the light client is
// never frozen by unsigned junk, and no message is ever processed (no
// proof can verify against the synthetic chain's zero app hashes).
func FuzzSyncInputs(f *testing.F) {
	const chainID = "fuzz-chain"
	w, err := New(context.Background(), Config{Home: f.TempDir(), TEE: "simulated", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	gh := bytes.Repeat([]byte{9}, 32)
	if err := w.bind(chainID, gh); err != nil {
		f.Fatal(err)
	}
	chain := signedChain(f, chainID, 4)
	vsp, _ := chain[0].ValidatorSet.ToProto()
	vsb, _ := vsp.Marshal()
	if _, err := w.sync.initTrustRoot(&workerv1.InitTrustRootRequest{Root: &workerv1.InitTrustRootRequest_Explicit{Explicit: &workerv1.TrustRoot{
		ChainId: chainID, GenesisHash: gh, InitialHeight: 1, ValidatorSet: vsb}}}); err != nil {
		f.Fatal(err)
	}
	// Checkpoints are exercised by the integration tests; here they would
	// only make every accepted input wait for fsync.
	w.sync.store = &syncStore{}
	var raws [][]byte
	for _, lb := range chain {
		p, _ := lb.ToProto()
		b, _ := p.Marshal()
		raws = append(raws, b)
	}
	sh, _ := proto.Marshal(&workerv1.SyncHeadersRequest{LightBlocks: raws[:2], ChainHeight: 4})
	dm, _ := proto.Marshal(&workerv1.DispatchMessagesRequest{Version: 1, Topics: []*workerv1.TopicMessages{{Topic: "system",
		Messages: []*workerv1.ProvenMessage{{Sequence: 0, Message: []byte{1}, Proof: []byte{0x0a, 0x02, 0x0a, 0x00}}}}}})
	// A compressed batch proof whose path points into an empty table.
	bp, _ := proto.Marshal(&workerv1.DispatchMessagesRequest{Version: 1, Topics: []*workerv1.TopicMessages{{Topic: "system",
		Messages: []*workerv1.ProvenMessage{{Sequence: 0, Message: []byte{1}}}, BatchProof: []byte{0x22, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0x22, 0x00}}}})
	tr, _ := proto.Marshal(&workerv1.InitTrustRootRequest{Root: &workerv1.InitTrustRootRequest_GenesisJson{GenesisJson: []byte(`{"chain_id":"x"}`)}})
	f.Add(uint8(0), sh)
	f.Add(uint8(1), dm)
	f.Add(uint8(1), bp)
	f.Add(uint8(2), tr)
	f.Add(uint8(3), raws[2])
	f.Add(uint8(3), vsb)
	f.Add(uint8(4), []byte(`{"op":"ping"}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		switch which % 5 {
		case 0:
			var req workerv1.SyncHeadersRequest
			if proto.Unmarshal(body, &req) == nil {
				_, _ = w.sync.syncHeaders(&req)
			}
		case 1:
			var req workerv1.DispatchMessagesRequest
			if proto.Unmarshal(body, &req) == nil {
				_, _ = w.sync.dispatch(&req)
			}
		case 2:
			var req workerv1.InitTrustRootRequest
			if proto.Unmarshal(body, &req) == nil {
				_, _, _ = decodeTrustRoot(&req)
			}
		case 3:
			_, _ = decodeLightBlock(body)
			_, _ = decodeValidatorSet(body)
			_, _ = decodeProof(body)
		case 4:
			_, _ = parseCommand(body)
		}
		synced, st := w.sync.status()
		if synced > 4 || st.GetConflict() != nil || st.GetMessagesProcessed() != 0 {
			t.Fatalf("fuzz input changed the worker beyond the genuine chain: synced %d, %v", synced, st)
		}
	})
}
