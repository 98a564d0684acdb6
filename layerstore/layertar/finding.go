package layertar

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Kind is what a Finding says of an entry.
type Kind uint8

// The kinds of difference between a layer's directory and its tar.
const (
	Outside          Kind = iota + 1 // the tar names a path outside the layer
	Unreadable                       // the entry could not be read
	Missing                          // the tar's entry is not in the directory
	TypeChanged                      // another kind of entry (file, directory ...)
	ModeChanged                      // permission bits
	OwnerChanged                     // uid or gid
	MtimeChanged                     // modification time
	SizeChanged                      // a file's size
	ContentChanged                   // a file's bytes (its crc64)
	SymlinkChanged                   // a symlink's target
	DeviceChanged                    // a device's number
	XattrMissing                     // an extended attribute the tar records
	XattrChanged                     // an extended attribute's value
	LinkBroken                       // no longer a hard link of its target
	WhiteoutMissing                  // a whiteout the tar records
	OpaqueMissing                    // an opaque marker the tar records
	WhitedOutPresent                 // a whole-tree layer has what the tar whites out
	Added                            // an entry the tar never had
	DeviceMissing                    // a device node the tar records (a copy without root skips it)
	FifoMissing                      // a fifo the tar records (a copy skips it)
)

// kindNames are the kinds as verify --json and summaries name them.
var kindNames = map[Kind]string{
	Outside: "outside", Unreadable: "unreadable", Missing: "missing", TypeChanged: "type",
	ModeChanged: "mode", OwnerChanged: "owner", MtimeChanged: "mtime", SizeChanged: "size",
	ContentChanged: "content", SymlinkChanged: "symlink", DeviceChanged: "device",
	XattrMissing: "xattr", XattrChanged: "xattr changed", LinkBroken: "hard link",
	WhiteoutMissing: "whiteout", OpaqueMissing: "opaque marker", WhitedOutPresent: "whited out",
	Added: "added", DeviceMissing: "device node", FifoMissing: "fifo",
}

func (k Kind) String() string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

// Contents reports whether a finding of kind k means the layer's original
// stream can no longer be rebuilt from its tar-split and directory: its
// bytes differ, whatever the metadata.
func (k Kind) Contents() bool {
	switch k {
	case Outside, Unreadable, SizeChanged, ContentChanged:
		return true
	}
	return false
}

// missingKind is the kind of finding for a missing entry of type mode
// (S_IFMT): devices and fifos are kinds of their own, as a copy skips
// them.
func missingKind(mode uint32) Kind {
	switch mode {
	case unix.S_IFCHR, unix.S_IFBLK:
		return DeviceMissing
	case unix.S_IFIFO:
		return FifoMissing
	}
	return Missing
}

// Finding is one way the directory differs from the layer's tar.
type Finding struct {
	Path string // as in the tar, without "./" or a leading slash; "" for the root
	Kind Kind
	What string // the difference in words: "mode 0755, was 4755"
	// Loss says a copy of the store explains the difference (docs/copies.md):
	// metadata a copy drops, not a change somebody made.
	Loss bool
}

func (f Finding) String() string { return "/" + f.Path + ": " + f.What }

func finding(p string, k Kind, format string, args ...any) Finding {
	return Finding{Path: p, Kind: k, What: fmt.Sprintf(format, args...)}
}

func lost(p string, k Kind, format string, args ...any) Finding {
	f := finding(p, k, format, args...)
	f.Loss = true
	return f
}

// nouns name what findings of a kind count, one and many, as a summary
// reads: "a copy lost 2,413 owners, 1 xattr, 3 fifos".
var nouns = map[Kind][2]string{
	Outside:          {"path outside the layer", "paths outside the layer"},
	Unreadable:       {"unreadable entry", "unreadable entries"},
	Missing:          {"missing entry", "missing entries"},
	TypeChanged:      {"entry of another type", "entries of another type"},
	ModeChanged:      {"mode", "modes"},
	OwnerChanged:     {"owner", "owners"},
	MtimeChanged:     {"mtime", "mtimes"},
	SizeChanged:      {"size", "sizes"},
	ContentChanged:   {"file's bytes", "files' bytes"},
	SymlinkChanged:   {"symlink target", "symlink targets"},
	DeviceChanged:    {"device number", "device numbers"},
	XattrMissing:     {"xattr", "xattrs"},
	XattrChanged:     {"xattr value", "xattr values"},
	LinkBroken:       {"hard link", "hard links"},
	WhiteoutMissing:  {"whiteout", "whiteouts"},
	OpaqueMissing:    {"opaque marker", "opaque markers"},
	WhitedOutPresent: {"whited-out entry present", "whited-out entries present"},
	Added:            {"added entry", "added entries"},
	DeviceMissing:    {"device node", "device nodes"},
	FifoMissing:      {"fifo", "fifos"},
}

// Noun names n findings of kind k: "owner", "owners".
func (k Kind) Noun(n int) string {
	ns, ok := nouns[k]
	switch {
	case !ok:
		return k.String()
	case n == 1:
		return ns[0]
	}
	return ns[1]
}

// tallyOrder is the order of a summary: the metadata every copy loses
// first, then entries it skips, then what only a change does.
var tallyOrder = []Kind{
	OwnerChanged, ModeChanged, MtimeChanged, XattrMissing, XattrChanged,
	DeviceMissing, FifoMissing, LinkBroken, WhiteoutMissing, OpaqueMissing,
	ContentChanged, SizeChanged, TypeChanged, SymlinkChanged, DeviceChanged,
	Missing, Added, WhitedOutPresent, Outside, Unreadable,
}

// Count is how many findings of one kind there are.
type Count struct {
	Kind Kind
	N    int
}

// Tally counts fs by kind, in the order a summary gives them (owners,
// modes, mtimes, xattrs ...), leaving out the kinds fs does not have.
func Tally(fs []Finding) []Count {
	n := map[Kind]int{}
	for _, f := range fs {
		n[f.Kind]++
	}
	var out []Count
	for _, k := range tallyOrder {
		if n[k] > 0 {
			out = append(out, Count{k, n[k]})
			delete(n, k)
		}
	}
	for k := Kind(0); len(n) > 0; k++ { // a kind the order forgot
		if n[k] > 0 {
			out = append(out, Count{k, n[k]})
			delete(n, k)
		}
	}
	return out
}
