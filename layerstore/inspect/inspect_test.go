package inspect

import (
	"encoding/json"
	"testing"
)

func TestUnescapeHTML(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`"echo hello \u003e /etc/motd"`, `"echo hello > /etc/motd"`},
		{`["a \u003c b \u0026\u0026 c"]`, `["a < b && c"]`},
		{`"\\u003e"`, `"\\u003e"`},                         // an escaped backslash, then text
		{`"\\\u003e"`, `"\\>"`},                            // an escaped backslash, then an escape
		{`"\u00e9 \n \" \u2028"`, `"\u00e9 \n \" \u2028"`}, // other escapes stay
		{`"\u003`, `"\u003`},                               // cut short
		{`\`, `\`},
		{``, ``},
	} {
		if got := string(unescapeHTML([]byte(tt.in))); got != tt.want {
			t.Errorf("unescapeHTML(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestMarshal: the array as docker inspect prints it, indented by four
// spaces, <, > and & as they are, also where a config had them escaped.
func TestMarshal(t *testing.T) {
	for _, tc := range []struct {
		objects []any
		want    string
	}{
		{nil, "[]\n"},
		{[]any{}, "[]\n"},
		{[]any{&Image{Id: "sha256:ab", RepoTags: []string{"a:<b>"}, RepoDigests: []string{},
			Config: json.RawMessage(`{"Cmd":["sh","-c","a \u003e b \u0026\u0026 c"]}`)}}, `[
    {
        "Id": "sha256:ab",
        "RepoTags": [
            "a:<b>"
        ],
        "RepoDigests": [],
        "Parent": "",
        "Comment": "",
        "Created": "",
        "Container": "",
        "ContainerConfig": null,
        "DockerVersion": "",
        "Author": "",
        "Config": {
            "Cmd": [
                "sh",
                "-c",
                "a > b && c"
            ]
        },
        "Architecture": "",
        "Os": "",
        "Size": null,
        "VirtualSize": null,
        "GraphDriver": {
            "Data": null,
            "Name": ""
        }
    }
]
`},
	} {
		got, err := Marshal(tc.objects)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("Marshal(%v) =\n%s\nwant\n%s", tc.objects, got, tc.want)
		}
	}
}
