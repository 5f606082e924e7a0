package procinfo

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// StartTime returns the process's start time from the kernel's process
// table (sysctl kern.proc.pid).
func StartTime() (time.Time, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", os.Getpid())
	if err != nil {
		return time.Time{}, fmt.Errorf("procinfo: process start: %w", err)
	}
	tv := kp.Proc.P_starttime
	return time.Unix(int64(tv.Sec), int64(tv.Usec)*1000), nil
}
