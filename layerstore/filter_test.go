package layerstore

import "testing"

func TestFilter(t *testing.T) {
	web := Container{Name: "prod/shop/web", Labels: map[string]string{"io.kubernetes.pod.namespace": "prod", "tier": ""}}
	bare := Container{Name: "bare"}
	for _, c := range []struct {
		terms     []string
		web, bare bool
		err       string
	}{
		{nil, true, true, ""},
		{[]string{"label=io.kubernetes.pod.namespace"}, true, false, ""},
		{[]string{"label=io.kubernetes.pod.namespace=prod"}, true, false, ""},
		{[]string{"label=io.kubernetes.pod.namespace=dev"}, false, false, ""},
		{[]string{"label=tier="}, true, false, ""},
		{[]string{"label=io.kubernetes.pod.namespace=prod", "label=tier"}, true, false, ""},
		{[]string{"label=io.kubernetes.pod.namespace=prod", "label=nosuch"}, false, false, ""},
		{[]string{"status=running"}, false, false, `filter "status=running": only label=KEY and label=KEY=VALUE are taken`},
		{[]string{"label="}, false, false, `filter "label=": no label key`},
	} {
		f, err := ParseFilter(c.terms)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("ParseFilter(%q) = %v, want %q", c.terms, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", c.terms, err)
		}
		if f.Match(web) != c.web || f.Match(bare) != c.bare {
			t.Errorf("ParseFilter(%q): web %v bare %v, want %v %v", c.terms, f.Match(web), f.Match(bare), c.web, c.bare)
		}
	}
}
