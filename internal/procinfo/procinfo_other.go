//go:build !linux && !darwin && !freebsd && !windows

package procinfo

import (
	"errors"
	"fmt"
	"time"
)

// StartTime is not known on this system.
func StartTime() (time.Time, error) {
	return time.Time{}, fmt.Errorf("procinfo: process start: %w", errors.ErrUnsupported)
}

// OpenDescriptors is not known on this system.
func OpenDescriptors() (int, error) {
	return 0, fmt.Errorf("procinfo: open descriptors: %w", errors.ErrUnsupported)
}

// DescriptorLimit is not known on this system.
func DescriptorLimit() (uint64, error) {
	return 0, fmt.Errorf("procinfo: descriptor limit: %w", errors.ErrUnsupported)
}
