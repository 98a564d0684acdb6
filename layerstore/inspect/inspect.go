// Package inspect is what docker inspect prints of an image or a
// container of a store: objects of docker's shape, built from the
// configs the store keeps (Of), with aufsmount's own part (AufsMount:
// what a view shows over the layers and what it cannot show); the JSON
// as docker writes it (Marshal); and the data docker's -f templates see
// (TemplateData).
//
// It never prints: what the store lacks but docker would show is left
// empty and handed back as warnings.
package inspect

import (
	"bytes"
	"encoding/json"

	"github.com/aufsmount/aufsmount/layerstore"
)

// Of is what docker inspect prints of t, a target of s: an *Image or a
// *Container. A file an image's object is built from that cannot be
// read, or a container's hostconfig.json, leaves its fields empty and is
// one of warnings; a container whose config cannot be read is an error.
func Of(s layerstore.Source, t *layerstore.Target) (v any, warnings []error, err error) {
	if t.Kind == layerstore.KindContainer {
		return containerOf(s, t)
	}
	img, warnings := imageOf(s, t)
	return img, warnings, nil
}

// GraphDriver is where the storage driver keeps the layers, as docker
// inspect prints it.
type GraphDriver struct {
	Data map[string]string
	Name string
}

func graphDriver(t *layerstore.Target) GraphDriver {
	name, data := t.GraphDriver()
	return GraphDriver{Name: name, Data: data}
}

// View is aufsmount's part of an object: what a view shows over the
// layers, what it cannot show, and what was worked around.
type View struct {
	Binds    []Bind    `json:",omitempty"`
	NotShown []Unshown `json:",omitempty"`
	Warnings []string  `json:",omitempty"`
}

// Bind is what a container's view mounts over its layers, from the store.
type Bind struct {
	Destination string
	Source      string // the path in the store
	Kind        string
}

// Unshown is what Docker mounted into a container that its view cannot
// show, and why.
type Unshown struct {
	Destination string
	Source      string
	Kind        string
	Reason      string
}

// Marshal is objects as the JSON array docker inspect prints, indented
// by four spaces, with a newline at the end.
func Marshal(objects []any) ([]byte, error) {
	if objects == nil {
		objects = []any{}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(objects); err != nil {
		return nil, err
	}
	return unescapeHTML(b.Bytes()), nil
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
