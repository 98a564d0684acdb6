package main

import (
	"bytes"
	"fmt"
	"text/template"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
	"github.com/aufsmount/aufsmount/layerstore/inspect"
)

func (e *env) inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "print what the store says of images or containers, like docker inspect",
		UsageText: "aufsmount [--root DIR] inspect [-f FORMAT] [--type image|container] REF...",
		Description: `Prints a JSON array with one object for each REF, shaped as docker inspect
prints it. For an image: Id, RepoTags, RepoDigests, Parent, Comment,
Created, Container, ContainerConfig, DockerVersion, Author, Config,
Architecture, Os, Size, VirtualSize, GraphDriver, RootFS and Metadata,
from its config. For a container: its config (config.v2.json,
config.json before Docker 1.10) with HostConfig from hostconfig.json,
NetworkSettings as docker shapes it, Platform, GraphDriver, Mounts,
and State as docker shows it, plus "AufsMount": what a view of it shows
over its layers (Binds: its /etc/hosts, volumes ... with where they are
in the store) and what it cannot show (NotShown: host paths, tmpfs,
volumes of other drivers, each with why). Paths in GraphDriver and
Mounts are where the store has them now.

A REF is looked for as docker inspect looks: among containers first,
then among images; --type image or --type container looks among those
only.

-f takes a Go template, run on each object as docker's -f is:
{{.Config.Env}}, {{json .State}}, {{.NetworkSettings.IPAddress}}. A
field docker's own types have prints empty where the store has nothing
for it; a field nothing has is an error.

Examples:
   aufsmount inspect busybox:latest
   aufsmount inspect -f '{{.State.Status}} {{.State.ExitCode}}' web`,
		Flags: append(storeFlags(),
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Usage: "print each object with the Go template `FORMAT`"},
			&cli.StringFlag{Name: "type", Usage: "look for images only (`TYPE` image) or containers only (container)"}),
		Action: e.inspectAction,
	}
}

func (e *env) inspectAction(c *cli.Context) error {
	if c.NArg() == 0 {
		return usageErrorf("inspect: expected at least one REF (see aufsmount inspect --help)")
	}
	format, typ := c.String("format"), c.String("type")
	if _, ok := inspectTypes[typ]; !ok {
		return usageErrorf("inspect: --type %s: not a type of the store (image or container)", typ)
	}
	var tmpl *template.Template
	if format != "" {
		var err error
		if tmpl, err = parseTemplate("inspect", format); err != nil {
			return err
		}
	}
	s, err := openStore(c)
	if err != nil {
		return err
	}
	var out []any
	failed := false
	for _, ref := range c.Args().Slice() {
		t, err := e.inspectResolve(s, ref, typ)
		if err == nil {
			var v any
			var warnings []error
			v, warnings, err = inspect.Of(s, t)
			for _, w := range warnings {
				fmt.Fprintf(e.stderr, "aufsmount: warning: %s: %s\n", t.Ref, oneLine(w.Error()))
			}
			if err == nil {
				out = append(out, v)
				continue
			}
		}
		fmt.Fprintf(e.stderr, "aufsmount: %s\n", oneLine(err.Error()))
		failed = true
	}
	if tmpl != nil {
		var b bytes.Buffer
		for _, v := range out {
			data, err := inspect.TemplateData(v)
			if err != nil {
				return err
			}
			if err := tmpl.Execute(&b, data); err != nil {
				return fmt.Errorf("inspect: -f: %v", err)
			}
			b.WriteByte('\n')
		}
		if _, err := e.stdout.Write(b.Bytes()); err != nil {
			return err
		}
	} else if len(out) > 0 || !failed {
		b, err := inspect.Marshal(out)
		if err != nil {
			return err
		}
		if _, err := e.stdout.Write(b); err != nil {
			return err
		}
	}
	if failed {
		return errSilent
	}
	return nil
}

// inspectTypes are what --type takes.
var inspectTypes = map[string]layerstore.Kind{"": 0, "image": layerstore.KindImage, "container": layerstore.KindContainer}

// inspectResolve finds ref as docker inspect does
// (layerstore.ResolveInspect), and says what was worked around.
func (e *env) inspectResolve(s layerstore.Source, ref, typ string) (*layerstore.Target, error) {
	t, err := layerstore.ResolveInspect(s, ref, inspectTypes[typ])
	if err != nil {
		return nil, err
	}
	for _, w := range t.Warnings {
		fmt.Fprintf(e.stderr, "aufsmount: warning: %s\n", oneLine(w))
	}
	return t, nil
}
