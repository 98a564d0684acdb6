package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore/verify"
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

A layer of an image archive or OCI layout (--root FILE|DIR) has neither
directory nor tar-split: its blob is read whole, every time (never from
the index a mount cached), against its digest and its stream against
the diff id; MODIFIED names a blob that is not what the archive says.

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

func (e *env) verifyAction(c *cli.Context) error {
	s, err := openStore(c)
	if err != nil {
		return err
	}
	var prog *progress
	res := verify.Run(s, c.Args().Slice(), verify.Options{
		Start:     func(layers int, bytes int64) { prog = newProgress(e.stderr, "verify", layers, bytes) },
		Progress:  func(n int64) { prog.add(n) },
		LayerDone: func() { prog.layerDone() },
	})
	prog.close()
	if c.Bool("json") {
		err = writeJSON(e.stdout, verifyJSON(res))
	} else {
		err = e.printVerify(res, c.Bool("verbose"))
	}
	if err != nil {
		return err
	}
	switch code := verifyExits[res.Verdict()]; code {
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
