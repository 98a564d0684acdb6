package storetest

import (
	"fmt"

	"github.com/distribution/reference"
)

// imageName is one name of an image, as both tag stores key it.
type imageName struct {
	repo     string // short repository name: "busybox", "user/app", "registry:5000/x/y"
	tag      string // "latest" ..., or "" for a digest name
	digest   string // "sha256:<hex>" for a digest name
	familiar string // "busybox:latest" or "busybox@sha256:<hex>"
}

// parseName reads a name of Image.Names the way docker does: no tag means
// "latest", docker.io/library/ is dropped.
func parseName(s string) (imageName, error) {
	named, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return imageName{}, fmt.Errorf("image name %q: %w", s, err)
	}
	n := imageName{repo: reference.FamiliarName(named)}
	tagged, isTagged := named.(reference.Tagged)
	digested, isDigested := named.(reference.Digested)
	switch {
	case isTagged && isDigested:
		return imageName{}, fmt.Errorf("image name %q: both a tag and a digest", s)
	case isDigested:
		n.digest = digested.Digest().String()
	case isTagged:
		n.tag = tagged.Tag()
	default:
		n.tag = "latest"
		named = reference.TagNameOnly(named)
	}
	n.familiar = reference.FamiliarString(named)
	return n, nil
}
