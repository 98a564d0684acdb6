package main

import (
	"fmt"
	"strings"

	"github.com/aufsmount/aufsmount/internal/words"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
	"github.com/aufsmount/aufsmount/layerstore/verify"
)

// verify's exit statuses (verify --help, README).
const (
	verifyIntact    = 0 // everything checked is intact
	verifyChanged   = 1 // something changed, or an error
	verifyLossy     = 3 // contents intact, every difference a copy's loss
	verifyUnchecked = 4 // nothing could be checked
)

// verifyStatuses are verify's exit statuses as its help and the man page
// say them.
var verifyStatuses = []struct {
	code int
	what string
}{
	{verifyIntact, "everything checked is intact (UNVERIFIABLE layers do not fail it)"},
	{verifyChanged, "something changed, or an error occurred"},
	{verifyLossy, "the contents are intact, and every difference is a copy's loss"},
	{verifyUnchecked, "nothing could be checked: no layer has a tar-split"},
}

// verifyStatusText is the exit statuses for verify --help
// ("   %d  %s\n") and the man page (".TP\n%d\n%s\n"): head, then a line
// of each.
func verifyStatusText(head, line string) string {
	var b strings.Builder
	b.WriteString(head)
	for _, s := range verifyStatuses {
		fmt.Fprintf(&b, line, s.code, s.what)
	}
	return b.String()
}

// verifyListed is how many changes of a layer the lines list without
// --verbose: a chmod -R is thousands, and the counts say what they are.
const verifyListed = 10

// verifyExits are verify's exit statuses by verdict.
var verifyExits = map[verify.Verdict]int{
	verify.Intact: verifyIntact, verify.Changed: verifyChanged, verify.LossyCopy: verifyLossy, verify.Unchecked: verifyUnchecked,
}

// layerLine is a layer's line: its status, and for a checked layer its
// contents and its directory, the differences counted by kind.
func layerLine(lc *verify.Layer) string {
	head := fmt.Sprintf("%-13s layer %s: ", lc.Status, layerstore.ShortID(lc.Layer.ID))
	if !lc.Checked() {
		return head + oneLine(lc.Reason)
	}
	if b := lc.Layer.Archive; b != nil {
		if lc.Blob == nil {
			return head + "contents changed: " + oneLine(lc.Reason)
		}
		return head + fmt.Sprintf("contents intact (%s, %s); blob %s intact (%s, %s)",
			shortDigest(lc.Digest), humanSize(lc.Size), words.Path(b.Member), lc.Blob.Compression, humanSize(lc.Blob.CompressedSize))
	}
	contents, changes, losses := verify.Parts(lc.Findings)
	var b strings.Builder
	b.WriteString(head)
	if lc.Contents {
		fmt.Fprintf(&b, "contents intact (%s, %s)", shortDigest(lc.Digest), humanSize(lc.Size))
	} else {
		b.WriteString("contents changed")
		if len(contents) > 0 {
			b.WriteString(": " + tally(contents))
		}
		if m := lc.Mismatch; m != nil {
			fmt.Fprintf(&b, " (rebuilt %s, not its diff id %s)", shortDigest(m.Digest), shortDigest(m.DiffID))
		}
	}
	switch {
	case len(changes) > 0:
		b.WriteString("; directory changed: " + tally(changes))
	case len(losses) == 0:
		b.WriteString("; directory as unpacked")
	}
	if len(losses) > 0 {
		b.WriteString("; a copy lost " + tally(losses))
	}
	return b.String()
}

// findingLines are the paths under a layer's line: its changes, the
// first verifyListed of them; with verbose every finding, a copy's
// losses marked.
func findingLines(fs []layertar.Finding, verbose bool) []string {
	var out []string
	more := 0
	for _, f := range fs {
		switch {
		case verbose && f.Loss:
			out = append(out, "    "+words.Path(f.String())+" (lost by a copy)")
		case f.Loss:
		case verbose || len(out) < verifyListed:
			out = append(out, "    "+words.Path(f.String()))
		default:
			more++
		}
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("    ... and %s more %s (--verbose lists every path)", words.Thousands(more), words.Plural(more, "change", "changes")))
	}
	return out
}

// tally counts findings by kind: "2,413 owners, 1 xattr, 3 fifos".
func tally(fs []layertar.Finding) string {
	var parts []string
	for _, c := range layertar.Tally(fs) {
		parts = append(parts, words.Thousands(c.N)+" "+c.Kind.Noun(c.N))
	}
	return strings.Join(parts, ", ")
}

func (e *env) printVerify(res *verify.Result, verbose bool) error {
	var b strings.Builder
	for _, lc := range res.Layers {
		b.WriteString(layerLine(lc) + "\n")
		for _, line := range findingLines(lc.Findings, verbose) {
			b.WriteString(line + "\n")
		}
	}
	for _, t := range res.Targets {
		if t.Err != nil {
			fmt.Fprintf(&b, "%-13s %s: %s\n", verify.Error, words.Path(t.Name), oneLine(t.Err.Error()))
			continue
		}
		fmt.Fprintf(&b, "%-13s %s %s", t.Status, t.Kind, words.Path(t.Name))
		if t.Kind == "container" && t.Status != verify.Unverifiable {
			b.WriteString(" (its own layers cannot be checked)")
		}
		b.WriteString("\n")
	}
	_, err := fmt.Fprint(e.stdout, b.String())
	return err
}

type findingJSON struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	What string `json:"what"`
	Loss bool   `json:"loss"`
}

type layerCheckJSON struct {
	ID  string `json:"id"`
	Dir string `json:"dir"`
	// Archive is where a layer of an image archive is (it has no dir).
	Archive *layerstore.ArchiveBlob `json:"archive,omitempty"`
	Status  string                  `json:"status"`
	Reason  string                  `json:"reason,omitempty"`
	DiffID  string                  `json:"diff_id,omitempty"`
	Digest  string                  `json:"digest,omitempty"`
	Size    int64                   `json:"size,omitempty"`
	// The two questions, for a checked layer: contents "intact" or
	// "changed"; directory "intact", "lossy" or "changed".
	Contents  string        `json:"contents,omitempty"`
	Directory string        `json:"directory,omitempty"`
	Findings  []findingJSON `json:"findings,omitempty"`
}

type targetCheckJSON struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	ID     string   `json:"id,omitempty"`
	Status string   `json:"status"`
	Error  string   `json:"error,omitempty"`
	Layers []string `json:"layers"`
}

func verifyJSON(res *verify.Result) any {
	out := struct {
		Layers  []layerCheckJSON  `json:"layers"`
		Targets []targetCheckJSON `json:"targets"`
	}{Layers: []layerCheckJSON{}, Targets: []targetCheckJSON{}}
	for _, lc := range res.Layers {
		j := layerCheckJSON{ID: lc.Layer.ID, Dir: lc.Layer.Dir, Archive: lc.Layer.Archive, Status: string(lc.Status), Reason: oneLine(lc.Reason), DiffID: lc.Layer.DiffID, Digest: lc.Digest, Size: lc.Size}
		if lc.Checked() {
			j.Contents, j.Directory = "changed", string(lc.Directory)
			if lc.Contents {
				j.Contents = "intact"
			}
		}
		for _, f := range lc.Findings {
			j.Findings = append(j.Findings, findingJSON{Path: "/" + f.Path, Kind: f.Kind.String(), What: f.What, Loss: f.Loss})
		}
		out.Layers = append(out.Layers, j)
	}
	for _, t := range res.Targets {
		j := targetCheckJSON{Kind: t.Kind, Name: t.Name, ID: t.ID, Status: string(t.Status), Layers: []string{}}
		if t.Err != nil {
			j.Status, j.Error = string(verify.Error), t.Err.Error()
		}
		for _, l := range t.Layers {
			j.Layers = append(j.Layers, l.Layer.ID)
		}
		out.Targets = append(out.Targets, j)
	}
	return out
}

func shortDigest(d string) string {
	if len(d) > len("sha256:")+12 {
		return d[:len("sha256:")+12]
	}
	return d
}
