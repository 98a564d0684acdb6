package save

import (
	"sort"
	"strings"

	"github.com/distribution/reference"

	"github.com/aufsmount/aufsmount/layerstore"
)

// resolve turns the refs into items, as docker save does: a tag saves
// that tag, a bare name every tag of that name, an id (or a digest
// reference) the image with no name; and a container, which docker
// save does not take, the image committing it would make.
func (a *Archive) resolve(refs []string) error {
	byKey := map[string]*item{}
	add := func(t *layerstore.Target, tag reference.NamedTagged) {
		key := t.Driver + "/" + targetKey(t)
		it := byKey[key]
		if it == nil {
			it = &item{t: t, layout: a.s.LayoutOf(t)}
			byKey[key] = it
			a.items = append(a.items, it)
		}
		if tag == nil {
			return
		}
		for _, have := range it.tags {
			if have.String() == tag.String() {
				return
			}
		}
		it.tags = append(it.tags, tag)
	}
	for _, ref := range refs {
		if named, ok := nameOnly(ref); ok {
			tagged, err := a.tagsOf(named)
			if err == nil && len(tagged) == 0 && !strings.Contains(strings.Split(ref, "/")[0], ".") {
				// Podman keeps a name without a registry as localhost's
				// (podman load of busybox:1 makes localhost/busybox:1).
				if local, ok := nameOnly("localhost/" + ref); ok {
					tagged, err = a.tagsOf(local)
				}
			}
			if err != nil {
				return err
			}
			if len(tagged) > 0 {
				for _, tt := range tagged {
					add(tt.t, tt.tag)
				}
				continue
			}
		}
		t, err := a.s.Resolve(ref)
		if err != nil {
			return err
		}
		if t.Kind == layerstore.KindContainer {
			add(t, nil)
			continue
		}
		var tag reference.NamedTagged
		name := ref
		if tr, _ := layerstore.ParseTransport(ref); tr != nil {
			name = tr.Name // the tag it names in its archive, if any
		}
		if name != "" && !strings.HasPrefix(name, "sha256:") {
			if named, err := reference.ParseNormalizedNamed(name); err == nil {
				if nt, ok := named.(reference.NamedTagged); ok && !isDigested(named) {
					if name, ok := hasName(t, nt); ok {
						tag = name
					}
				}
			}
		}
		add(t, tag)
	}
	ctrs := 0
	for _, it := range a.items {
		if it.t.Kind == layerstore.KindContainer {
			ctrs++
			if a.opt.Tag != nil {
				it.tags = []reference.NamedTagged{a.opt.Tag}
			}
		}
	}
	if a.opt.Tag != nil && ctrs != 1 {
		return &TagError{Containers: ctrs}
	}
	return nil
}

func targetKey(t *layerstore.Target) string {
	if t.Container != nil {
		return "c/" + t.Container.ID
	}
	return "i/" + t.Image.ID
}

func isDigested(n reference.Named) bool {
	_, ok := n.(reference.Digested)
	return ok
}

// hasName says whether image t is tagged tag (it was found by it, and
// not by a container name or an id prefix that looks like a name), and
// with which of its names: a short name found as Podman finds one
// (localhost/app:1, or quay.io/team/app:1 for app:1) is that name.
func hasName(t *layerstore.Target, tag reference.NamedTagged) (reference.NamedTagged, bool) {
	if t.Image == nil {
		return nil, false
	}
	tail := "/" + reference.Path(tag) + ":" + tag.Tag()
	if d := reference.Domain(tag); d != "docker.io" {
		tail = "/" + d + tail
	}
	var short reference.NamedTagged
	for _, n := range t.Image.Names {
		named, err := reference.ParseNormalizedNamed(n)
		if err != nil {
			continue
		}
		nt, ok := named.(reference.NamedTagged)
		switch {
		case !ok:
		case named.String() == tag.String():
			return nt, true
		case short == nil && t.Name == n && strings.HasSuffix(named.String(), strings.TrimPrefix(tail, "/library")):
			short = nt
		}
	}
	return short, short != nil
}

// nameOnly parses ref as a bare repository name, no tag or digest.
func nameOnly(ref string) (reference.Named, bool) {
	if strings.HasPrefix(ref, "sha256:") {
		return nil, false
	}
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil || !reference.IsNameOnly(named) {
		return nil, false
	}
	return named, true
}

type taggedTarget struct {
	t   *layerstore.Target
	tag reference.NamedTagged
}

// tagsOf lists every tag of repository named in the store, sorted, each
// with its image: what docker save of a bare name saves. Tags of one
// name under two drivers are ambiguous.
func (a *Archive) tagsOf(named reference.Named) ([]taggedTarget, error) {
	type hit struct {
		img layerstore.Image
		tag reference.NamedTagged
	}
	var hits []hit
	drivers := map[string]bool{}
	for _, img := range a.s.Images() {
		for _, n := range img.Names {
			nn, err := reference.ParseNormalizedNamed(n)
			if err != nil || nn.Name() != named.Name() || isDigested(nn) {
				continue
			}
			if nt, ok := nn.(reference.NamedTagged); ok {
				hits = append(hits, hit{img, nt})
				drivers[img.Driver] = true
			}
		}
	}
	if len(drivers) > 1 {
		var ds []string
		for d := range drivers {
			ds = append(ds, d)
		}
		sort.Strings(ds)
		return nil, &layerstore.AmbiguousError{Ref: reference.FamiliarString(named), Candidates: ds, Hint: "name the driver with --driver"}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].tag.String() < hits[j].tag.String() })
	var out []taggedTarget
	for _, h := range hits {
		t, err := a.s.ResolveIn(h.img.Tree(), h.img.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, taggedTarget{t, h.tag})
	}
	return out, nil
}
