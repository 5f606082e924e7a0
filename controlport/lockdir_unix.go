//go:build unix

package controlport

import (
	"os"

	"golang.org/x/sys/unix"
)

// lockDir takes an exclusive flock on a directory, for the time between
// checking a socket path in it and renaming a socket into place.
func lockDir(dir string) (unlock func(), err error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(d.Fd()), unix.LOCK_EX); err != nil {
		d.Close()
		return nil, err
	}
	return func() {
		unix.Flock(int(d.Fd()), unix.LOCK_UN)
		d.Close()
	}, nil
}
