package layerstore

import (
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
)

// Sizes tells the sizes of layers as docker images and docker history
// count them (LayerSize), each layer directory measured once however
// many images share it: one Sizes serves one listing. It is not safe for
// concurrent use.
type Sizes struct{ byDir map[string]int64 }

// NewSizes returns an empty Sizes.
func NewSizes() *Sizes { return &Sizes{byDir: map[string]int64{}} }

// Layer is l's size; -1 when it cannot be told.
func (z *Sizes) Layer(l Layer) int64 {
	if n, ok := z.byDir[l.Dir]; ok {
		return n
	}
	n, err := LayerSize(l)
	if err != nil {
		n = -1
	}
	z.byDir[l.Dir] = n
	return n
}

// Chain is the size of layers together, docker's SIZE of an image; -1
// when one of them cannot be told.
func (z *Sizes) Chain(layers []Layer) int64 {
	var total int64
	for _, l := range layers {
		n := z.Layer(l)
		if n < 0 {
			return -1
		}
		total += n
	}
	return total
}

// Step is the size of the layer a step of an image's history made: 0
// for a step that made none (ENV, CMD ...); -1 when it cannot be told.
func (z *Sizes) Step(h HistoryEntry) int64 {
	if h.Layer == nil {
		return 0
	}
	return z.Layer(*h.Layer)
}

// Image is the size of img, an image s lists: its chain, resolved under
// its own driver (an id may be in the trees of several), added up. The
// error is why its chain cannot be resolved.
func (z *Sizes) Image(s Source, img Image) (int64, error) {
	t, err := s.ResolveIn(img.Tree(), img.ID)
	if err != nil {
		return -1, err
	}
	return z.Chain(t.Layers), nil
}

// LayerSize is the size of layer l as docker images and docker history
// count it: what the store's size file says, or, when that says 0 or is
// missing (a store whose sizes were never computed, or lost), what the
// layer directory holds (DirSize).
func LayerSize(l Layer) (int64, error) {
	if l.Size > 0 {
		return l.Size, nil
	}
	return DirSize(l.Dir)
}

// DirSize is the size Docker gives a layer directory: the bytes of
// everything in it but directories, a hard-linked inode once. It is
// walked without following a symlink and without leaving it (every
// directory opened beneath its root, as the views open them).
func DirSize(dir string) (int64, error) {
	r, err := beneath.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	seen := map[uint64]bool{}
	var total int64
	buf := make([]byte, 64<<10)
	var walk func(rel string) error
	walk = func(rel string) error {
		fd, err := r.OpenDir(rel)
		if err != nil {
			return err
		}
		ents, err := beneath.ReadDirents(fd, buf)
		var dirs []string
		for _, de := range ents {
			if de.Mode == unix.S_IFDIR {
				dirs = append(dirs, de.Name)
				continue
			}
			var st unix.Stat_t
			if unix.Fstatat(fd, de.Name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Size <= 0 || seen[st.Ino] {
				continue
			}
			seen[st.Ino] = true
			total += st.Size
		}
		unix.Close(fd)
		if err != nil {
			return err
		}
		for _, d := range dirs {
			sub := d
			if rel != "" {
				sub = rel + "/" + d
			}
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(""); err != nil {
		return 0, err
	}
	return total, nil
}
