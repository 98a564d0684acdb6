package layerstore

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/distribution/reference"
)

// tagEntry is one name of a tag store, normalised.
type tagEntry struct {
	key     string // normalised reference ("docker.io/library/busybox:latest"); "" if unparseable
	display string // the short form Docker prints ("busybox:latest"), or the raw text
	id      string // image id (64 hex); "" when err is set
	err     error  // why the entry cannot be used
}

// tagFile is the shape of both repositories-aufs and repositories.json.
type tagFile struct {
	Repositories map[string]map[string]string `json:"Repositories"`
}

// normalizeRef parses a reference the way docker does: familiar names
// get docker.io/library/, a bare name gets :latest, and a reference with
// both a tag and a digest keeps only the digest.
func normalizeRef(s string) (reference.Named, error) {
	return reference.ParseDockerRef(s)
}

// parseGraphTags parses a pre-1.10 repositories-aufs: repository name,
// then tag, then bare image id. A tag of the form sha256:<hex> is a digest.
func parseGraphTags(data []byte) ([]tagEntry, error) {
	return parseTags(data, func(repo, tag string) string {
		if strings.HasPrefix(tag, sha256Prefix) {
			return repo + "@" + tag
		}
		return repo + ":" + tag
	})
}

// parseCASTags parses a 1.10+ repositories.json, whose inner keys are
// whole references ("busybox:latest", "busybox@sha256:...") and values
// "sha256:<image id>". The outer key is redundant and, as in Docker, unused.
func parseCASTags(data []byte) ([]tagEntry, error) {
	return parseTags(data, func(_, key string) string { return key })
}

func parseTags(data []byte, refOf func(repo, tag string) string) ([]tagEntry, error) {
	var tf tagFile
	if err := json.Unmarshal(data, &tf); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	var out []tagEntry
	for _, repo := range sortedKeys(tf.Repositories) {
		tags := tf.Repositories[repo]
		for _, tag := range sortedKeys(tags) {
			out = append(out, makeTagEntry(refOf(repo, tag), tags[tag]))
		}
	}
	return out, nil
}

func makeTagEntry(ref, target string) tagEntry {
	e := tagEntry{display: ref}
	named, err := normalizeRef(ref)
	if err != nil {
		e.err = fmt.Errorf("tag %q: %w", clip(ref), err)
		return e
	}
	e.key = named.String()
	e.display = reference.FamiliarString(named)
	// Both layouts are accepted with or without the sha256: prefix; what
	// matters is that the target is an id and never a path.
	id := strings.TrimPrefix(target, sha256Prefix)
	if !isHexID(id) {
		e.err = fmt.Errorf("tag %s: target %q is not an image id", e.display, clip(target))
		return e
	}
	e.id = id
	return e
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
