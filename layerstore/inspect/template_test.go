package inspect

import (
	"encoding/json"
	"strings"
	"testing"
	"text/template"
	"time"
)

// TestTemplateData: what -f templates see of an object: docker's fields
// as the JSON has them, numbers as written, and the fields docker's
// types have but its JSON leaves out, nil or empty; a field of no type
// is an error.
func TestTemplateData(t *testing.T) {
	size := int64(207289555)
	img := &Image{Id: "sha256:ab", Size: &size, Config: json.RawMessage(`{"Cmd":["sh"]}`), ContainerConfig: json.RawMessage(`{}`),
		Metadata: &ImageMetadata{LastTagTime: time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)}}
	ctr := &Container{State: State{Status: "exited", ExitCode: 127}, Config: json.RawMessage(`{"Image":"busybox"}`)}
	for _, tc := range []struct {
		v         any
		tmpl      string
		want, err string
	}{
		{img, `{{.Id}} {{.Size}} {{.Config.Cmd}}`, `sha256:ab 207289555 [sh]`, ""},
		{img, `[{{.Variant}}][{{.OsVersion}}][{{.Config.StopSignal}}][{{.ContainerConfig.Shell}}][{{.Config.Healthcheck}}]`, `[][][][[]][<nil>]`, ""},
		{img, `{{.Metadata.LastTagTime}}`, `2024-05-01 10:00:00 +0000 UTC`, ""},
		{img, `{{.Metadata.LastTagTime.Year}}`, `2024`, ""},
		{ctr, `{{.State.Status}} {{.State.ExitCode}} {{.State.Health}} {{.SizeRw}} {{.Node}}`, `exited 127 <nil> <nil> <nil>`, ""},
		{ctr, `{{.Config.Image}} {{.Config.StopTimeout}} {{.Config.ArgsEscaped}}`, `busybox <nil> false`, ""},
		{ctr, `{{.Nothing}}`, "", `map has no entry for key "Nothing"`},
		{img, `{{.SizeRw}}`, "", `map has no entry for key "SizeRw"`},
	} {
		data, err := TemplateData(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		err = template.Must(template.New("").Option("missingkey=error").Parse(tc.tmpl)).Execute(&b, data)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%s: error %v, want one saying %s", tc.tmpl, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.tmpl, err)
		case tc.err == "" && b.String() != tc.want:
			t.Errorf("%s = %q, want %q", tc.tmpl, b.String(), tc.want)
		}
	}
}
