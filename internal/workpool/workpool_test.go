package workpool

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestEach: every task runs once, with no more workers at a time than
// asked for.
func TestEach(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{0, 4}, {1, 4}, {10, 1}, {100, 3}, {5, 0}} {
		var mu sync.Mutex
		seen := map[int]int{}
		var running, peak atomic.Int32
		Each(tc.n, tc.workers, func(i int) {
			r := running.Add(1)
			for {
				p := peak.Load()
				if r <= p || peak.CompareAndSwap(p, r) {
					break
				}
			}
			mu.Lock()
			seen[i]++
			mu.Unlock()
			running.Add(-1)
		})
		if len(seen) != tc.n {
			t.Errorf("n=%d workers=%d: %d tasks ran", tc.n, tc.workers, len(seen))
		}
		for i, c := range seen {
			if c != 1 {
				t.Errorf("n=%d workers=%d: task %d ran %d times", tc.n, tc.workers, i, c)
			}
		}
		if limit := int32(max(1, tc.workers)); peak.Load() > limit {
			t.Errorf("n=%d workers=%d: %d ran at once", tc.n, tc.workers, peak.Load())
		}
	}
}
