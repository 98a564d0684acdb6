package layerstore

import (
	"fmt"
	"runtime"
	"strings"
)

// platform is an os/arch[/variant] an index's manifest is chosen for.
type platform struct{ os, arch, variant string }

// parsePlatform parses "os/arch[/variant]"; "" is the host's.
func parsePlatform(s string) (platform, error) {
	if s == "" {
		return platform{os: runtime.GOOS, arch: runtime.GOARCH}, nil
	}
	parts := strings.Split(s, "/")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return platform{}, fmt.Errorf("platform %q is not os/arch[/variant]", clip(s))
	}
	p := platform{os: parts[0], arch: parts[1]}
	if len(parts) == 3 {
		p.variant = parts[2]
	}
	return p, nil
}

func platformOf(o *ociPlatform) platform {
	return platform{os: o.OS, arch: o.Architecture, variant: o.Variant}
}

func (p platform) String() string {
	if p.variant == "" {
		return p.os + "/" + p.arch
	}
	return p.os + "/" + p.arch + "/" + p.variant
}

// choose is the index of the entry of an index's manifests that is for
// p, or -1 and the platforms the entries offer instead: of entries, an
// attestation (no platform, or OS "unknown") and one whose blob is not
// here (present false) are none to choose, as containerd and skopeo
// skip them.
func (p platform) choose(entries []*ociPlatform, present func(i int) bool) (int, []string) {
	var offered []string
	for i, e := range entries {
		if e == nil || e.OS == "unknown" || !present(i) {
			continue
		}
		if p.matches(e) {
			return i, nil
		}
		offered = append(offered, platformOf(e).String())
	}
	return -1, offered
}

// matches says whether an index entry's platform is p: a p without a
// variant takes any; arm64's v8 is arm64 without one.
func (p platform) matches(o *ociPlatform) bool {
	if o.OS != p.os || o.Architecture != p.arch {
		return false
	}
	if p.variant == "" {
		return true
	}
	v := o.Variant
	if p.arch == "arm64" && v == "" {
		v = "v8"
	}
	return v == p.variant || p.arch == "arm64" && p.variant == "v8" && o.Variant == ""
}
