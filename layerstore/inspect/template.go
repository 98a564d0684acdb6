package inspect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

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

// TemplateData is v, an object of Of, as docker inspect's -f sees it:
// the JSON as printed, so that the fields are docker's, decoded as
// docker decodes it where its types do not answer (numbers as written:
// 207289555, not 2.07289555e+08), with typedZeros.
func TemplateData(v any) (any, error) {
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
	case *Container:
		fill(m, "", typedZeros["container"])
		fill(m, "State", typedZeros["state"])
		fill(m, "Config", typedZeros["config"])
	case *Image:
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
