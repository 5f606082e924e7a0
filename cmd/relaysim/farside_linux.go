package main

import "syscall"

// farSideAttr has Linux kill a child if relaysim dies without closing its
// standard input (a SIGKILL): the end of the input covers every other way
// out, and every other system.
func farSideAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
