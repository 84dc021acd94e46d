package app

import "github.com/veil-network/veil/chain/store"

func storeVerify(root []byte, p *store.Proven, key, value []byte) error {
	return store.VerifyProof(root, p.Proof, key, value)
}
