package procinfo

import (
	"errors"
	"fmt"
	"time"
)

// StartTime is not read on FreeBSD: x/sys offers no typed kinfo_proc there,
// and decoding the raw struct by offset would break silently between
// releases. Callers fall back to [Loaded].
func StartTime() (time.Time, error) {
	return time.Time{}, fmt.Errorf("procinfo: process start on freebsd: %w", errors.ErrUnsupported)
}
