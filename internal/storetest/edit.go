package storetest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aufsmount/aufsmount/layerstore"
)

// ContainerConfig is the config file of container c of a Docker store:
// containers/<id>/config.v2.json, config.json before Docker 1.10.
func (b *Built) ContainerConfig(c *Container) string {
	name := "config.v2.json"
	if b.Layout == layerstore.LayoutGraph {
		name = "config.json"
	}
	return filepath.Join(b.Root, "containers", b.ContainerID[c], name)
}

// EditConfig sets fields of container c's config, as Docker would have
// written them (State, NetworkSettings, MountPoints ...), keeping the
// others.
func (b *Built) EditConfig(c *Container, fields map[string]any) error {
	f := b.ContainerConfig(c)
	data, err := os.ReadFile(f)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("reading %s: %w", f, err)
	}
	for k, v := range fields {
		m[k] = v
	}
	if data, err = json.Marshal(m); err != nil {
		return err
	}
	return os.WriteFile(f, data, 0o600)
}
