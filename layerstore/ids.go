package layerstore

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

const sha256Prefix = "sha256:"

// isHexID says whether s is a full image, layer or container id: 64
// lowercase hex digits. Every name read from a store file must pass this
// (or isLayerName) before it is joined to a path.
func isHexID(s string) bool {
	return len(s) == 64 && isHex(s)
}

// isHex says whether s is non-empty lowercase hex.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// isLayerName says whether s may name a directory under aufs/diff: a
// 64-hex id, optionally followed by "-init" (a container's init layer).
func isLayerName(s string) bool {
	return isHexID(strings.TrimSuffix(s, "-init"))
}

// parseDigest returns the hex of a "sha256:<64 hex>" digest.
func parseDigest(s string) (string, error) {
	hex, ok := strings.CutPrefix(s, sha256Prefix)
	if !ok || !isHexID(hex) {
		return "", fmt.Errorf("%q is not a sha256 digest", clip(s))
	}
	return hex, nil
}

// checkID returns an error unless s is a 64-hex id; what says what s is.
func checkID(what, s string) error {
	if !isHexID(s) {
		return fmt.Errorf("%s %q is not a 64-hex id", what, clip(s))
	}
	return nil
}

// checkLayerName returns an error unless s may name an aufs/diff directory.
func checkLayerName(what, s string) error {
	if !isLayerName(s) {
		return fmt.Errorf("%s %q is not a layer id (64 hex, optionally -init)", what, clip(s))
	}
	return nil
}

// ShortID is the 12-digit form Docker prints, keeping an init layer's
// "-init" suffix so that it stays recognisable.
func ShortID(id string) string {
	const n = 12
	if base, ok := strings.CutSuffix(id, "-init"); ok && len(base) > n {
		return base[:n] + "-init"
	}
	if len(id) > n {
		return id[:n]
	}
	return id
}

// clip keeps error messages readable when a file holds garbage.
func clip(s string) string {
	const max = 100
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// contentMismatch says why data is not the content whose sha256 is want
// (64 hex): nil when it is, else its digest and what want is (what
// names it: "the image id"). A file read from a store is checked against
// what names it with this one check.
func contentMismatch(data []byte, want, what string) error {
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) == want {
		return nil
	}
	return fmt.Errorf("content digest is sha256:%x, not %s", sum, what)
}
