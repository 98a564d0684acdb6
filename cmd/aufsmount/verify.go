package main

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layertar"
)

func (e *env) verifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "check that images and containers hold what their layers' original tars did",
		UsageText: "aufsmount [--root DIR] verify [--json] [REF...]",
		Description: `Rebuilds each image layer's original tar stream from the tar-split Docker
kept of it and the layer's directory, without writing it anywhere, and
checks it: its sha256 against the layer's diff id, every file against its
recorded size and crc64, every entry's type, mode, owner, mtime, link
target, device and xattrs against its header, and the directory for
entries the tar never had. Without REF, every image and container of the
store; each layer is checked once however many images share it.

A line per layer: OK, MODIFIED with every path that differs and how, or
UNVERIFIABLE with the reason (a container's own layers, or a layer
without a tar-split, cannot be checked); then one per image or
container. The exit status is 0 when everything that could be checked is
intact (UNVERIFIABLE layers alone do not fail it), 1 when anything is
modified or an error occurred.

Examples:
   aufsmount verify
   aufsmount verify --json busybox:latest my-container`,
		Flags:  append(storeFlags(), jsonFlag()),
		Action: e.verifyAction,
	}
}

// Statuses of a layer, image or container.
const (
	statusOK           = "OK"
	statusModified     = "MODIFIED"
	statusUnverifiable = "UNVERIFIABLE"
	statusError        = "ERROR"
)

// layerCheck is the verdict on one layer.
type layerCheck struct {
	Layer    layerstore.Layer
	Status   string
	Reason   string // for UNVERIFIABLE and ERROR
	Digest   string // of the rebuilt stream
	Size     int64
	Findings []layertar.Finding
}

// targetCheck is the verdict on one image or container.
type targetCheck struct {
	Kind, Name, ID string
	Status         string
	Err            error    // it could not be resolved
	Layers         []string // layer dirs, top first
}

type findingJSON struct {
	Path string `json:"path"`
	What string `json:"what"`
}

type layerCheckJSON struct {
	ID       string        `json:"id"`
	Dir      string        `json:"dir"`
	Status   string        `json:"status"`
	Reason   string        `json:"reason,omitempty"`
	DiffID   string        `json:"diff_id,omitempty"`
	Digest   string        `json:"digest,omitempty"`
	Size     int64         `json:"size,omitempty"`
	Findings []findingJSON `json:"findings,omitempty"`
}

type targetCheckJSON struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	ID     string   `json:"id,omitempty"`
	Status string   `json:"status"`
	Error  string   `json:"error,omitempty"`
	Layers []string `json:"layers"`
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
	for i, t := range targets {
		if t.Err == nil {
			targets[i].Status = targetStatus(t, checks)
		}
	}
	failed := false
	for _, d := range order {
		if st := checks[d].Status; st == statusModified || st == statusError {
			failed = true
		}
	}
	for _, t := range targets {
		failed = failed || t.Err != nil
	}
	if c.Bool("json") {
		err = writeJSON(e.stdout, verifyJSON(checks, order, targets))
	} else {
		err = e.printVerify(checks, order, targets)
	}
	if err != nil {
		return err
	}
	if failed {
		return errSilent
	}
	return nil
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
	jobs := make(chan *layerCheck)
	var wg sync.WaitGroup
	for w := 0; w < max(2, runtime.GOMAXPROCS(0)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lc := range jobs {
				checkLayer(lc, prog)
				prog.layerDone()
			}
		}()
	}
	for _, d := range order {
		if lc := checks[d]; lc.Status == "" {
			jobs <- lc
		}
	}
	close(jobs)
	wg.Wait()
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
	lc.Status = statusOK
	if lc.Layer.DiffID != "" && rep.Digest != lc.Layer.DiffID {
		lc.Reason = fmt.Sprintf("its rebuilt stream is %s, not its diff id %s", rep.Digest, lc.Layer.DiffID)
		lc.Status = statusModified
	}
	if len(lc.Findings) > 0 {
		lc.Status = statusModified
	}
}

// targetStatus is the worst of its layers': MODIFIED or ERROR if any is;
// else OK if any layer was checked; else UNVERIFIABLE.
func targetStatus(t targetCheck, checks map[string]*layerCheck) string {
	st := statusUnverifiable
	for _, d := range t.Layers {
		switch checks[d].Status {
		case statusError:
			return statusError
		case statusModified:
			st = statusModified
		case statusOK:
			if st == statusUnverifiable {
				st = statusOK
			}
		}
	}
	return st
}

func (e *env) printVerify(checks map[string]*layerCheck, order []string, targets []targetCheck) error {
	var b strings.Builder
	for _, d := range order {
		lc := checks[d]
		fmt.Fprintf(&b, "%-13s layer %s", lc.Status, layerstore.ShortID(lc.Layer.ID))
		switch lc.Status {
		case statusOK:
			fmt.Fprintf(&b, " (%s, %s)", shortDigest(lc.Digest), humanSize(lc.Size))
		case statusModified:
			fmt.Fprintf(&b, ": %d %s", len(lc.Findings), plural(len(lc.Findings), "difference", "differences"))
			if lc.Reason != "" {
				fmt.Fprintf(&b, "; %s", lc.Reason)
			}
		default:
			fmt.Fprintf(&b, ": %s", lc.Reason)
		}
		b.WriteString("\n")
		for _, f := range lc.Findings {
			fmt.Fprintf(&b, "    %s\n", quotePath(f.String()))
		}
	}
	for _, t := range targets {
		if t.Err != nil {
			fmt.Fprintf(&b, "%-13s %s: %s\n", statusError, quotePath(t.Name), oneLine(t.Err.Error()))
			continue
		}
		fmt.Fprintf(&b, "%-13s %s %s", t.Status, t.Kind, quotePath(t.Name))
		if t.Kind == "container" && t.Status != statusUnverifiable {
			b.WriteString(" (its own layers cannot be checked)")
		}
		b.WriteString("\n")
	}
	_, err := fmt.Fprint(e.stdout, b.String())
	return err
}

func verifyJSON(checks map[string]*layerCheck, order []string, targets []targetCheck) any {
	out := struct {
		Layers  []layerCheckJSON  `json:"layers"`
		Targets []targetCheckJSON `json:"targets"`
	}{Layers: []layerCheckJSON{}, Targets: []targetCheckJSON{}}
	for _, d := range order {
		lc := checks[d]
		j := layerCheckJSON{ID: lc.Layer.ID, Dir: lc.Layer.Dir, Status: lc.Status, Reason: lc.Reason, DiffID: lc.Layer.DiffID, Digest: lc.Digest, Size: lc.Size}
		for _, f := range lc.Findings {
			j.Findings = append(j.Findings, findingJSON{Path: "/" + f.Path, What: f.What})
		}
		out.Layers = append(out.Layers, j)
	}
	for _, t := range targets {
		j := targetCheckJSON{Kind: t.Kind, Name: t.Name, ID: t.ID, Status: t.Status, Layers: []string{}}
		if t.Err != nil {
			j.Status, j.Error = statusError, t.Err.Error()
		}
		for _, d := range t.Layers {
			j.Layers = append(j.Layers, checks[d].Layer.ID)
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
