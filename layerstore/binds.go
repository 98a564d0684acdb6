package layerstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
)

// Bind is a file or directory of the store that Docker bind-mounted into
// a container when it ran: the /etc/hostname, /etc/hosts and
// /etc/resolv.conf it keeps in containers/<id>/ (HostnamePath, HostsPath,
// ResolvConfPath of its config), its volumes (volumes/<name>/_data), and
// bind mounts of a path that is inside the store.
type Bind struct {
	Dest   string // absolute path in the container: "/etc/hosts", "/var/lib/mysql"
	Source string // its path relative to the store's root: "containers/<id>/hosts", "volumes/<name>/_data"
	Kind   string // "hostname", "hosts", "resolv.conf", "volume" or "bind"
	Name   string // a volume's name
	Dir    bool   // a directory; else a regular file
	RW     bool   // mounted read-write in the container (a view is read-only all the same)
}

// Unshown is a mount point of a container that a view cannot show,
// because what it mounted is not in the store: a host directory, a tmpfs,
// a volume of another driver.
type Unshown struct {
	Dest   string // path in the container
	Source string // what the config names: a host path, a volume's name
	Kind   string // the mount's type: "bind", "volume", "tmpfs", "hosts" ...
	Why    string
}

func (u Unshown) String() string {
	what := u.Kind
	if u.Source != "" {
		what += " " + u.Source
	}
	return fmt.Sprintf("%s at %s: %s", what, u.Dest, u.Why)
}

// defaultRoot is where Docker keeps its store unless told otherwise.
const defaultRoot = "/var/lib/docker"

// volumeName is what Docker accepts as a volume's name (and its 64-hex
// anonymous ones).
var volumeName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// originalRoot is the Docker root the container's config was written in,
// from the paths it gives for its own files (<root>/containers/<id>/...):
// a copied store's config still names the host it came from.
func originalRoot(cid string, d details) string {
	marker := "/containers/" + cid + "/"
	for _, p := range []string{d.LogPath, d.HostnamePath, d.HostsPath, d.ResolvConfPath} {
		if !filepath.IsAbs(p) {
			continue
		}
		p = filepath.Clean(p)
		if i := strings.LastIndex(p, marker); i >= 0 {
			if i == 0 {
				return "/"
			}
			return p[:i]
		}
	}
	return defaultRoot
}

// inRoot is the path of p (a host path of the original root) relative
// to that root, when it is below it.
func inRoot(root, p string) (string, bool) {
	if !filepath.IsAbs(p) {
		return "", false
	}
	rel, err := filepath.Rel(root, filepath.Clean(p))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return rel, true
}

// cleanDest is a mount point's destination as an absolute clean path, or
// "" when it is not one.
func cleanDest(p string) string {
	if !strings.HasPrefix(p, "/") {
		return ""
	}
	p = filepath.Clean(p)
	if p == "/" {
		return ""
	}
	return p
}

// binds works out what Docker mounted into container c, and checks that
// each source is in the store: reached from the store's root without a
// symlink on the way, the right kind of file.
func (s *store) binds(c *containerRec) ([]Bind, []Unshown) {
	d := c.details
	orig := originalRoot(c.ID, d)
	var binds []Bind
	var unshown []Unshown
	users := map[string]bool{} // destinations of the container's own mounts
	for _, mp := range d.Mounts {
		dest := cleanDest(mp.Destination)
		if dest == "" {
			unshown = append(unshown, Unshown{Dest: mp.Destination, Source: mp.Source, Kind: mp.Type, Why: "not an absolute path below /"})
			continue
		}
		users[dest] = true
		switch mp.Type {
		case "volume":
			src := mp.Name
			switch {
			case mp.Driver != "" && mp.Driver != "local":
				unshown = append(unshown, Unshown{Dest: dest, Source: src, Kind: "volume", Why: fmt.Sprintf("a volume of driver %s, which keeps its data outside the store", mp.Driver)})
			case !volumeName.MatchString(mp.Name):
				unshown = append(unshown, Unshown{Dest: dest, Source: clip(src), Kind: "volume", Why: "not a volume name Docker gives"})
			default:
				if from := s.volumeMount(mp.Name); from != "" {
					unshown = append(unshown, Unshown{Dest: dest, Source: src, Kind: "volume", Why: "a local volume mounted from " + from + ": its data is not in the store"})
					continue
				}
				binds = append(binds, Bind{Dest: dest, Source: "volumes/" + mp.Name + "/_data", Kind: "volume", Name: mp.Name, RW: mp.RW})
			}
		case "bind":
			rel, ok := inRoot(orig, mp.Source)
			if !ok {
				unshown = append(unshown, Unshown{Dest: dest, Source: mp.Source, Kind: "bind", Why: "a host path, not in the store"})
				continue
			}
			binds = append(binds, Bind{Dest: dest, Source: rel, Kind: "bind", RW: mp.RW})
		case "tmpfs":
			unshown = append(unshown, Unshown{Dest: dest, Kind: "tmpfs", Why: "a tmpfs: what it held was never on disk"})
		default:
			unshown = append(unshown, Unshown{Dest: dest, Source: mp.Source, Kind: mp.Type, Why: "a mount of a kind aufsmount cannot show"})
		}
	}
	for _, hf := range []struct{ path, dest, kind string }{
		{d.HostnamePath, "/etc/hostname", "hostname"},
		{d.HostsPath, "/etc/hosts", "hosts"},
		{d.ResolvConfPath, "/etc/resolv.conf", "resolv.conf"},
	} {
		if hf.path == "" || users[hf.dest] {
			continue // none, or the container mounts something else there
		}
		rel, ok := inRoot(orig, hf.path)
		if !ok {
			unshown = append(unshown, Unshown{Dest: hf.dest, Source: hf.path, Kind: hf.kind, Why: "outside the Docker root " + orig})
			continue
		}
		binds = append(binds, Bind{Dest: hf.dest, Source: rel, Kind: hf.kind})
	}
	// Each source must be in the store, as what it is meant to be.
	kept := binds[:0]
	for _, b := range binds {
		var st unix.Stat_t
		err := beneath.Stat(s.root, b.Source, &st)
		why := ""
		switch {
		case errors.Is(err, fs.ErrNotExist):
			why = "missing from the store: " + filepath.Join(s.root, b.Source)
		case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV) || err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK:
			why = filepath.Join(s.root, b.Source) + " is reached through a symlink, which is never followed"
		case err != nil:
			why = fmt.Sprintf("%s: %v", filepath.Join(s.root, b.Source), err)
		case st.Mode&unix.S_IFMT == unix.S_IFDIR && b.Kind != "hostname" && b.Kind != "hosts" && b.Kind != "resolv.conf":
			b.Dir = true
		case st.Mode&unix.S_IFMT == unix.S_IFREG && b.Kind != "volume":
		default:
			want := "regular file"
			if b.Kind == "volume" {
				want = "directory"
			}
			why = filepath.Join(s.root, b.Source) + " is not a " + want
		}
		if why != "" {
			src := b.Source
			if b.Kind == "volume" {
				src = b.Name
			}
			unshown = append(unshown, Unshown{Dest: b.Dest, Source: src, Kind: b.Kind, Why: why})
			continue
		}
		kept = append(kept, b)
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i].Dest < kept[j].Dest })
	sort.Slice(unshown, func(i, j int) bool { return unshown[i].Dest < unshown[j].Dest })
	return kept, unshown
}

// volumeMount says where a local volume created with options (type,
// device: an NFS share, a host directory) was mounted from; "" for one
// whose data is its _data directory.
func (s *store) volumeMount(name string) string {
	data, err := readFile(filepath.Join(s.root, "volumes", name, "opts.json"), maxSmall)
	if err != nil {
		return ""
	}
	var o struct{ MountType, MountOpts, MountDevice string }
	if json.Unmarshal(data, &o) != nil || o.MountType == "" && o.MountDevice == "" {
		return ""
	}
	from := o.MountDevice
	if o.MountType != "" {
		from = strings.TrimSpace(o.MountType + " " + from)
	}
	return clip(from)
}
