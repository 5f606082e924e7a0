//go:build unix

package controlport

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// peek tells what waits unread on a connection, without blocking and
// without the connection's read lock, which its own goroutine may hold
// while it waits.
func peek(nc net.Conn) peekResult {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return peekUnknown
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return peekUnknown
	}
	res := peekUnknown
	rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case n > 0:
			res = bytesWaiting
		case err == nil:
			res = peerClosed
		case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EWOULDBLOCK):
			res = nothingWaiting
		}
	})
	return res
}
