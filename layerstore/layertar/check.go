package layertar

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/beneath"
	"github.com/aufsmount/aufsmount/layerstore/whiteout"
)

// Verify checks the layer's directory against its tar-split: every
// header against the entry on disk (type, mode bits, owner, mtime, size,
// link target, device number, extended attributes), every file's
// content against its recorded size and crc64, and the directory for
// entries the tar never had. It rebuilds the stream without keeping it,
// so the report's digest can be held against the diff id.
func Verify(l Layer, progress func(int64)) (*Report, error) {
	findings, err := Check(l)
	if err != nil {
		return nil, err
	}
	rep, err := Write(l, io.Discard, progress)
	if err != nil {
		return nil, err
	}
	rep.Findings = mergeFindings(findings, rep.Findings)
	return rep, nil
}

// mergeFindings joins the findings of the two passes, sorted by path,
// without saying one thing twice.
func mergeFindings(a, b []Finding) []Finding {
	seen := map[Finding]bool{}
	var out []Finding
	for _, f := range append(a, b...) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// Check compares every header of the layer's tar with the directory,
// and the directory with the tar's entries, without reading any file's
// content (archive/tar skips it through headerStream).
func Check(l Layer) ([]Finding, error) {
	root, ts, err := l.open()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	defer ts.Close()
	profile, err := ProfileOf(root)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", l.Dir, err)
	}
	c := &checker{l: l, root: root, profile: profile, inTar: map[string]bool{"": true}, whited: map[string]bool{}, links: map[string]*tar.Header{}}
	sparse := ""
	if err := eachHeader(ts, func(hdr *tar.Header) {
		if sparse == "" && IsSparse(hdr) {
			sparse = hdr.Name
		}
		c.header(hdr)
	}); err != nil {
		return nil, err
	}
	if sparse != "" {
		// tar-split keeps what archive/tar reads of a sparse file, its
		// contents with the holes filled, not the tar's fragments.
		return nil, &MissingError{Why: fmt.Sprintf("its tar holds a sparse file (%s), whose fragments a tar-split does not keep: the stream cannot be rebuilt", clipName(sparse))}
	}
	c.settle()
	if !l.Whole {
		if err := c.added("", make([]byte, 64<<10)); err != nil {
			return nil, err
		}
	}
	return c.withoutLinkAttrs(), nil
}

// checker is one Check.
type checker struct {
	l    Layer
	root *beneath.Root
	// profile learns from every entry what the copy kept; the findings
	// of owners, modes and times, whose loss depends on it, are settled
	// at the end (settle).
	profile *Profile
	owned   []ownedFinding
	inTar   map[string]bool        // every path the tar holds, parents included
	whited  map[string]bool        // on-disk names that stand for a tar's whiteout (overlay devices)
	links   map[string]*tar.Header // a hard link target's last link header
	out     []Finding
}

func (c *checker) add(p string, k Kind, format string, args ...any) {
	c.out = append(c.out, finding(p, k, format, args...))
}

// addLoss adds a finding that a copy explains when loss is true.
func (c *checker) addLoss(loss bool, p string, k Kind, format string, args ...any) {
	f := finding(p, k, format, args...)
	f.Loss = loss
	c.out = append(c.out, f)
}

func (c *checker) header(hdr *tar.Header) {
	p, ok := tarPath(hdr.Name)
	if !ok {
		c.add(hdr.Name, Outside, "names a path outside the layer")
		return
	}
	for q := p; q != ""; q = parentOf(q) {
		c.inTar[q] = true
	}
	dir, base := parentOf(p), path.Base(p)
	enc := c.l.Encoding
	switch k, target := whiteout.Aufs.Classify(base, 0, 0); {
	case p == "" && c.l.EngineRoot:
		return
	case p == "":
	case k == whiteout.Opaque:
		if !c.l.Whole && !HasOpaque(c.root, enc, dir) {
			c.addLoss(len(enc.OpaqueXattrs) > 0, dir, OpaqueMissing, "opaque marker missing")
		}
		return
	case k == whiteout.Meta:
		return
	case k == whiteout.Whiteout:
		if target == "" {
			return
		}
		wp := path.Join(dir, target)
		var st unix.Stat_t
		switch {
		case c.l.Whole:
			if c.root.Lstat(wp, &st) == nil {
				c.add(wp, WhitedOutPresent, "whited out by the layer, but present")
			}
		case !HasWhiteout(c.root, enc, dir, target):
			c.addLoss(enc.Devices, wp, WhiteoutMissing, "whiteout missing")
		case !enc.DotFiles || c.root.Lstat(p, &st) != nil:
			c.whited[wp] = true
		}
		return
	}
	var st unix.Stat_t
	if err := c.root.Lstat(p, &st); err != nil {
		if beneath.Gone(err) {
			// "missing" as the rebuild says it of a file, to be said once.
			mode, what := typeOf[hdr.Typeflag], "missing"
			if k := missingKind(mode); k != Missing {
				what = typeName[mode] + " missing"
			}
			c.addLoss(LostKind(mode), p, missingKind(mode), "%s", what)
		} else {
			c.add(p, Unreadable, "unreadable: %v", err)
		}
		return
	}
	c.entry(p, hdr, &st)
}

// entry compares one header with the entry on disk.
func (c *checker) entry(p string, hdr *tar.Header, st *unix.Stat_t) {
	if hdr.Typeflag == tar.TypeLink {
		target, ok := tarPath(hdr.Linkname)
		var tst unix.Stat_t
		if !ok || c.root.Lstat(target, &tst) != nil || tst.Ino != st.Ino || tst.Dev != st.Dev {
			// A copy that splits hard links leaves a file like its target.
			split := ok && st.Mode&unix.S_IFMT == unix.S_IFREG && tst.Mode&unix.S_IFMT == unix.S_IFREG && st.Size == tst.Size
			c.addLoss(split, p, LinkBroken, "no longer a hard link of /%s", target)
		}
		if ok {
			c.links[target] = hdr
		}
		return
	}
	want, known := typeOf[hdr.Typeflag]
	got := st.Mode & unix.S_IFMT
	if !known {
		return // a type Docker does not unpack
	}
	if got != want {
		c.add(p, TypeChanged, "is a %s, was a %s", typeName[got], typeName[want])
		return
	}
	m, _ := metaOf(hdr)
	if p != "" {
		c.profile.See(st, &m)
	}
	if want != unix.S_IFLNK {
		if pm, w := st.Mode&0o7777, m.Mode&0o7777; pm != w {
			c.add(p, ModeChanged, "mode %04o, was %04o", pm, w)
			c.owned = append(c.owned, ownedFinding{len(c.out) - 1, *st, m})
		}
	}
	if st.Uid != m.UID || st.Gid != m.GID {
		c.add(p, OwnerChanged, "owner %d:%d, was %d:%d", st.Uid, st.Gid, hdr.Uid, hdr.Gid)
		c.owned = append(c.owned, ownedFinding{len(c.out) - 1, *st, m})
	}
	// Docker leaves the layer root's mtime as unpacking made it.
	if p != "" && st.Mtim.Sec != hdr.ModTime.Unix() {
		c.add(p, MtimeChanged, "mtime %d, was %d", st.Mtim.Sec, hdr.ModTime.Unix())
		c.owned = append(c.owned, ownedFinding{len(c.out) - 1, *st, m})
	}
	switch want {
	case unix.S_IFREG:
		if st.Size != hdr.Size {
			c.add(p, SizeChanged, "size %d, was %d", st.Size, hdr.Size)
		}
	case unix.S_IFLNK:
		if t, err := c.root.Readlink(p, int(st.Size)); err != nil || t != hdr.Linkname {
			c.add(p, SymlinkChanged, "symlink to %q, was to %q", t, hdr.Linkname)
		}
	case unix.S_IFCHR, unix.S_IFBLK:
		if ma, mi := unix.Major(st.Rdev), unix.Minor(st.Rdev); int64(ma) != hdr.Devmajor || int64(mi) != hdr.Devminor {
			c.add(p, DeviceChanged, "device %d:%d, was %d:%d", ma, mi, hdr.Devmajor, hdr.Devminor)
		}
	}
	c.xattrs(p, hdr)
}

// ownedFinding is a finding of an owner, mode or time, with what
// decides it.
type ownedFinding struct {
	i  int
	st unix.Stat_t
	m  Meta
}

// settle decides the owner, mode and time findings once every entry was
// seen, by what the copy kept (Profile).
func (c *checker) settle() {
	copier := c.profile.Copier()
	for _, o := range c.owned {
		lost := copier.Loss(&o.st, &o.m)
		switch c.out[o.i].Kind {
		case OwnerChanged:
			c.out[o.i].Loss = lost.Owner
		case ModeChanged:
			c.out[o.i].Loss = lost.Mode
		case MtimeChanged:
			c.out[o.i].Loss = lost.Mtime
		}
	}
}

// withoutLinkAttrs drops the findings that Docker's own unpacking
// explains: a hard link entry's header carries a mode, owner and mtime,
// which the unpacker applies to the inode the link shares with its
// target, so a tar whose link headers say other than its target's leaves
// the target with the last link's attributes, not its own header's. A
// finding of the mode, owner or mtime of such a target is dropped when
// the entry on disk has exactly what the last link to it says.
func (c *checker) withoutLinkAttrs() []Finding {
	var out []Finding
	for _, f := range c.out {
		if h := c.links[f.Path]; h != nil {
			var st unix.Stat_t
			if c.root.Lstat(f.Path, &st) == nil && linkExplains(f, h, &st) {
				continue
			}
		}
		out = append(out, f)
	}
	return out
}

// linkExplains tells whether link header h accounts for finding f of the
// entry st.
func linkExplains(f Finding, h *tar.Header, st *unix.Stat_t) bool {
	switch f.Kind {
	case ModeChanged:
		return int64(st.Mode&0o7777) == h.Mode&0o7777
	case OwnerChanged:
		return int(st.Uid) == h.Uid && int(st.Gid) == h.Gid
	case MtimeChanged:
		return st.Mtim.Sec == h.ModTime.Unix()
	}
	return false
}

// xattrs compares the attributes the header records with the entry's.
func (c *checker) xattrs(p string, hdr *tar.Header) {
	want := map[string]bool{}
	var names []string
	for k := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			names = append(names, name)
			want[name] = true
		}
	}
	sort.Strings(names)
	for _, name := range names {
		got, err := c.root.GetXattr(p, name)
		switch {
		case err != nil && c.l.NoTrustedXattrs && strings.HasPrefix(name, "trusted."):
		case err != nil:
			c.addLoss(true, p, XattrMissing, "xattr %s missing", name)
		case !bytes.Equal(got, []byte(hdr.PAXRecords["SCHILY.xattr."+name])):
			c.add(p, XattrChanged, "xattr %s changed", name)
		}
	}
	have, err := c.root.ListXattrs(p)
	if err != nil {
		return
	}
	sort.Strings(have)
	for _, name := range have {
		// The encoding's own attributes, and the label an SELinux host
		// gives every file it writes, are not the image's.
		if !want[name] && !c.l.Encoding.Private(name) && name != "security.selinux" {
			c.add(p, XattrChanged, "xattr %s added", name)
		}
	}
}

// added walks directory rel of the layer for entries the tar never had.
// Overlay whiteouts standing for the tar's .wh. entries, and the
// encoding's own bookkeeping, are expected.
func (c *checker) added(rel string, buf []byte) error {
	fd, err := c.root.OpenDir(rel)
	if err != nil {
		return fmt.Errorf("reading %s/%s: %w", c.l.Dir, rel, err)
	}
	ents, err := beneath.ReadDirents(fd, buf)
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("reading %s/%s: %w", c.l.Dir, rel, err)
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name < ents[j].Name })
	for _, e := range ents {
		p := path.Join(rel, e.Name)
		if c.inTar[p] {
			if e.Mode == unix.S_IFDIR {
				if err := c.added(p, buf); err != nil {
					return err
				}
			}
			continue
		}
		if c.whited[p] {
			continue
		}
		if k, _ := c.l.Encoding.Classify(e.Name, 0, 0); k == whiteout.Meta {
			continue // a live aufs branch's bookkeeping
		}
		c.add(p, Added, "added since the layer was unpacked")
	}
	return nil
}

func parentOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

var typeOf = map[byte]uint32{
	tar.TypeReg: unix.S_IFREG, tar.TypeRegA: unix.S_IFREG, tar.TypeDir: unix.S_IFDIR,
	tar.TypeSymlink: unix.S_IFLNK, tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK,
	tar.TypeFifo: unix.S_IFIFO,
	// Old GNU sparse: a regular file (sparse.go).
	tar.TypeGNUSparse: unix.S_IFREG,
}

var typeName = map[uint32]string{
	unix.S_IFREG: "file", unix.S_IFDIR: "directory", unix.S_IFLNK: "symlink", unix.S_IFCHR: "character device",
	unix.S_IFBLK: "block device", unix.S_IFIFO: "fifo", unix.S_IFSOCK: "socket",
}
