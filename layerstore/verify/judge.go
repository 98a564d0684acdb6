package verify

import "github.com/aufsmount/aufsmount/layerstore/layertar"

// Status is the verdict on a layer, image or container.
type Status string

// The statuses, from the least to the worst: a target's is the worst of
// its layers'.
const (
	// Unverifiable: the layer cannot be checked (a container's own
	// layers, a layer without a tar-split).
	Unverifiable Status = "UNVERIFIABLE"
	// OK: no difference at all.
	OK Status = "OK"
	// Lossy: the contents are intact, and every difference is a copy's
	// loss.
	Lossy Status = "LOSSY"
	// Modified: something changed.
	Modified Status = "MODIFIED"
	// Error: the layer could not be read.
	Error Status = "ERROR"
)

var rank = map[Status]int{Unverifiable: 0, OK: 1, Lossy: 2, Modified: 3, Error: 4}

// Directory is the verdict on a checked layer's directory.
type Directory string

const (
	DirIntact  Directory = "intact"  // as Docker unpacked it
	DirLossy   Directory = "lossy"   // every difference a copy's loss
	DirChanged Directory = "changed" // something else changed
)

// judge answers the two questions of a layer checked against its
// tar-split, findings fs: whether its contents are intact, the original
// stream there to rebuild (its digest, where the diff id is known, says
// so; else no file may be missing or of other bytes), and its status: OK
// with no difference at all, LOSSY where the contents are intact and a
// copy explains every difference, else MODIFIED.
func judge(fs []layertar.Finding, mismatch, known bool) (status Status, contents bool) {
	contents = !mismatch
	changed := false
	for _, f := range fs {
		if f.Kind.Contents() || (!known && f.Kind == layertar.Missing && !f.Loss) {
			contents = false
		}
		changed = changed || !f.Loss
	}
	switch {
	case !contents || changed:
		return Modified, contents
	case len(fs) > 0:
		return Lossy, true
	}
	return OK, true
}

// directory is the verdict on a directory whose findings are fs.
func directory(fs []layertar.Finding) Directory {
	switch _, changes, losses := Parts(fs); {
	case len(changes) > 0:
		return DirChanged
	case len(losses) > 0:
		return DirLossy
	}
	return DirIntact
}

// Parts parts fs into those of the contents and those of the directory
// alone, these into changes and a copy's losses.
func Parts(fs []layertar.Finding) (contents, changes, losses []layertar.Finding) {
	for _, f := range fs {
		switch {
		case f.Kind.Contents():
			contents = append(contents, f)
		case f.Loss:
			losses = append(losses, f)
		default:
			changes = append(changes, f)
		}
	}
	return contents, changes, losses
}

// worst is the worst status of ls: UNVERIFIABLE where there are none.
func worst(ls []*Layer) Status {
	st := Unverifiable
	for _, l := range ls {
		if rank[l.Status] > rank[st] {
			st = l.Status
		}
	}
	return st
}
