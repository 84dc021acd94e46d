package relay

import (
	"context"
	"encoding/hex"
	"fmt"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/veil-network/veil/chain/compute"
	computev1 "github.com/veil-network/veil/gen/veil/compute/v1"
)

// computeStep keeps a registered worker computing when the relayer was
// asked to (Config.ComputeStake): it binds the worker to the operator,
// then, once the worker has reported its benchmark score, starts
// computing with max(ComputeStake, the minimum k·√P). A worker the
// operator stopped is started again after its cool-down and reclaim:
// the relayer is the operator's agent, and this is the operator's stated
// intent. Without ComputeStake it does nothing (operators then use
// 'veil tx compute bind|start').
func (r *Relayer) computeStep(ctx context.Context, identity []byte) error {
	if r.cfg.ComputeStake == nil {
		return nil
	}
	var w compute.WorkerView
	_, err := r.cfg.Node.QueryModule(ctx, compute.Name, "worker", compute.QueryArgs{Identity: hex.EncodeToString(identity)}, &w)
	switch {
	case connect.CodeOf(err) == connect.CodeNotFound:
		r.log.Info("binding the worker to the operator for computing", "identity", hex.EncodeToString(identity))
		return r.sendCompute(ctx, "bind", &computev1.MsgBind{Worker: identity})
	case err != nil:
		return fmt.Errorf("compute record: %w", err)
	}
	if w.State != compute.StateReady {
		return nil
	}
	if w.Score == 0 {
		r.wait("compute", "the worker is bound; computing starts once its benchmark score is on chain", r.log.Info)
		return nil
	}
	r.clearWait("compute")
	var p compute.Params
	if _, err := r.cfg.Node.QueryModule(ctx, compute.Name, "params", nil, &p); err != nil {
		return fmt.Errorf("compute params: %w", err)
	}
	stake := *r.cfg.ComputeStake
	if min, ok := compute.MinStake(p.MinStakeK, w.Score); ok && stake.Cmp(min) < 0 {
		stake = min
	}
	r.log.Info("starting to compute", "identity", hex.EncodeToString(identity), "score", w.Score, "stake", stake.String())
	return r.sendCompute(ctx, "start computing", &computev1.MsgStartComputing{Worker: identity, Stake: stake.String()})
}

func (r *Relayer) sendCompute(ctx context.Context, what string, msg proto.Message) error {
	if _, err := r.txs.send(ctx, []proto.Message{msg}); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
