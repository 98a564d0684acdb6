package fs

import (
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
)

// forgetBatch is how many directories the kernel must forget before the
// memory their indexes held is handed back to the system.
const forgetBatch = 1000

var (
	forgotten atomic.Int64
	releasing atomic.Bool
)

var _ = (fs.NodeOnForgetter)((*dirNode)(nil))

// OnForget runs when the kernel drops a directory (memory pressure,
// drop_caches): its index becomes garbage. Go returns freed memory to the
// system only slowly, so after a batch of forgets, once things settle,
// force it: the daemon's RSS then falls back instead of staying at its peak.
func (d *dirNode) OnForget() {
	if forgotten.Add(1) < forgetBatch || !releasing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		time.Sleep(time.Second)
		forgotten.Store(0)
		debug.FreeOSMemory()
		releasing.Store(false)
	}()
}
