package tortest

import (
	"os/exec"
	"syscall"
)

// killWithTest makes the kernel send tor SIGKILL if the test process dies
// before its cleanup runs (a panic, a -timeout, a killed go test), so that
// no tor started by a test survives it.
func killWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
