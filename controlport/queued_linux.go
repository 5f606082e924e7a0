package controlport

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

// tcpInfo asks the kernel about a TCP connection; nil for any other, or
// when it cannot tell.
func tcpInfo(nc net.Conn) *unix.TCPInfo {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	var ti *unix.TCPInfo
	rc.Control(func(fd uintptr) {
		ti, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	return ti
}

// queued returns how long a TCP connection just accepted has waited since
// it was made: the kernel's time since it last received data, which for a
// connection that has sent nothing is the time since its handshake. It is
// 0 where the kernel cannot tell.
func queued(nc net.Conn) int64 {
	if ti := tcpInfo(nc); ti != nil {
		return int64(time.Duration(ti.Last_data_recv) * time.Millisecond)
	}
	return 0
}

// everSpoke reports, when the kernel can tell, whether the peer has sent a
// byte: unlike the connection's own goroutine, the kernel knows it from
// the moment the byte arrives, read or not.
func everSpoke(nc net.Conn) (spoke, known bool) {
	if ti := tcpInfo(nc); ti != nil {
		return ti.Bytes_received > 0, true
	}
	return false, false
}
