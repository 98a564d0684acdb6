package main

import "testing"

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
