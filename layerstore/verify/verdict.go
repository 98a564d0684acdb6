package verify

// Verdict is the answer of a whole run, for the exit status of a
// command that runs it: the worst of what was found.
type Verdict int

const (
	// Intact: everything checked is intact (UNVERIFIABLE layers do not
	// spoil it).
	Intact Verdict = iota
	// Changed: something changed, a layer could not be read, or a
	// reference could not be resolved.
	Changed
	// LossyCopy: the contents are intact, and every difference is a
	// copy's loss.
	LossyCopy
	// Unchecked: nothing could be checked (no layer has a tar-split).
	Unchecked
)

// Verdict is the verdict of the run that found r.
func (r *Result) Verdict() Verdict {
	statuses := make([]Status, len(r.Layers))
	for i, l := range r.Layers {
		statuses[i] = l.Status
	}
	return verdictOf(statuses, r.Unresolved())
}

// verdictOf is the verdict of a run whose layers ended with statuses,
// where some reference could not be resolved when unresolved.
func verdictOf(statuses []Status, unresolved bool) Verdict {
	checked, lossy := false, false
	for _, st := range statuses {
		switch st {
		case Modified, Error:
			return Changed
		case Lossy:
			checked, lossy = true, true
		case OK:
			checked = true
		}
	}
	switch {
	case unresolved:
		return Changed
	case lossy:
		return LossyCopy
	case !checked:
		return Unchecked
	}
	return Intact
}
