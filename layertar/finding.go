package layertar

import "fmt"

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
)

// kindNames are the kinds as verify --json and summaries name them.
var kindNames = map[Kind]string{
	Outside: "outside", Unreadable: "unreadable", Missing: "missing", TypeChanged: "type",
	ModeChanged: "mode", OwnerChanged: "owner", MtimeChanged: "mtime", SizeChanged: "size",
	ContentChanged: "content", SymlinkChanged: "symlink", DeviceChanged: "device",
	XattrMissing: "xattr", XattrChanged: "xattr changed", LinkBroken: "hard link",
	WhiteoutMissing: "whiteout", OpaqueMissing: "opaque marker", WhitedOutPresent: "whited out",
	Added: "added",
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
