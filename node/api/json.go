package api

import (
	cmtjsonlib "github.com/cometbft/cometbft/libs/json"
	cmttypes "github.com/cometbft/cometbft/types"
)

// cmtjson encodes the genesis doc canonically (CometBFT's JSON), so the
// genesis hash is the same on every node that loaded the same document.
func cmtjson(g *cmttypes.GenesisDoc) ([]byte, error) { return cmtjsonlib.Marshal(g) }
