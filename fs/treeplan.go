package fs

import (
	"fmt"
	"strings"
)

// LeftOut is a view of a tree that cannot be laid out with the others,
// and why.
type LeftOut struct {
	Entry  TreeEntry
	Reason string
}

// PlanTree picks the entries MountTree can lay out together, in their
// order, and says why it leaves the others out: a path with an empty,
// "." or ".." component; a path another view already has (the first
// keeps it); a path that is a directory of other views (the tag x:5000
// beside the tags of registry x:5000, x:5000/z:1), where the directory
// stays. One view's path never stops the others.
func PlanTree(entries []TreeEntry) (kept []TreeEntry, left []LeftOut) {
	clean := make([]string, len(entries))
	usable := make([]bool, len(entries))
	dirs := map[string]string{} // a directory of views -> one view below it
	for i, e := range entries {
		parts := strings.Split(strings.Trim(e.Path, "/"), "/")
		usable[i] = true
		for _, p := range parts {
			if p == "" || p == "." || p == ".." {
				usable[i] = false
			}
		}
		if !usable[i] {
			continue
		}
		clean[i] = strings.Join(parts, "/")
		for j := 1; j < len(parts); j++ {
			d := strings.Join(parts[:j], "/")
			if _, ok := dirs[d]; !ok {
				dirs[d] = clean[i]
			}
		}
	}
	taken := map[string]bool{}
	for i, e := range entries {
		p := clean[i]
		switch {
		case !usable[i]:
			left = append(left, LeftOut{e, fmt.Sprintf("%q is not a usable path", e.Path)})
		case dirs[p] != "":
			left = append(left, LeftOut{e, fmt.Sprintf("%s is a directory of other views (%s)", p, dirs[p])})
		case taken[p]:
			left = append(left, LeftOut{e, fmt.Sprintf("another view is at %s", p)})
		default:
			taken[p] = true
			kept = append(kept, e)
		}
	}
	return kept, left
}
