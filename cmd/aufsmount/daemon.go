package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// daemonEnv marks the background copy of aufsmount: it holds the number
// of the file descriptor on which to report whether the mount worked.
const daemonEnv = "AUFSMOUNT_DAEMON_FD"

// takeDaemonReport returns the report pipe when this process is the
// background copy, and removes the marker so that nothing started from
// here inherits it.
func takeDaemonReport() *os.File {
	v, ok := os.LookupEnv(daemonEnv)
	if !ok {
		return nil
	}
	os.Unsetenv(daemonEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), "report")
}

// daemonize starts a copy of this process, with the same arguments, in a
// new session with no terminal (like sshfs), waits for it to say whether
// the mount answers, and returns that. The copy keeps serving after this
// process exits.
func (e *env) daemonize(logFile string) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to start it in the background: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       append([]string{"aufsmount"}, e.args...),
		Env:        append(os.Environ(), daemonEnv+"=3"), // ExtraFiles[0] is fd 3
		ExtraFiles: []*os.File{w},
		// Stdin, Stdout and Stderr left nil are /dev/null.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			w.Close()
			return fmt.Errorf("opening log: %w", err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
	}
	err = cmd.Start()
	w.Close() // else the read below never sees the end if the child dies
	if err != nil {
		return fmt.Errorf("starting the background process: %w", err)
	}
	line, _ := bufio.NewReader(r).ReadString('\n')
	line = strings.TrimSpace(line)
	if line == "ok" {
		return cmd.Process.Release()
	}
	werr := cmd.Wait()
	if line != "" {
		return errors.New(line)
	}
	msg := fmt.Sprintf("the background process ended before mounting (%v)", werr)
	if logFile != "" {
		msg += "; see " + logFile
	} else {
		msg += "; run with -f to see why"
	}
	return errors.New(msg)
}
