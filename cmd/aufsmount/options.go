package main

import (
	"errors"
	"fmt"

	"github.com/aufsmount/aufsmount/fs/viewplan"
	"github.com/aufsmount/aufsmount/layerstore"
)

// checkDriver makes a storage driver that the command line names (after
// flag: "--driver ") and aufsmount cannot read a mistake in the command
// line (exit 2); one it reads that the store lacks is the store's to
// report (exit 1).
func checkDriver(flag, name string) error {
	if err := layerstore.CheckDriverName(flag, name); err != nil {
		return &usageError{msg: err.Error()}
	}
	return nil
}

// parseMountOptions reads -o's options (viewplan.ParseMountOptions),
// a mistake in them a usage error.
func parseMountOptions(s string, asRoot bool) (viewplan.MountOptions, error) {
	o, err := viewplan.ParseMountOptions(s, asRoot)
	var oe *viewplan.OptionError
	if errors.As(err, &oe) {
		return o, &usageError{msg: oe.Msg}
	}
	return o, err
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// nArgs is "1 argument" or "N arguments".
func nArgs(n int) string {
	if n == 1 {
		return "1 argument"
	}
	return fmt.Sprintf("%d arguments", n)
}
