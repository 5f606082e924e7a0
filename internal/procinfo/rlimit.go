//go:build linux || darwin || freebsd

package procinfo

import (
	"fmt"
	"syscall"
)

// DescriptorLimit returns the soft RLIMIT_NOFILE.
func DescriptorLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("procinfo: getrlimit: %w", err)
	}
	return uint64(rl.Cur), nil
}
