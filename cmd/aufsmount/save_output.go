package main

import (
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aufsmount/aufsmount/layerstore/save"
)

// outputSignals end a save; each is left alone if the process was started
// ignoring it (nohup).
var outputSignals = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGPIPE}

// removeOnSignal removes o's new file when SIGINT, SIGTERM, SIGHUP or
// SIGPIPE (the reader of the standard error gone) ends the save, then
// ends the process by that signal, as it would have ended without the
// handler. It is set before o is created, so that no file is left
// behind; stop ends it, or never returns where a signal came (the
// handler ends the process).
func removeOnSignal(o *save.File) (stop func()) {
	sigs := make(chan os.Signal, 1)
	for _, sig := range outputSignals {
		if !signal.Ignored(sig) {
			signal.Notify(sigs, sig)
		}
	}
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		var sig os.Signal
		select {
		case sig = <-sigs:
		case <-done:
			select { // one that came before stop, not yet taken
			case sig = <-sigs:
			default:
				close(finished)
				return
			}
		}
		o.Remove()
		s := sig.(syscall.Signal)
		signal.Reset(s)
		if s != unix.SIGPIPE { // the Go runtime ignores a SIGPIPE that no write to standard output or error raised
			unix.Kill(os.Getpid(), s)
			time.Sleep(5 * time.Second) // the signal's default action ends the process first
		}
		os.Exit(128 + int(s))
	}()
	// stop waits for the handler: a save that fails because a signal
	// removed its file must end by that signal, not by the failure.
	return func() {
		signal.Stop(sigs)
		close(done)
		<-finished
	}
}
