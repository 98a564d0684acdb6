package layerstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Store is an opened Docker root directory: the images and containers of
// every storage driver found in it (docs/drivers.md). It is safe for
// concurrent use once opened. Nothing under Root is ever written.
type Store struct {
	root   string
	parts  []*store // one per driver, in the order of drivers; a host's, per store
	unread []Unread // a host's stores found but not read

	// The archives transport references named, opened as they are
	// resolved (archive_transport.go), by kind and path; opts opens them.
	opts  Options
	arcMu sync.Mutex
	arcs  map[string]arcOpened
	// rootErr is why root could not be opened, where Options.Refs let
	// Open go on without it: resolving a reference of its own fails so.
	rootErr error
}

// Options narrow what Open reads.
type Options struct {
	// Driver, when set, reads only that storage driver's tree.
	Driver string
	// Namespace, when set, reads only that containerd namespace (a
	// Docker root's is moby); Platform is the os/arch[/variant] whose
	// manifest of a containerd index is taken ("": the host's);
	// ContainerdRoot is where a Docker root's containerd keeps its
	// images, when not in <root>/containerd/daemon or ../containerd.
	Namespace, Platform, ContainerdRoot string
	// Store, for a host's filesystem, reads only the store of that name
	// ("docker", "podman", "podman:alice", "containerd", "k3s").
	Store string
	// Refs are the references the caller is to resolve. Where one is a
	// transport reference (ParseTransport), which names an archive of
	// its own, a root that cannot be opened is no error until a
	// reference of the root is resolved.
	Refs []string
}

// Open opens the Docker root directory root with every driver it holds;
// see OpenWith.
func Open(root string) (*Store, error) { return OpenWith(root, Options{}) }

// OpenWith opens the Docker root directory root, detecting the storage
// drivers it holds and, for aufs, its layout (1.10+ wins when both are
// present), and reads each one's tag store and every image's and
// container's metadata. A root that is missing, not a directory, or holds
// no supported driver's tree (or not o.Driver's) is an error naming root.
// A tag store that cannot be parsed is a *CorruptError naming it. An
// image or container whose own metadata is broken does not fail Open: it
// is left out of Images and Containers and recorded in Problems.
//
// A directory that is no store but a host's filesystem (var/lib/ and
// etc/ beneath it) is opened with every store it holds (host.go).
func OpenWith(root string, o Options) (*Store, error) {
	s, err := openRoot(root, o)
	if err != nil && transported(o.Refs) {
		abs, _ := filepath.Abs(root)
		return &Store{root: abs, opts: o, rootErr: err}, nil
	}
	if s != nil {
		s.opts = o
	}
	return s, err
}

// openRoot opens root: one store, or a host's filesystem.
func openRoot(root string, o Options) (*Store, error) {
	s, err := openStore(root, o)
	if err != nil || o.Store != "" {
		if abs, aerr := filepath.Abs(root); aerr == nil && isHost(abs) {
			return openHost(abs, o)
		}
	}
	if err == nil && o.Store != "" {
		return nil, fmt.Errorf("opening store %s: --store %s names a store of a host's filesystem, and this is one store", root, o.Store)
	}
	return s, err
}

// openStore opens the one store at root.
func openStore(root string, o Options) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", root, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", root, bare(err))
	}
	found, err := detectArchive(given(abs), st.IsDir(), o) // a file must be one (archive.go)
	if err != nil {
		return nil, fmt.Errorf("opening store %s: %w", root, err)
	}
	if o.Driver != "" && !slices.Contains(DriverNames(), o.Driver) && len(found) == 0 {
		return nil, fmt.Errorf("unknown storage driver %q (supported: %s)", o.Driver, strings.Join(DriverNames(), ", "))
	}
	if len(found) == 0 {
		found = detect(abs)
	}
	var other []string // a graphroot's drivers that are not read
	if len(found) == 0 {
		found, other = detectContainers(abs)
	}
	if len(found) == 0 && len(other) == 0 {
		if found, err = detectContainerd(abs, o); err != nil {
			return nil, fmt.Errorf("opening store %s: %w", root, err)
		}
	}
	s := &Store{root: abs}
	for _, f := range found {
		if o.Driver != "" && f.drv.name() != o.Driver {
			continue
		}
		p, err := openDriver(abs, f.drv, f.layout)
		if err != nil {
			return nil, fmt.Errorf("opening store %s: %w", root, err)
		}
		s.parts = append(s.parts, p)
	}
	if len(s.parts) == 0 {
		if len(found) == 0 {
			if dir := unreadable(abs); dir != "" {
				return nil, fmt.Errorf("opening store %s: %w", root, &PermissionError{Dir: dir})
			}
		}
		if len(found) == 0 && len(other) > 0 {
			return nil, fmt.Errorf("opening store %s: a containers/storage graphroot whose layers are kept by the storage driver %s, which aufsmount does not read (it reads %s)",
				root, strings.Join(other, ", "), strings.Join(csDrivers, ", "))
		}
		return nil, fmt.Errorf("opening store %s: %s", root, noDriver(abs, found, o.Driver))
	}
	return s, nil
}

// found is one driver tree detect saw.
type found struct {
	drv    driver
	layout Layout
}

// detect lists the supported driver trees under abs: image/<driver>/
// (1.10+), and for aufs also the pre-1.10 layout, used only when there is
// no image/aufs/.
func detect(abs string) []found {
	var out []found
	for _, d := range drivers {
		switch {
		case isDir(filepath.Join(abs, "image", d.name())):
			out = append(out, found{d, LayoutCAS})
		case d.name() == "aufs" && (exists(filepath.Join(abs, "repositories-aufs")) ||
			isDir(filepath.Join(abs, "graph")) && isDir(filepath.Join(abs, "aufs"))):
			out = append(out, found{d, LayoutGraph})
		}
	}
	return out
}

// noDriver explains why nothing was opened.
func noDriver(abs string, found []found, want string) string {
	if want != "" && len(found) > 0 {
		var names []string
		for _, f := range found {
			names = append(names, f.drv.name())
		}
		return fmt.Sprintf("no %s store here (it has %s)", want, strings.Join(names, ", "))
	}
	docker := make([]string, len(drivers))
	for i, d := range drivers {
		docker[i] = d.name()
	}
	msg := "no store here: not a Docker root (image/<driver>/ of " + strings.Join(docker, ", ") + ", or a pre-1.10 repositories-aufs or graph/)" +
		", a containers/storage graphroot (overlay-layers/, vfs-layers/), a containerd root (io.containerd.metadata.v1.bolt/)" +
		", an image archive or layout, nor a host's filesystem (var/lib/ and etc/)"
	entries, err := readDir(filepath.Join(abs, "image"))
	if err != nil {
		return notAStore(abs, msg)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && driverByName(e.Name()) == nil {
			names = append(names, e.Name())
		}
	}
	if len(names) > 0 {
		msg += "; it has images of the unsupported storage driver " + strings.Join(names, ", ")
	}
	return msg
}

// notAStore is noDriver's message for a directory that holds no store,
// with the Docker roots near it.
func notAStore(abs, msg string) string { return msg + didYouMeanRoot(abs) }

// Root is the absolute path of the store.
func (s *Store) Root() string { return s.root }

// Drivers lists the storage drivers opened, in a fixed order.
func (s *Store) Drivers() []string {
	var out []string
	for _, p := range s.parts {
		if !slices.Contains(out, p.drv.name()) { // containerd's namespaces share theirs
			out = append(out, p.drv.name())
		}
	}
	return out
}

// Layout is the layout of the first driver tree opened: for a store of
// aufs alone, the aufs layout detected.
func (s *Store) Layout() Layout { return s.parts[0].layout }

// Images lists every image whose metadata is sound, tagged or not (docker
// images -a), newest first, then by id, then in the order of drivers.
func (s *Store) Images() []Image {
	var out []Image
	for _, p := range s.parts {
		for _, r := range p.images {
			img := r.Image
			img.Names = append([]string(nil), r.Names...)
			img.Driver, img.Store = p.drv.name(), p.name
			out = append(out, img)
		}
	}
	sortNewest(out, func(img Image) (time.Time, string) { return img.Created, img.ID })
	return out
}

// Containers lists every container whose metadata is sound, newest
// first, then by id.
func (s *Store) Containers() []Container {
	var out []Container
	for _, p := range s.parts {
		for _, r := range p.containers {
			c := r.Container
			c.Driver, c.Store = p.drv.name(), p.name
			out = append(out, c)
		}
	}
	sortNewest(out, func(c Container) (time.Time, string) { return c.Created, c.ID })
	return out
}

// sortNewest sorts newest first, then by id; what is equal in both keeps
// its order (the order of drivers).
func sortNewest[T any](s []T, key func(T) (time.Time, string)) {
	sort.SliceStable(s, func(i, j int) bool {
		ti, idi := key(s[i])
		tj, idj := key(s[j])
		if !ti.Equal(tj) {
			return ti.After(tj)
		}
		return idi < idj
	})
}

// Layers lists every layer directory of every driver, sorted by driver
// then ID, with what the metadata says about each where known.
func (s *Store) Layers() ([]Layer, error) {
	var out []Layer
	for _, p := range s.parts {
		ls, err := p.Layers()
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
	}
	return out, nil
}

// Problems lists what Open found wrong without failing: images and
// containers left out, tags that name nothing, stray entries. Each is a
// *CorruptError naming the file at fault, sorted by file.
func (s *Store) Problems() []error {
	var out []error
	for _, p := range s.parts {
		out = append(out, p.problems...)
	}
	sort.SliceStable(out, func(i, j int) bool { return problemFile(out[i]) < problemFile(out[j]) })
	return out
}

// Resolve finds what ref names (see store.resolve for the forms, which
// are docker's) in every driver's tree. A ref that names something in
// two trees is an *AmbiguousError listing each with its driver.
func (s *Store) Resolve(ref string) (*Target, error) { return s.ResolveKind(ref, 0) }

// ResolveKind is Resolve for images only (KindImage) or containers only
// (KindContainer), as docker inspect --type takes a reference.
func (s *Store) ResolveKind(ref string, only Kind) (*Target, error) {
	if tr, err := ParseTransport(ref); err != nil || tr != nil {
		if err != nil {
			return nil, err
		}
		return s.resolveTransport(ref, tr, only)
	}
	if s.rootErr != nil {
		return nil, s.rootErr
	}
	if len(s.parts) == 1 {
		return s.parts[0].resolve(ref, only)
	}
	type match struct {
		drv string
		t   *Target
		err error
	}
	var matches []match
	var suggestions []string
	for _, p := range s.parts {
		t, err := p.resolve(ref, only)
		var nf *NotFoundError
		if errors.As(err, &nf) {
			suggestions = append(suggestions, nf.Suggestions...)
			continue
		}
		label := p.label()
		if p.name != "" {
			label = p.name + ", " + label
		}
		matches = append(matches, match{label, t, err})
	}
	switch len(matches) {
	case 0:
		return nil, &NotFoundError{Ref: ref, Suggestions: dedupe(suggestions, maxSuggestions)}
	case 1:
		return matches[0].t, matches[0].err
	}
	amb := &AmbiguousError{Ref: ref, Hint: "name the driver with --driver"}
	if s.parts[0].layout == LayoutContainerd {
		amb.Hint = "name the namespace with --namespace"
	}
	if len(s.Stores()) > 1 {
		amb.Hint = "name the store with --store"
	}
	for _, m := range matches {
		var a *AmbiguousError
		switch {
		case errors.As(m.err, &a):
			for _, c := range a.Candidates {
				amb.Candidates = append(amb.Candidates, c+" ("+m.drv+")")
			}
		case m.err != nil:
			amb.Candidates = append(amb.Candidates, ref+" ("+m.drv+", broken)")
		default:
			amb.Candidates = append(amb.Candidates, m.t.Name+" "+ShortID(targetID(m.t))+" ("+m.drv+")")
		}
	}
	return nil, amb // in the fixed order of drivers
}

// ResolveIn is Resolve in the tree of one driver only: tree is the
// driver's name, or in a host's filesystem an Image's or a Container's
// Tree (store/driver).
func (s *Store) ResolveIn(tree, ref string) (*Target, error) {
	if s.rootErr != nil {
		return nil, s.rootErr
	}
	var miss error = &NotFoundError{Ref: ref}
	for _, p := range s.parts {
		if p.drv.name() == tree && p.name == "" || treeKey(p.name, p.drv.name(), p.namespace()) == tree {
			// containerd's namespaces are parts of one snapshotter each
			t, err := p.resolve(ref, 0)
			if _, nf := err.(*NotFoundError); !nf {
				return t, err
			}
			miss = err
		}
	}
	return nil, miss
}

func targetID(t *Target) string {
	if t.Container != nil {
		return t.Container.ID
	}
	if t.Image != nil {
		return t.Image.ID
	}
	return ""
}

// dedupe keeps the first n distinct strings.
func dedupe(ss []string, n int) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range ss {
		if !seen[x] && len(out) < n {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
