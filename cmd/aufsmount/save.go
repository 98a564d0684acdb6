package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/distribution/reference"
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/internal/words"
	"github.com/aufsmount/aufsmount/layerstore/save"
)

func (e *env) saveCommand() *cli.Command {
	return &cli.Command{
		Name:      "save",
		Usage:     "write images and containers to a tar archive, as docker save does",
		UsageText: "aufsmount [--root DIR] save [-o FILE] [--tag NAME:TAG] [--as-is] [--with-volumes] REF...",
		Description: `Writes one archive holding the images and containers named, in the format
of docker save of Docker 25 and later: manifest.json and repositories,
a directory per layer, and the OCI image layout (oci-layout, index.json,
blobs/sha256/). docker load of it, on any Docker since 1.10, gives the
images their ids and tags; skopeo and umoci read it too. Each
layer is stored once, however many images share it.

Each image layer is its original tar stream, rebuilt byte for byte from
the tar-split Docker kept of it and the layer's files, so the image
configs are written as they are and the image ids stay. A layer whose
files no longer match its tar-split stops the save, naming what
differs, and nothing is left of FILE; with --as-is it is written as a
fresh tar of what is there now instead, which gives its image a new
config and a new id, and a warning names it. A layer that has no
tar-split is written as a fresh tar too, and said so.

REF as docker save takes it: a tag saves that tag, a bare name every tag
of that name, an image id the image without a name. A pre-1.10 image gets
the config Docker 1.10's migration would have made of it. A container is
saved as docker commit would make an image of it: its image's layers and
one more, its own changes (its init layer left out), with its own
settings; --tag names that image. What was mounted into it is left out,
as docker commit leaves it out, and said so: its volumes and binds.
With --with-volumes, the data of each of its volumes that the store
holds (volumes/<name>/_data) goes into its layer at the volume's
destination, opaque there as the volume was over the image's files.

FILE is written whole or not at all: the archive goes to a new file
beside it, .FILE.aufsmount-XXXXXXXX, renamed to FILE once complete. An
error, SIGINT (Ctrl-C), SIGTERM, SIGHUP or SIGPIPE removes it, and a FILE
that was there stays as it was. Without -o, or with -o -, the archive
goes to standard output, which must not be a terminal.

Examples:
   aufsmount save -o app.tar user/app:v1
   aufsmount --root /srv/old/docker save busybox | docker load
   aufsmount save --tag rescued/web:1 -o web.tar web-container`,
		Flags: append(storeFlags(),
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the archive to `FILE` (\"-\": standard output)"},
			&cli.StringFlag{Name: "tag", Usage: "name the image made of a container `NAME:TAG`"},
			&cli.BoolFlag{Name: "as-is", Usage: "save layers whose files changed as they are now (new diff ids and image ids)"},
			&cli.BoolFlag{Name: "with-volumes", Usage: "put the data of a container's volumes in its layer, at their destinations"},
		),
		Action: e.saveAction,
	}
}

func (e *env) saveAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("save: expected at least one REF (see aufsmount save --help)")
	}
	var tag reference.NamedTagged
	if t := c.String("tag"); t != "" {
		named, err := reference.ParseNormalizedNamed(t)
		if err != nil {
			return usageErrorf("save: --tag %s: %v", t, err)
		}
		if _, ok := named.(reference.Digested); ok {
			return usageErrorf("save: --tag %s: a tag, not a digest", t)
		}
		tag = reference.TagNameOnly(named).(reference.NamedTagged)
	}
	out := c.String("output")
	toStdout := out == "" || out == "-"
	if toStdout && isTerminal(e.stdout) {
		return usageErrorf("save: refusing to write a tar archive to a terminal: name a file with -o FILE, or redirect standard output")
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	var target string
	if !toStdout {
		if target, err = outputTarget(out, s.Root()); err != nil {
			return err
		}
	}
	sw := &saveWriter{e: e}
	opt := save.Options{
		AsIs:        c.Bool("as-is"),
		Tag:         tag,
		WithVolumes: c.Bool("with-volumes"),
		Warn:        func(msg string) { fmt.Fprintf(e.stderr, "aufsmount: %s\n", msg) },
		Quote:       words.Path,
		Progress:    sw.add,
		LayerDone:   sw.layerDone,
	}
	a, err := save.Plan(s, c.Args().Slice(), opt)
	if err != nil {
		return saveError(err)
	}
	if opt.WithVolumes && !a.HasContainer() {
		return usageErrorf("save: --with-volumes puts a container's volumes in its layer: give a container")
	}
	sw.a = a
	if toStdout {
		return saveError(sw.write(e.stdout))
	}
	return saveError(sw.writeFile(target))
}

// saveError is err as the command says it: a save stopped by changed
// layers with the flag that goes on, a tag without one container as a
// mistake in the command line.
func saveError(err error) error {
	var changed *save.ChangedError
	var tagErr *save.TagError
	switch {
	case errors.As(err, &changed) && changed.Writing:
		return fmt.Errorf("save: layer %s changed since it was unpacked (nothing saved; --as-is saves it as it is now, with new ids)", changed.Layers[0])
	case errors.As(err, &changed):
		n := len(changed.Layers)
		return fmt.Errorf("save: %d %s no longer %s the original tars (nothing saved; --as-is saves them as they are now, with new ids)",
			n, words.Plural(n, "layer", "layers"), words.Plural(n, "matches", "match"))
	case errors.As(err, &tagErr):
		return usageErrorf("save: --tag names the image made of a container: give exactly one container (got %d)", tagErr.Containers)
	}
	return err
}

// saveWriter writes a planned archive, with the progress display.
type saveWriter struct {
	e      *env
	a      *save.Archive
	prog   *progress // while writing
	layers int       // written
}

func (sw *saveWriter) add(n int64) { sw.prog.add(n) }

func (sw *saveWriter) layerDone() {
	sw.prog.layerDone()
	if sw.layers++; sw.layers == sw.a.Layers() {
		sw.prog.close() // before what is said of the images
	}
}

// outputTarget is the file -o out names, its symlinks followed (the file
// they lead to is replaced, not the link), refused inside the store.
func outputTarget(out, root string) (string, error) {
	abs, err := filepath.Abs(out)
	if err != nil {
		return "", err
	}
	target := abs
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		target = filepath.Join(dir, filepath.Base(abs))
	}
	if fi, err := os.Lstat(target); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if target, err = filepath.EvalSymlinks(target); err != nil {
			return "", fmt.Errorf("-o %s: %w", out, err)
		}
	}
	if within(abs, root) || within(target, root) {
		return "", usageErrorf("save: -o %s is inside the store %s, which is never written", out, root)
	}
	return target, nil
}

// writeFile writes the archive to path whole or not at all (save.File),
// its new file removed if a signal ends the save.
func (sw *saveWriter) writeFile(path string) error {
	o := save.NewFile(path)
	if !o.Direct() {
		defer removeOnSignal(o)()
	}
	if err := o.Create(); err != nil {
		return err
	}
	defer o.Remove() // after a failure, or a panic; nothing once committed
	if err := sw.write(o); err != nil {
		return err
	}
	return o.Commit()
}

// write writes the archive to w, with the progress display.
func (sw *saveWriter) write(w io.Writer) error {
	sw.prog = newProgress(sw.e.stderr, "save", sw.a.Layers(), sw.a.Size())
	err := sw.a.Write(w)
	sw.prog.close()
	if errors.Is(err, unix.EPIPE) {
		return errors.New("the reader of the archive went away (broken pipe)")
	}
	return err
}
