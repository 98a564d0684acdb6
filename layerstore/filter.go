package layerstore

import (
	"fmt"
	"strings"
)

// Filter is a set of docker ps --filter terms that a container must all
// match. Only label terms are taken: label=KEY (the label is set) and
// label=KEY=VALUE (it is set to VALUE), as docker and crictl take them,
// so that one pod's or one namespace's containers can be picked
// (label=io.kubernetes.pod.namespace=prod).
type Filter struct {
	labels []labelTerm
}

type labelTerm struct {
	key, value string
	hasValue   bool
}

// ParseFilter reads --filter terms; an unknown kind of term, or one
// without a key, is an error naming it.
func ParseFilter(terms []string) (Filter, error) {
	var f Filter
	for _, t := range terms {
		kind, rest, ok := strings.Cut(t, "=")
		if !ok || kind != "label" {
			return f, fmt.Errorf("filter %q: only label=KEY and label=KEY=VALUE are taken", t)
		}
		key, value, hasValue := strings.Cut(rest, "=")
		if key == "" {
			return f, fmt.Errorf("filter %q: no label key", t)
		}
		f.labels = append(f.labels, labelTerm{key, value, hasValue})
	}
	return f, nil
}

// Empty says the filter takes every container.
func (f Filter) Empty() bool { return len(f.labels) == 0 }

// Match says whether c matches every term.
func (f Filter) Match(c Container) bool {
	for _, t := range f.labels {
		v, ok := c.Labels[t.key]
		if !ok || t.hasValue && v != t.value {
			return false
		}
	}
	return true
}
