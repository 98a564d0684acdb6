package layerstore

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// A host's filesystem (a copied or mounted disk: a directory with var/lib/
// and etc/ beneath it) holds its stores at their standard places, or
// where the host's configuration moved them (docs/hosts.md). Opened as
// one Store, every store it holds is read, each as a named store of its
// own: its images and containers carry its name, and references are
// unique across them or ambiguous.

// Unread is a store found in a host that cannot be read, and why.
type Unread struct {
	Name, Dir string // the store's name and its directory
	Why       string
}

// hostStore is a store a host holds where it keeps one.
type hostStore struct {
	name string
	rel  string // its directory, relative to the host's root
}

// isHost says whether dir looks like the root of a host's filesystem.
func isHost(dir string) bool {
	return isDir(filepath.Join(dir, "var", "lib")) && isDir(filepath.Join(dir, "etc"))
}

// hostStores lists where the host at root keeps its stores: Docker's
// data-root (etc/docker/daemon.json), containerd's and k3s's roots,
// containers/storage's graphroot (etc/containers/storage.conf), and every
// user's rootless graphroot. What a configuration file says is a path of
// the host's, resolved inside root (hostPath).
func hostStores(root string) []hostStore {
	out := []hostStore{
		{"docker", configured(root, "etc/docker/daemon.json", dockerDataRoot, "var/lib/docker")},
		{"containerd", "var/lib/containerd"},
		{"k3s", "var/lib/rancher/k3s/agent/containerd"},
		{"podman", configured(root, "etc/containers/storage.conf", graphRoot, "var/lib/containers/storage")},
		{"podman:root", "root/.local/share/containers/storage"},
	}
	homes, _ := readDir(filepath.Join(root, "home"))
	for _, h := range homes {
		if h.IsDir() && !strings.HasPrefix(h.Name(), ".") {
			out = append(out, hostStore{"podman:" + h.Name(), filepath.Join("home", h.Name(), ".local/share/containers/storage")})
		}
	}
	return out
}

// configured is the store directory a configuration file of the host
// names (relative to root), or def.
func configured(root, file string, parse func([]byte) string, def string) string {
	data, err := readFile(filepath.Join(root, file), maxSmall*16)
	if err != nil {
		return def
	}
	p := parse(data)
	if p == "" || !filepath.IsAbs(p) {
		return def
	}
	return strings.TrimPrefix(filepath.Clean(p), "/")
}

// dockerDataRoot is daemon.json's data-root ("graph" before Docker 17.05).
func dockerDataRoot(data []byte) string {
	var c struct {
		DataRoot string `json:"data-root"`
		Graph    string `json:"graph"`
	}
	if json.Unmarshal(data, &c) != nil {
		return ""
	}
	if c.DataRoot != "" {
		return c.DataRoot
	}
	return c.Graph
}

// graphRoot is storage.conf's graphroot under [storage]: the one key
// that is read, so the TOML is read no further than a line of it.
func graphRoot(data []byte) string {
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[] ")
		case section == "storage" && strings.HasPrefix(line, "graphroot"):
			if _, v, ok := strings.Cut(line, "="); ok {
				v = strings.TrimSpace(v)
				if i := strings.Index(v, "#"); i > 0 && strings.Count(v[:i], `"`) != 1 {
					v = strings.TrimSpace(v[:i])
				}
				return strings.Trim(v, `"'`)
			}
		}
	}
	return ""
}

// maxHops bounds the symlinks followed resolving a path inside a host.
const maxHops = 40

// hostPath resolves rel (a path of the host's) inside root as the host
// would see it: symlinks on the way are followed, an absolute target
// from root again and ".." never above root, so nothing outside root is
// reached. The result is a path under root with no symlink left in it.
func hostPath(root, rel string) (string, error) {
	todo := strings.Split(filepath.Clean("/"+rel), "/")[1:]
	var done []string
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		p := filepath.Join(append([]string{root}, append(done, c)...)...)
		st, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		if st.Mode()&os.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		if hops++; hops > maxHops {
			return "", fmt.Errorf("%s: too many symlinks", p)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if filepath.IsAbs(target) {
			done = nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return filepath.Join(append([]string{root}, done...)...), nil
}

// openHost opens every store the host at root holds, each one's parts
// named after it; o.Store narrows to one. A store found but not read is
// in s.unread, with why.
func openHost(root string, o Options) (*Store, error) {
	s := &Store{root: root}
	var names []string
	for _, hs := range hostStores(root) {
		dir, err := hostPath(root, hs.rel)
		if errors.Is(err, os.ErrNotExist) || err == nil && !isDir(dir) {
			continue
		}
		names = append(names, hs.name)
		if o.Store != "" && hs.name != o.Store {
			continue
		}
		if err != nil {
			s.unread = append(s.unread, Unread{Name: hs.name, Dir: filepath.Join(root, hs.rel), Why: err.Error()})
			continue
		}
		sub := o
		sub.Store = ""
		one, err := openStore(dir, sub)
		if err != nil {
			s.unread = append(s.unread, Unread{Name: hs.name, Dir: dir, Why: strings.TrimPrefix(err.Error(), "opening store "+dir+": ")})
			continue
		}
		rel, _ := filepath.Rel(root, dir)
		for _, p := range one.parts {
			p.name, p.rel = hs.name, rel
			s.parts = append(s.parts, p)
		}
	}
	if o.Store != "" && !slices.Contains(names, o.Store) {
		sort.Strings(names)
		return nil, fmt.Errorf("opening host %s: no store %q here (it has %s)", root, o.Store, strings.Join(names, ", "))
	}
	if len(s.parts) == 0 {
		msg := "a host's filesystem, but no store of it could be read"
		if len(names) == 0 {
			msg = "a host's filesystem without a store at var/lib/docker, var/lib/containerd, var/lib/rancher/k3s/agent/containerd, var/lib/containers/storage or a user's ~/.local/share/containers/storage"
		}
		for _, u := range s.unread {
			msg += fmt.Sprintf("; %s (%s): %s", u.Name, u.Dir, u.Why)
		}
		return nil, fmt.Errorf("opening host %s: %s", root, msg)
	}
	return s, nil
}

// Unread lists the stores of a host that were found but could not be
// read, with why; none for a lone store.
func (s *Store) Unread() []Unread { return append([]Unread(nil), s.unread...) }

// Stores names the stores of a host that were read, in the order found;
// nil for a lone store.
func (s *Store) Stores() []string {
	var out []string
	for _, p := range s.parts {
		if p.name != "" && !slices.Contains(out, p.name) {
			out = append(out, p.name)
		}
	}
	return out
}
