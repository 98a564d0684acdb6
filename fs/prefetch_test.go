package fs

import "testing"

// TestPrefetchOrder checks the queue hands out what a depth-first walker
// opens next: the newest listing's subdirectories first, in listing
// order, then the rest of the older listings; indexed ones are skipped
// and the oldest listings go first when the queue is full.
func TestPrefetchOrder(t *testing.T) {
	dirs := map[string]*dirNode{}
	d := func(name string) *dirNode {
		if dirs[name] == nil {
			dirs[name] = &dirNode{node: node{ent: &entry{name: name}}}
		}
		return dirs[name]
	}
	type add struct{ parent, dir string }
	tests := []struct {
		name    string
		adds    []add
		indexed []string
		want    []string
	}{
		{"one listing in order",
			[]add{{"r", "a"}, {"r", "b"}, {"r", "c"}}, nil,
			[]string{"a", "b", "c"}},
		{"the newest listing first",
			[]add{{"r", "a"}, {"r", "b"}, {"a", "a1"}, {"a", "a2"}}, nil,
			[]string{"a1", "a2", "a", "b"}},
		{"three levels",
			[]add{{"r", "a"}, {"r", "b"}, {"a", "a1"}, {"a1", "x"}}, nil,
			[]string{"x", "a1", "a", "b"}},
		{"a listing resumed after a deeper one is the newest",
			[]add{{"r", "a"}, {"a", "a1"}, {"a1", "x"}, {"a", "a2"}}, nil,
			[]string{"a2", "x", "a1", "a"}},
		{"indexed ones skipped",
			[]add{{"r", "a"}, {"r", "b"}, {"r", "c"}}, []string{"b"},
			[]string{"a", "c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clear(dirs)
			p := &prefetcher{running: true} // no worker: the test takes the queue
			for _, a := range tc.adds {
				p.add(d(a.parent), d(a.dir))
			}
			for _, name := range tc.indexed {
				ents := []entry{}
				d(name).index.Store(&ents)
			}
			var got []string
			for n := p.next(); n != nil; n = p.next() {
				got = append(got, n.ent.name)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
			if p.running || p.queued != 0 {
				t.Errorf("after draining: running %v, queued %d", p.running, p.queued)
			}
		})
	}
}

func TestPrefetchBound(t *testing.T) {
	p := &prefetcher{running: true}
	root := &dirNode{node: node{ent: &entry{name: "r"}}}
	old := &dirNode{node: node{ent: &entry{name: "old"}}}
	p.add(root, old)
	parent := &dirNode{node: node{ent: &entry{name: "p"}}}
	for i := 0; i < maxPrefetch; i++ {
		p.add(parent, &dirNode{node: node{ent: &entry{name: "new"}}})
	}
	n := 0
	for d := p.next(); d != nil; d = p.next() {
		if d == old {
			t.Fatal("the oldest listing should have been dropped")
		}
		n++
	}
	if n != maxPrefetch {
		t.Errorf("handed out %d, want %d", n, maxPrefetch)
	}
}
