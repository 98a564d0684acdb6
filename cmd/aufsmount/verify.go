package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/internal/workpool"
	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/layertar"
)

func (e *env) verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check that images and containers hold what their layers' original tars did",
		UsageText: "aufsmount [--root DIR] verify [--verbose | --json] [REF...]",
		Description: `Rebuilds each image layer's original tar stream from the tar-split Docker
kept of it and the layer's directory, without writing it anywhere, and
answers two questions of it apart. Are its contents intact: is the
stream's sha256 the layer's diff id, and every file of its recorded size
and crc64? Is the directory as Docker unpacked it: every entry's type,
mode, owner, mtime, link target, device and xattrs as its header says,
and no entry the tar never had? Without REF, every image and container
of the store; each layer is checked once however many images share it.

A difference is a copy's loss or a change. A copy of the store made
without root or without -a (cp -r, rsync -r, zip) loses in known ways:
owners become the copier's, and setuid and setgid go with them; times
become the copy's, later, and a copy that cannot keep times drops the
sticky bit and the umask's bits too; xattrs, device nodes and fifos are
left out; hard links become files of their own. Anything else is a
change: a file's bytes, an entry added, removed or of another kind, a
mode bit gained (or dropped where the times were kept), an xattr
altered, an owner other than the copier's, a time moved earlier.

A line per layer: OK, LOSSY (contents intact, every difference a copy's
loss), MODIFIED (something changed), UNVERIFIABLE with the reason (a
container's own layers, or a layer without a tar-split, cannot be
checked) or ERROR. It says "contents intact" or "contents changed", and
counts the differences by kind: "directory changed: 1 mode; a copy lost
2,413 owners, 2,401 modes, 2,413 mtimes, 1 xattr, 3 fifos, 12 hard
links". The changes follow, a path a line (the first 10 of a layer);
--verbose lists every path that differs, a copy's losses marked "(lost
by a copy)". Then a line per image or container, the worst of its
layers. --json prints one object, {"layers": [...], "targets": [...]},
with every finding of a layer as {"path", "kind", "what", "loss"}.

` + verifyStatusText("Exit status:\n", "   %d  %s\n") + `
Examples:
   aufsmount verify
   aufsmount verify --verbose busybox:latest
   aufsmount verify --json busybox:latest my-container`,
		Flags: append(storeFlags(),
			&cli.BoolFlag{Name: "verbose", Usage: "list every path that differs, a copy's losses too"},
			&cli.BoolFlag{Name: "json", Usage: `print one JSON object, {"layers": [...], "targets": [...]}, instead of lines`}),
		Action: e.verifyAction,
	}
}

// Statuses of a layer, image or container.
const (
	statusOK           = "OK"
	statusLossy        = "LOSSY"
	statusModified     = "MODIFIED"
	statusUnverifiable = "UNVERIFIABLE"
	statusError        = "ERROR"
)

// layerCheck is the verdict on one layer.
type layerCheck struct {
	Layer    layerstore.Layer
	Status   string
	Reason   string // why UNVERIFIABLE or ERROR; a stream that is not the diff id
	Digest   string // of the rebuilt stream
	Size     int64
	Findings []layertar.Finding // in path order
	// Contents says the original stream is there (OK, LOSSY, MODIFIED).
	Contents bool
}

// targetCheck is the verdict on one image or container.
type targetCheck struct {
	Kind, Name, ID string
	Status         string
	Err            error    // it could not be resolved
	Layers         []string // layer dirs, top first
}

func (e *env) verifyAction(c *cli.Context) error {
	s, err := openStore(c)
	if err != nil {
		return err
	}
	targets, resolved := verifyTargets(s, c.Args().Slice())
	checks, order := planChecks(resolved)
	var total int64
	n := 0
	for _, d := range order {
		if lc := checks[d]; lc.Status == "" {
			n++
			total += max(lc.Layer.Size, 0)
		}
	}
	prog := newProgress(e.stderr, "verify", n, total)
	runChecks(checks, order, prog)
	prog.close()
	statuses := make([]string, 0, len(order))
	for _, d := range order {
		statuses = append(statuses, checks[d].Status)
	}
	unresolved := false
	for i, t := range targets {
		if t.Err == nil {
			targets[i].Status = targetStatus(t, checks)
		}
		unresolved = unresolved || t.Err != nil
	}
	if c.Bool("json") {
		err = writeJSON(e.stdout, verifyJSON(checks, order, targets))
	} else {
		err = e.printVerify(checks, order, targets, c.Bool("verbose"))
	}
	if err != nil {
		return err
	}
	switch code := verifyExit(statuses, unresolved); code {
	case verifyIntact:
		return nil
	case verifyChanged:
		return errSilent
	case verifyUnchecked:
		fmt.Fprintln(e.stderr, "aufsmount: nothing could be checked: no image layer has a tar-split")
		return exitStatus(code)
	default:
		return exitStatus(code)
	}
}

// verifyTargets resolves refs, or every image and container of s; a ref
// that cannot be resolved is reported, and the rest are still checked.
// The targets come with their resolutions, nil where that failed.
func verifyTargets(s *layerstore.Store, refs []string) ([]targetCheck, []*layerstore.Target) {
	var out []targetCheck
	var resolved []*layerstore.Target
	add := func(kind, name string, t *layerstore.Target, err error) {
		tc := targetCheck{Kind: kind, Name: name, Err: err}
		if t != nil {
			tc.Kind, tc.Name = kindName(t), t.Name
			if t.Container != nil {
				tc.ID = t.Container.ID
			} else if t.Image != nil {
				tc.ID = t.Image.ID
			}
			for _, l := range t.Layers {
				tc.Layers = append(tc.Layers, l.Dir)
			}
		}
		out = append(out, tc)
		resolved = append(resolved, t)
	}
	if len(refs) > 0 {
		for _, r := range refs {
			t, err := s.Resolve(r)
			add("", r, t, err)
		}
		return out, resolved
	}
	for _, img := range s.Images() {
		t, err := s.ResolveIn(img.Driver, img.ID)
		name := layerstore.ShortID(img.ID)
		if len(img.Names) > 0 {
			name = img.Names[0]
		}
		add("image", name, t, err)
	}
	for _, ct := range s.Containers() {
		t, err := s.ResolveIn(ct.Driver, ct.ID)
		add("container", ct.Name, t, err)
	}
	return out, resolved
}

func kindName(t *layerstore.Target) string {
	if t.Kind == layerstore.KindContainer {
		return "container"
	}
	return "image"
}

// planChecks lists every layer of the targets once, by directory, in the
// order met; a container's own layers are unverifiable from the start.
func planChecks(resolved []*layerstore.Target) (map[string]*layerCheck, []string) {
	checks := map[string]*layerCheck{}
	var order []string
	for _, t := range resolved {
		if t == nil {
			continue
		}
		own := 0
		if t.Kind == layerstore.KindContainer && t.Image != nil {
			own = len(t.Layers) - t.Image.Layers
		}
		for j, l := range t.Layers {
			if checks[l.Dir] != nil {
				continue
			}
			lc := &layerCheck{Layer: l}
			switch {
			case j < own && j == 0:
				lc.Status, lc.Reason = statusUnverifiable, "a container's writable layer: no tar-split"
			case j < own:
				lc.Status, lc.Reason = statusUnverifiable, "a container's init layer: no tar-split"
			case l.TarSplit == "":
				lc.Status, lc.Reason = statusUnverifiable, "no tar-split"
			}
			checks[l.Dir] = lc
			order = append(order, l.Dir)
		}
	}
	return checks, order
}

// runChecks verifies the layers still to check, a few at a time.
func runChecks(checks map[string]*layerCheck, order []string, prog *progress) {
	var todo []*layerCheck
	for _, d := range order {
		if lc := checks[d]; lc.Status == "" {
			todo = append(todo, lc)
		}
	}
	workpool.Each(len(todo), workpool.Cores(), func(i int) {
		checkLayer(todo[i], prog)
		prog.layerDone()
	})
}

// checkLayer verifies one image layer.
func checkLayer(lc *layerCheck, prog *progress) {
	rep, err := layertar.Verify(layerstore.TarLayer(lc.Layer), prog.add)
	switch {
	case errors.Is(err, layertar.ErrNoTarSplit):
		lc.Status, lc.Reason = statusUnverifiable, "no tar-split (the store has lost it)"
		return
	case err != nil:
		lc.Status, lc.Reason = statusError, oneLine(err.Error())
		return
	}
	lc.Digest, lc.Size, lc.Findings = rep.Digest, rep.Size, rep.Findings
	if lc.mismatch() {
		lc.Reason = fmt.Sprintf("its rebuilt stream is %s, not its diff id %s", rep.Digest, lc.Layer.DiffID)
	}
	lc.Status, lc.Contents = judgeLayer(lc.Findings, lc.mismatch(), lc.Layer.DiffID != "")
}

// mismatch says the rebuilt stream is not the layer's diff id.
func (lc *layerCheck) mismatch() bool {
	return lc.Layer.DiffID != "" && lc.Digest != lc.Layer.DiffID
}

// targetStatus is the worst of its layers': ERROR, MODIFIED, LOSSY,
// OK, UNVERIFIABLE in that order.
func targetStatus(t targetCheck, checks map[string]*layerCheck) string {
	st := statusUnverifiable
	for _, d := range t.Layers {
		if s := checks[d].Status; statusRank[s] > statusRank[st] {
			st = s
		}
	}
	return st
}

var statusRank = map[string]int{statusUnverifiable: 0, statusOK: 1, statusLossy: 2, statusModified: 3, statusError: 4}
