//go:build !linux

package controlport

import "net"

// queued cannot ask the kernel here: a connection counts as made when it
// is accepted.
func queued(net.Conn) int64 { return 0 }

// everSpoke cannot ask the kernel here: the connection's goroutine tells.
func everSpoke(net.Conn) (spoke, known bool) { return false, false }
