//go:build darwin || freebsd

package procinfo

import (
	"fmt"
	"syscall"
)

// OpenDescriptors counts the entries of /dev/fd (fdescfs), less the one
// the count itself opens. On FreeBSD without fdescfs mounted, /dev/fd shows
// only 0, 1 and 2; mount fdescfs for a true count.
func OpenDescriptors() (int, error) { return countDir("/dev/fd") }

// DescriptorLimit returns the soft RLIMIT_NOFILE.
func DescriptorLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("procinfo: getrlimit: %w", err)
	}
	return uint64(rl.Cur), nil
}
