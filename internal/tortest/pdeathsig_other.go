//go:build !linux

package tortest

import "os/exec"

// killWithTest does nothing here: only Linux has a parent-death signal. The
// tests' cleanup still stops tor.
func killWithTest(*exec.Cmd) {}
