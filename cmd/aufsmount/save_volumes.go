package main

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
func (sv *saver) mounts(it *saveItem, f *layertar.Fresh) {
	type mount struct{ dest, what string }
	var in, out []mount
	volumesOut := false
	for _, b := range it.t.Binds {
		switch b.Kind {
		case "volume":
			m := mount{b.Dest, fmt.Sprintf("volume %s at %s", quotePath(b.Name), quotePath(b.Dest))}
			if !sv.withVolumes {
				out, volumesOut = append(out, m), true
				continue
			}
			f.Mounts = append(f.Mounts, layertar.Mount{Dest: strings.TrimPrefix(b.Dest, "/"), Root: sv.s.Root(), Source: b.Source})
			in = append(in, m)
		case "bind":
			out = append(out, mount{b.Dest, fmt.Sprintf("bind %s at %s", quotePath(filepath.Join(sv.s.Root(), b.Source)), quotePath(b.Dest))})
		}
	}
	for _, u := range it.t.Unshown {
		if u.Kind == "volume" || u.Kind == "bind" {
			out = append(out, mount{u.Dest, quotePath(u.String())})
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
	name := "container " + quotePath(it.t.Name)
	if len(in) > 0 {
		fmt.Fprintf(sv.e.stderr, "aufsmount: note: %s: its layer holds the data of %s\n", name, list(in))
	}
	if len(out) > 0 {
		hint := ""
		if volumesOut {
			hint = " (--with-volumes saves the data of the volumes in the store)"
		}
		fmt.Fprintf(sv.e.stderr, "aufsmount: note: %s: left out of its image, as docker commit leaves them out%s: %s\n", name, hint, list(out))
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
				fmt.Fprintf(sv.e.stderr, "aufsmount: warning: %s: /%s left out of its layer: a layer cannot hold a name that starts with .wh. (it is a whiteout there)\n", name, quotePath(p))
			}
		}
	}
}
