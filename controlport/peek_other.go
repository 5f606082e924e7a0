//go:build !unix

package controlport

import "net"

// peek cannot look here: a connection counts as silent until its own
// goroutine has read a line.
func peek(net.Conn) peekResult { return nothingWaiting }
