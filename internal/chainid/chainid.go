// Package chainid computes the OCI image-spec chain ids of a stack of
// layers, the one home for them (docs/formats.md): the chain id of a base
// layer is its diff id, and of every layer above,
// sha256(chain id below + " " + diff id).
package chainid

import (
	"crypto/sha256"
	"encoding/hex"
)

// Next is the chain id of a layer of diff id diff over the chain parent
// ("" for a base layer).
func Next(parent, diff string) string {
	if parent == "" {
		return diff
	}
	sum := sha256.Sum256([]byte(parent + " " + diff))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// All is the chain id of every layer of diffIDs, base first. A loop,
// where image-spec's identity.ChainIDs recurses once per layer.
func All(diffIDs []string) []string {
	out := make([]string, len(diffIDs))
	parent := ""
	for i, d := range diffIDs {
		out[i] = Next(parent, d)
		parent = out[i]
	}
	return out
}
