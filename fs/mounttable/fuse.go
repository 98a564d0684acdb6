package mounttable

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
)

// CheckFUSE says clearly what a FUSE mount lacks here (the device, or
// for a user other than root the fusermount helper) before go-fuse says
// it obscurely.
func CheckFUSE() error {
	fi, err := os.Stat("/dev/fuse")
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return errors.New("/dev/fuse is missing: load the fuse kernel module (modprobe fuse), or in a container pass --device /dev/fuse")
	case err != nil:
		return fmt.Errorf("checking FUSE: %w", err)
	case fi.Mode()&os.ModeCharDevice == 0:
		return errors.New("/dev/fuse is not a character device")
	}
	if os.Geteuid() != 0 {
		if _, err := FusermountPath(); err != nil {
			return err
		}
	}
	return nil
}
