package layerstore

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

// An image archive is read in place, never extracted (docs/archives.md):
// a tar (docker save, an oci-archive) has its headers read once into an
// index of its members, and a member is then read at its offset; an OCI
// layout directory's files are opened beneath it, never through a
// symlink.

// arcMember is one member of an archive's tar.
type arcMember struct {
	off, size int64 // where its data is in the tar
	typ       byte  // tar.TypeReg, TypeDir, TypeSymlink, TypeLink, or another type
	link      string
	// frags are, for a sparse file (tar --sparse of a layout), where its
	// data is in the tar; end is where its data ends.
	frags []layertar.Fragment
	end   int64
}

// Bounds on an archive's index: the members of a docker save are a few
// per layer and image; a tar of millions of names is no image archive.
const (
	maxMembers    = 1 << 20
	maxMemberName = 4 << 10
	maxLinkHops   = 8
)

// errRefused marks a tar that is refused as an image archive, not taken
// for something else.
var errRefused = errors.New("refused as an image archive")

// indexTar reads the headers of the tar at p, seeking over the data, into
// members by clean name. A name that is absolute or has a ".." element,
// a member given twice, and a tar that ends early are refused, naming the
// member.
func indexTar(f *os.File, p string) (map[string]arcMember, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", p, err)
	}
	sr := io.NewSectionReader(f, 0, st.Size())
	tr := tar.NewReader(sr)
	members := map[string]arcMember{}
	next := int64(0) // where the next member's headers start
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: not a tar, or a damaged one: %w", p, err)
		}
		if len(members) >= maxMembers {
			return nil, fmt.Errorf("reading %s: more than %d members: not an image archive", p, maxMembers)
		}
		name, err := memberName(h.Name)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errRefused, err)
		}
		off, _ := sr.Seek(0, io.SeekCurrent) // Next leaves the reader at the data
		m := arcMember{off: off, size: h.Size, typ: h.Typeflag, link: h.Linkname, end: off + layertar.DataSize(h)}
		if layertar.IsSparse(h) {
			// Its data is its fragments, which its map places.
			if m.frags, m.end, err = layertar.SparseMapAt(h, f, next, off); err != nil {
				return nil, fmt.Errorf("%w: member %s: a sparse file: %w", errRefused, clip(name), err)
			}
		}
		next = layertar.NextEntry(m.end)
		if m.typ == tar.TypeRegA || m.typ == tar.TypeGNUSparse {
			m.typ = tar.TypeReg
		}
		if m.typ == tar.TypeDir {
			m.size = 0
		}
		if prev, dup := members[name]; dup && !(prev.typ == tar.TypeDir && m.typ == tar.TypeDir) {
			return nil, fmt.Errorf("%w: member %s is given twice", errRefused, clip(name))
		}
		members[name] = m
	}
	return members, nil
}

// memberName is a member's name cleaned ("./a/b/" is "a/b"), or an error
// for one that would land outside the archive.
func memberName(raw string) (string, error) {
	if len(raw) > maxMemberName {
		return "", fmt.Errorf("member %s: name longer than %d bytes", clip(raw), maxMemberName)
	}
	if strings.HasPrefix(raw, "/") {
		return "", fmt.Errorf("member %s: absolute name", clip(raw))
	}
	for _, el := range strings.Split(raw, "/") {
		if el == ".." {
			return "", fmt.Errorf("member %s: name with \"..\"", clip(raw))
		}
	}
	if strings.ContainsRune(raw, 0) {
		return "", fmt.Errorf("member %q: name with a NUL byte", clip(raw))
	}
	name := path.Clean(raw)
	if name == "." {
		return "", nil
	}
	return name, nil
}

// resolve finds the regular member name names, following links inside
// the archive (Docker's own saves link <layer>/layer.tar and blobs to
// each other); a link that leaves the archive, goes round, or ends at
// nothing is an error naming it.
func (a *archive) resolve(name string) (string, arcMember, error) {
	clean, err := memberName(name)
	if err != nil {
		return "", arcMember{}, err
	}
	for hop := 0; ; hop++ {
		m, ok := a.members[clean]
		switch {
		case !ok:
			if clean != name {
				return "", arcMember{}, fmt.Errorf("member %s (a link from %s) is not in the archive", clip(clean), clip(name))
			}
			return "", arcMember{}, fmt.Errorf("member %s is not in the archive", clip(name))
		case hop >= maxLinkHops:
			return "", arcMember{}, fmt.Errorf("member %s: links go round or nest too deep", clip(name))
		case m.typ == tar.TypeReg:
			return clean, m, nil
		case m.typ == tar.TypeSymlink:
			if strings.HasPrefix(m.link, "/") {
				return "", arcMember{}, fmt.Errorf("member %s is a symlink to %s, outside the archive", clip(clean), clip(m.link))
			}
			target := path.Join(path.Dir(clean), m.link)
			if target == ".." || strings.HasPrefix(target, "../") {
				return "", arcMember{}, fmt.Errorf("member %s is a symlink to %s, outside the archive", clip(clean), clip(m.link))
			}
			clean = target
		case m.typ == tar.TypeLink:
			target, err := memberName(m.link)
			if err != nil {
				return "", arcMember{}, fmt.Errorf("member %s is a hard link: %w", clip(clean), err)
			}
			clean = target
		default:
			return "", arcMember{}, fmt.Errorf("member %s is not a file (tar type %q)", clip(clean), m.typ)
		}
	}
}

// arcFile is a blob of an archive opened for reading: the archive's file
// and the blob's place in it.
type arcFile struct {
	f         *os.File
	off, size int64
	frags     []layertar.Fragment // a sparse member's, in the file
	file      string              // what to name in an error: the archive, or the layout's file
}

func (b arcFile) reader() *io.SectionReader {
	if b.frags != nil {
		return layertar.OpenSparse(b.f, b.frags, b.size)
	}
	return io.NewSectionReader(b.f, b.off, b.size)
}

// open opens the file or member name of the archive: in a tar the
// regular member it resolves to; in a layout directory the regular file
// of that name beneath it, no symlink followed. Its errors name the
// member, or are *CorruptErrors naming the layout's file.
func (a *archive) open(name string) (arcFile, error) {
	if !a.dir {
		clean, m, err := a.resolve(name)
		if err != nil {
			return arcFile{}, err
		}
		f, err := openNoatime(a.path, os.O_RDONLY|syscall.O_NOFOLLOW)
		if err != nil {
			return arcFile{}, corrupt(a.path, bare(err))
		}
		if st, err := f.Stat(); err != nil || st.Size() < m.end {
			f.Close()
			return arcFile{}, a.errAt(clean, errors.New("the archive ends before its data does"))
		}
		return arcFile{f: f, off: m.off, size: m.size, frags: m.frags, file: a.path}, nil
	}
	rel, err := memberName(name)
	if err != nil {
		return arcFile{}, corrupt(a.path, err)
	}
	root, err := beneath.OpenMeta(a.path)
	if err != nil {
		return arcFile{}, corrupt(a.path, err)
	}
	defer root.Close()
	p := path.Join(a.path, rel)
	fd, err := root.Open(rel, unix.O_RDONLY|unix.O_NONBLOCK)
	switch {
	case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV):
		return arcFile{}, corrupt(p, errors.New("a symlink, or under one: not read"))
	case errors.Is(err, unix.ENOENT):
		return arcFile{}, corrupt(p, errors.New("missing"))
	case err != nil:
		return arcFile{}, corrupt(p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return arcFile{}, corrupt(p, errors.New("not a regular file"))
	}
	return arcFile{f: f, size: st.Size(), file: p}, nil
}

// read reads the file or member name whole, up to limit bytes.
func (a *archive) read(name string, limit int64) ([]byte, error) {
	b, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer b.f.Close()
	if b.size > limit {
		return nil, a.errAt(name, fmt.Errorf("larger than %d bytes", limit))
	}
	data := make([]byte, b.size)
	if _, err := io.ReadFull(b.reader(), data); err != nil {
		return nil, a.errAt(name, err)
	}
	return data, nil
}

// readJSON reads the file or member name into v.
func (a *archive) readJSON(name string, v any) error {
	data, err := a.read(name, maxJSON)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return a.errAt(name, fmt.Errorf("invalid JSON: %w", err))
	}
	return nil
}

// has says whether the archive holds name (as a member of any type, or a
// file in a layout directory).
func (a *archive) has(name string) bool {
	if !a.dir {
		_, ok := a.members[name]
		return ok
	}
	var st unix.Stat_t
	return beneath.Stat(a.path, name, &st) == nil
}
