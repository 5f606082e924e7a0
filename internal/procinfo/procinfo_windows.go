package procinfo

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// HandleLimit is what DescriptorLimit reports on Windows, which has no
// per-process descriptor rlimit: the most handles the kernel gives one
// process, 2^24.
const HandleLimit = 1 << 24

var getProcessHandleCount = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetProcessHandleCount")

// StartTime returns the process's creation time (GetProcessTimes).
func StartTime() (time.Time, error) {
	var creation, exit, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &creation, &exit, &kernel, &user); err != nil {
		return time.Time{}, fmt.Errorf("procinfo: process start: %w", err)
	}
	return time.Unix(0, creation.Nanoseconds()), nil
}

// OpenDescriptors returns the process's handle count (GetProcessHandleCount):
// sockets, files, and also events, threads and other kernel objects.
func OpenDescriptors() (int, error) {
	var n uint32
	if r, _, err := getProcessHandleCount.Call(uintptr(windows.CurrentProcess()), uintptr(unsafe.Pointer(&n))); r == 0 {
		return 0, fmt.Errorf("procinfo: GetProcessHandleCount: %w", err)
	}
	return int(n), nil
}

// DescriptorLimit returns [HandleLimit].
func DescriptorLimit() (uint64, error) { return HandleLimit, nil }
