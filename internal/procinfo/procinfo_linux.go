package procinfo

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on every
// Linux architecture, whatever the kernel's internal HZ.
const clockTicks = 100

// StartTime returns when the process started, from its start in ticks since
// boot (/proc/self/stat) and the time since boot (/proc/uptime).
func StartTime() (time.Time, error) {
	stat, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return time.Time{}, fmt.Errorf("procinfo: process start: %w", err)
	}
	up, err := os.ReadFile("/proc/uptime")
	now := time.Now()
	if err != nil {
		return time.Time{}, fmt.Errorf("procinfo: process start: %w", err)
	}
	ticks, err := startTicks(stat)
	if err != nil {
		return time.Time{}, err
	}
	sinceBoot, err := uptimeSeconds(up)
	if err != nil {
		return time.Time{}, err
	}
	elapsed := sinceBoot - time.Duration(ticks)*time.Second/clockTicks
	return now.Add(-max(elapsed, 0)), nil
}

// startTicks reads field 22 of /proc/self/stat. The command name (field 2)
// is in parentheses and may hold spaces or parentheses, so counting starts
// after the last ')'.
func startTicks(stat []byte) (uint64, error) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("procinfo: /proc/self/stat has no command name: %q", stat)
	}
	fields := bytes.Fields(stat[i+1:])
	const startField = 22 - 3 // fields 1 and 2 come before the ')'
	if len(fields) <= startField {
		return 0, fmt.Errorf("procinfo: /proc/self/stat has %d fields after the name", len(fields))
	}
	return strconv.ParseUint(string(fields[startField]), 10, 64)
}

// uptimeSeconds reads the first number of /proc/uptime, seconds since boot.
func uptimeSeconds(up []byte) (time.Duration, error) {
	f := bytes.Fields(up)
	if len(f) == 0 {
		return 0, fmt.Errorf("procinfo: /proc/uptime is empty")
	}
	s, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil {
		return 0, fmt.Errorf("procinfo: /proc/uptime: %w", err)
	}
	return time.Duration(s * float64(time.Second)), nil
}

// OpenDescriptors counts the entries of /proc/self/fd, less the one the
// count itself opens.
func OpenDescriptors() (int, error) { return countDir("/proc/self/fd") }
