package layerstore

import (
	"strings"

	"github.com/distribution/reference"
)

// The names of images as docker's listings show them: split into
// repository, tag and digest, laid out in rows, matched against a
// pattern, shortened.

// SplitName splits a short name ("busybox:latest",
// "registry:5000/team/app:v2", "busybox@sha256:<hex>") into repository
// and tag or digest. A registry's port is not a tag: the tag follows the
// last slash.
func SplitName(name string) (repo, tag, digest string) {
	if i := strings.IndexByte(name, '@'); i >= 0 {
		return name[:i], "", name[i+1:]
	}
	slash := strings.LastIndexByte(name, '/')
	if i := strings.LastIndexByte(name, ':'); i > slash {
		return name[:i], name[i+1:], ""
	}
	return name, "", ""
}

// MatchNames keeps the names that match pattern (shell wildcards) as
// docker's reference filter matches them: the whole short name, or, for
// a pattern without a tag, the repository.
func MatchNames(pattern string, names []string) []string {
	var out []string
	for _, n := range names {
		ref, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			continue
		}
		if ok, _ := reference.FamiliarMatch(pattern, ref); ok {
			out = append(out, n)
		}
	}
	return out
}

// NameRow is one row of an image in docker images; "<none>" where it
// has no such part.
type NameRow struct{ Repo, Tag, Digest string }

// NameRows lays an image's names out as docker images does: a row per
// tag (with digests, one per tag and digest of its repository); a
// repository known only by digest, one row with tag <none> (with
// digests, one per digest); no names at all, <none> <none>.
func NameRows(names []string, digests bool) []NameRow {
	var repos []string
	tags, dgsts := map[string][]string{}, map[string][]string{}
	for _, n := range names {
		repo, tag, digest := SplitName(n)
		if tags[repo] == nil && dgsts[repo] == nil {
			repos = append(repos, repo)
		}
		if tag != "" {
			tags[repo] = append(tags[repo], tag)
		} else if digest != "" {
			dgsts[repo] = append(dgsts[repo], digest)
		}
	}
	var rows, digestOnly []NameRow
	for _, repo := range repos {
		ds := dgsts[repo]
		if !digests {
			ds = nil
		}
		if len(tags[repo]) == 0 {
			if len(ds) == 0 {
				digestOnly = append(digestOnly, NameRow{repo, "<none>", "<none>"})
			}
			for _, d := range ds {
				digestOnly = append(digestOnly, NameRow{repo, "<none>", d})
			}
			continue
		}
		for _, tag := range tags[repo] {
			if len(ds) == 0 {
				rows = append(rows, NameRow{repo, tag, "<none>"})
			}
			for _, d := range ds {
				rows = append(rows, NameRow{repo, tag, d})
			}
		}
	}
	rows = append(rows, digestOnly...)
	if len(rows) == 0 {
		rows = append(rows, NameRow{"<none>", "<none>", "<none>"})
	}
	return rows
}

// ConfigImage is IMAGE of a container as docker ps shows it: the name
// it was made from (Config.Image) while that name still means its image
// in s, short as docker prints it when familiar ("busybox:latest", a
// digest dropped; in full as Podman shows it for a containers/storage
// store); "" when the name means another image now or none, where docker
// shows the image's id.
func ConfigImage(s Source, ct *Container, familiar bool) string {
	name := ct.ConfigImage
	if name == "" || s.ImageIDOf(ct.Driver, name) != ct.ImageID {
		return ""
	}
	if !familiar || s.LayoutOfDriver(ct.Driver) == LayoutContainers { // Podman shows names in full
		return name
	}
	ref, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return name
	}
	if nt, ok := ref.(reference.NamedTagged); ok {
		if tagged, err := reference.WithTag(reference.TrimNamed(nt), nt.Tag()); err == nil {
			return reference.FamiliarString(tagged)
		}
	}
	return reference.FamiliarString(reference.TrimNamed(ref))
}
