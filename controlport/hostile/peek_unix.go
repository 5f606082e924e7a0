//go:build unix

package hostile

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// peekConn tells, without waiting, whether bytes wait unread on c and
// whether its peer has closed it. (A read with a deadline already passed
// would not even look.)
func peekConn(c net.Conn) (bytes, closed bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, false
	}
	rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case n > 0:
			bytes = true
		case err == nil, err == unix.ECONNRESET:
			closed = true
		}
	})
	return bytes, closed
}
