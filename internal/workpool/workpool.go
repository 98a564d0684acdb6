// Package workpool is the one worker pool of the project: n tasks, taken
// in order by a bounded number of goroutines. Reading a store waits on
// the disk more than on the cores, so callers say how many workers
// (IO for disk-bound work, Cores for work that keeps a core busy).
package workpool

import (
	"runtime"
	"sync"
)

// IO is the workers for work that mostly waits on the disk: a cold read
// of a layer's metadata is a few dependent reads, and 60 of them one by
// one wait in turn.
const IO = 8

// Cores is the workers for work that keeps a core busy: the cores, and
// at least two, so that one task waiting on the disk leaves work going.
func Cores() int { return max(2, runtime.GOMAXPROCS(0)) }

// Each calls f(0) ... f(n-1) on up to workers goroutines and returns when
// all are done.
func Each(n, workers int, f func(i int)) {
	Run(n, workers, func() func(int) { return f })
}

// Run is Each with a task function per worker, made by newWorker (for
// buffers of its own).
func Run(n, workers int, newWorker func() func(i int)) {
	if n <= 0 {
		return
	}
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range min(n, max(1, workers)) {
		wg.Go(func() {
			f := newWorker()
			for i := range next {
				f(i)
			}
		})
	}
	wg.Wait()
}
