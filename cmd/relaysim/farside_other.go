//go:build !linux

package main

import "syscall"

// farSideAttr is nil: a child ends when its standard input does.
func farSideAttr() *syscall.SysProcAttr { return nil }
