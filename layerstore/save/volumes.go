package save

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// mounts says what becomes of the mounts of container item it, whose own
// layer is f. docker commit leaves out what was mounted into the
// container (its volumes, its binds): so does save, and says which; with
// --with-volumes, the data of each volume in the store goes into f at its
// destination, as the container saw it.
func (a *Archive) mounts(it *item, f *layertar.Fresh) {
	type mount struct{ dest, what string }
	var in, out []mount
	volumesOut := false
	for _, b := range it.t.Binds {
		switch b.Kind {
		case "volume":
			m := mount{b.Dest, fmt.Sprintf("volume %s at %s", a.quote(b.Name), a.quote(b.Dest))}
			if !a.opt.WithVolumes {
				out, volumesOut = append(out, m), true
				continue
			}
			f.Mounts = append(f.Mounts, layertar.Mount{Dest: strings.TrimPrefix(b.Dest, "/"), Root: a.s.Root(), Source: b.Source})
			in = append(in, m)
		case "bind":
			out = append(out, mount{b.Dest, fmt.Sprintf("bind %s at %s", a.quote(filepath.Join(a.s.Root(), b.Source)), a.quote(b.Dest))})
		}
	}
	for _, u := range it.t.Unshown {
		if u.Kind == "volume" || u.Kind == "bind" {
			out = append(out, mount{u.Dest, a.quote(u.String())})
		}
	}
	list := func(ms []mount) string {
		sort.SliceStable(ms, func(i, j int) bool { return ms[i].dest < ms[j].dest })
		var parts []string
		for _, m := range ms {
			parts = append(parts, m.what)
		}
		return strings.Join(parts, "; ")
	}
	name := "container " + a.quote(it.t.Name)
	if len(in) > 0 {
		a.warn("note: %s: its layer holds the data of %s", name, list(in))
	}
	if len(out) > 0 {
		hint := ""
		if volumesOut {
			hint = " (--with-volumes saves the data of the volumes in the store)"
		}
		a.warn("note: %s: left out of its image, as docker commit leaves them out%s: %s", name, hint, list(out))
	}
	if len(f.Mounts) > 0 {
		// Walked twice (its size, then its tar): each name said once.
		var mu sync.Mutex
		said := map[string]bool{}
		f.LeftOut = func(p string) {
			mu.Lock()
			defer mu.Unlock()
			if !said[p] {
				said[p] = true
				a.warn("warning: %s: /%s left out of its layer: a layer cannot hold a name that starts with .wh. (it is a whiteout there)", name, a.quote(p))
			}
		}
	}
}
