package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"text/template"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/aufsmount/aufsmount/layerstore"
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

type graphDriverJSON struct {
	Data map[string]string
	Name string
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
			if v, err = e.inspectTarget(s, t); err == nil {
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
			data, err := templateData(v)
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
		if out == nil {
			out = []any{}
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "    ")
		if err := enc.Encode(out); err != nil {
			return err
		}
		if _, err := e.stdout.Write(unescapeHTML(b.Bytes())); err != nil {
			return err
		}
	}
	if failed {
		return errSilent
	}
	return nil
}

// htmlEscapes are the escapes json.Marshal writes for <, > and &.
var htmlEscapes = map[string]byte{`\u003c`: '<', `\u003e`: '>', `\u0026`: '&'}

// unescapeHTML undoes htmlEscapes in the JSON b: Docker wrote them into
// the configs, and docker inspect does not print them (its engine
// answers with them undone). Any other escape stays whole, so that an
// escaped backslash followed by "u003c" stays as it is.
func unescapeHTML(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] != '\\' || i+1 == len(b):
			out = append(out, b[i])
		case i+6 <= len(b) && htmlEscapes[string(b[i:i+6])] != 0:
			out = append(out, htmlEscapes[string(b[i:i+6])])
			i += 5
		default:
			out = append(out, b[i], b[i+1])
			i++
		}
	}
	return out
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

// typedZeros are the fields docker's types have that its JSON leaves out
// when they are empty: its -f still finds them, nil or "", where a field
// of no type is an error.
var typedZeros = map[string]map[string]any{
	"container": {"SizeRw": (*int64)(nil), "SizeRootFs": (*int64)(nil), "Node": (*struct{})(nil)},
	"state":     {"Health": (*struct{})(nil)},
	"image":     {"Variant": "", "OsVersion": ""},
	// A container's Config, and an image's Config and ContainerConfig.
	"config": {"ExposedPorts": map[string]struct{}(nil), "Healthcheck": (*struct{})(nil), "ArgsEscaped": false,
		"NetworkDisabled": false, "MacAddress": "", "StopSignal": "", "StopTimeout": (*int)(nil), "Shell": []string(nil)},
}

// templateData is v as -f sees it: the JSON as printed, so that the
// fields are docker's, decoded as docker decodes it where its types do
// not answer (numbers as written: 207289555, not 2.07289555e+08), with
// typedZeros.
func templateData(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	// fill gives m[key] (m itself for "") the zeros it lacks.
	fill := func(m map[string]any, key string, zeros map[string]any) {
		if key != "" {
			if m, _ = m[key].(map[string]any); m == nil {
				return
			}
		}
		for k, z := range zeros {
			if _, ok := m[k]; !ok {
				m[k] = z
			}
		}
	}
	switch v.(type) {
	case *containerInspect:
		fill(m, "", typedZeros["container"])
		fill(m, "State", typedZeros["state"])
		fill(m, "Config", typedZeros["config"])
	case *imageInspect:
		fill(m, "", typedZeros["image"])
		fill(m, "Config", typedZeros["config"])
		fill(m, "ContainerConfig", typedZeros["config"])
		// A time.Time in docker's types, which prints as Go prints one.
		if md, ok := m["Metadata"].(map[string]any); ok {
			if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(md["LastTagTime"])); err == nil {
				md["LastTagTime"] = at
			}
		}
	}
	return m, nil
}

func (e *env) inspectTarget(s layerstore.Source, t *layerstore.Target) (any, error) {
	if t.Kind == layerstore.KindContainer {
		return e.inspectContainer(s, t)
	}
	return e.inspectImage(s, t), nil
}

// graphDriver is GraphDriver as docker inspect prints it.
func graphDriver(t *layerstore.Target) graphDriverJSON {
	name, data := t.GraphDriver()
	return graphDriverJSON{Name: name, Data: data}
}
