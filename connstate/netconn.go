package connstate

import (
	"net"
	"net/netip"
)

// CountingConn returns nc with every byte read from it and written to it
// counted on c, one atomic add per call: what a connection's own line
// counts. Put it under TLS (tls.Server(CountingConn(raw, c), cfg)), so
// that the line counts the socket's bytes, TLS records included, as tor's
// do. A nil c counts nothing.
//
// The returned Conn forwards everything else to nc; it hides any optional
// interface of nc's (io.ReaderFrom, CloseWrite), so that every byte passes
// through its Read and Write.
func CountingConn(nc net.Conn, c *Conn) net.Conn { return &countingConn{Conn: nc, c: c} }

type countingConn struct {
	net.Conn
	c *Conn
}

func (cc *countingConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	if n > 0 {
		cc.c.AddRead(uint64(n))
	}
	return n, err
}

func (cc *countingConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	if n > 0 {
		cc.c.AddWritten(uint64(n))
	}
	return n, err
}

// ConfigFor returns the ConnConfig of a connection nc, as [Registry.Open]
// takes it: the direction and usage given, network [NetworkOutside] (the
// peer is not known to be a relay until [Conn.SetFingerprint]), the remote
// address and local port read from nc's addresses, and Unix set for a
// unix socket, which tor does not rate limit. Addresses that are neither
// TCP, UDP nor unix are left unknown.
func ConfigFor(nc net.Conn, dir Direction, usage Usage) ConnConfig {
	cfg := ConnConfig{Direction: dir, Usage: usage, Network: NetworkOutside}
	switch a := nc.RemoteAddr().(type) {
	case *net.TCPAddr:
		cfg.Remote = a.AddrPort()
	case *net.UDPAddr:
		cfg.Remote = a.AddrPort()
	case *net.UnixAddr:
		cfg.Unix = true
	}
	switch a := nc.LocalAddr().(type) {
	case *net.TCPAddr:
		cfg.LocalPort = uint16(a.Port)
	case *net.UDPAddr:
		cfg.LocalPort = uint16(a.Port)
	case *net.UnixAddr:
		cfg.Unix = true
	}
	if !cfg.Remote.IsValid() {
		cfg.Remote = netip.AddrPort{}
	}
	return cfg
}
