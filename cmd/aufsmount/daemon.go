package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"github.com/aufsmount/aufsmount/fs/viewplan"
)

// daemonEnv marks the background copy of aufsmount: it holds the number
// of the file descriptor on which to report whether the mount worked.
// planEnv holds the one on which the command sends what to mount.
const (
	daemonEnv = "AUFSMOUNT_DAEMON_FD"
	planEnv   = "AUFSMOUNT_PLAN_FD"
)

// takeDaemonReport returns the report pipe when this process is the
// background copy, and removes the marker so that nothing started from
// here inherits it.
func takeDaemonReport() *os.File { return takeFd(daemonEnv, "report") }

// takeDaemonPlan returns the pipe the mount plan comes on, if any.
func takeDaemonPlan() *os.File { return takeFd(planEnv, "plan") }

func takeFd(envName, name string) *os.File {
	v, ok := os.LookupEnv(envName)
	if !ok {
		return nil
	}
	os.Unsetenv(envName)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return nil
	}
	syscall.CloseOnExec(fd)
	return os.NewFile(uintptr(fd), name)
}

// readPlan reads the plan the command sends; none (the pipe closed
// empty) means the command failed and has said why.
func readPlan(f *os.File) (*viewplan.Mount, error) {
	defer f.Close()
	var p viewplan.Mount
	if err := json.NewDecoder(f).Decode(&p); err != nil {
		return nil, errNoPlan
	}
	return &p, nil
}

// errNoPlan ends a background copy whose command gave up: that command
// has already reported the error.
var errNoPlan = errors.New("no mount plan from the command")

// daemonize starts a copy of this process, with the same arguments, in a
// new session with no terminal (like sshfs), resolves what to mount while
// the copy starts (unless plan, not nil, has it already), hands it over,
// waits for the copy to say whether the mount answers, and returns that.
// The copy keeps serving after this process exits.
func (e *env) daemonize(req mountRequest, plan *viewplan.Mount) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to start it in the background: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	extra := []*os.File{w} // fd 3
	environ := append(os.Environ(), daemonEnv+"=3")
	// The plan, for mount-all too: the command says what it leaves out.
	planR, planW, err := os.Pipe()
	if err != nil {
		w.Close()
		return err
	}
	defer planR.Close()
	defer planW.Close()
	extra = append(extra, planR) // fd 4
	environ = append(environ, planEnv+"=4")
	cmd := &exec.Cmd{
		Path:       exe,
		Args:       append([]string{"aufsmount"}, e.args...),
		Env:        environ,
		ExtraFiles: extra,
		// Stdin, Stdout and Stderr left nil are /dev/null.
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if req.logFile != "" {
		f, err := os.OpenFile(req.logFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
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
	if plan == nil {
		plan, err = resolvePlan(req, e.stderr)
	}
	if err == nil {
		err = json.NewEncoder(planW).Encode(plan)
	}
	planW.Close() // empty, it tells the copy to quit
	if err != nil {
		cmd.Wait()
		return err
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
	if req.logFile != "" {
		msg += "; see " + req.logFile
	} else {
		msg += "; run with -f to see why"
	}
	return errors.New(msg)
}
