package main

import (
	"io"
	"net"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

type peer struct {
	l  net.Listener
	fp connstate.Fingerprint
}

// servePeer is a peer relay's end of our outbound connection: it proves
// its identity, then echoes every cell back.
func (s *simulation) servePeer(c net.Conn, fp connstate.Fingerprint) {
	defer c.Close()
	var hello cell
	hello.set(0, cmdHello)
	hello[5] = helloRelay
	copy(hello[6:], fp[:])
	if _, err := c.Write(hello[:]); err != nil {
		return
	}
	var cl cell
	for readCell(c, &cl) == nil {
		if _, err := c.Write(cl[:]); err != nil {
			return
		}
	}
}

// serveStalled is a peer that accepts and never answers: connections to
// it stay 'oRt' until the churn gives up on them.
func (s *simulation) serveStalled(c net.Conn) {
	defer c.Close()
	io.Copy(io.Discard, c)
}

// serveEcho is the destination of exit streams: it sends back what it
// gets. It copies through a buffer: io.Copy between two TCP connections
// would splice through a pipe, two more descriptors per stream.
func serveEcho(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, buf)
}

// dialIn connects a simulated peer to one of our listeners and records it
// as pending until our end registers it. The lock is held across the dial,
// so that our end, which may accept before Dial returns, finds the record.
func (s *simulation) dialIn(l net.Listener, kind linkKind) (net.Conn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := dialer.Dial("tcp", l.Addr().String())
	if err != nil {
		return nil, false
	}
	s.pending[c.LocalAddr().String()] = kind
	return c, true
}

// dialer bounds a dial made under the simulation's lock.
var dialer = net.Dialer{Timeout: 2 * time.Second}

// client is a simulated Tor client (or, with fp, a peer relay) on its end
// of a connection to our ORPort, sending cells on a circuit or two. A stuck
// one never finishes its handshake. It stops when the connection dies.
func (s *simulation) client(c net.Conn, fp *connstate.Fingerprint, stuck bool) {
	defer c.Close()
	if stuck {
		io.Copy(io.Discard, c) // until we give up on it and close
		return
	}
	var hello cell
	hello.set(0, cmdHello)
	if fp != nil {
		hello[5] = helloRelay
		copy(hello[6:], fp[:])
	}
	if _, err := c.Write(hello[:]); err != nil {
		return
	}
	// A reader drains what comes back, so the relay's writes never block.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		io.Copy(io.Discard, c)
	}()
	defer func() { c.Close(); <-drained }()

	var circID uint32
	var open []uint32
	var out cell // reused: one cell in flight at a time
	for {
		if !s.sleep(s.jitter(time.Second, 8*time.Second)) {
			return
		}
		switch {
		case len(open) == 0 || len(open) < 3 && s.chance(10):
			circID++
			open = append(open, circID)
			out.set(circID, cmdCreate)
		case s.chance(5):
			out.set(open[0], cmdDestroy)
			open = open[1:]
		default:
			out.set(open[len(open)-1], cmdData)
		}
		c.SetWriteDeadline(time.Now().Add(writeLimit))
		if _, err := c.Write(out[:]); err != nil {
			return
		}
	}
}

// dirRequest fetches a document from our DirPort, as a client's directory
// request does, slowly enough to be seen.
func (s *simulation) dirRequest(c net.Conn) {
	defer c.Close()
	if _, err := io.WriteString(c, "GET /tor/status-vote/current/consensus-microdesc HTTP/1.0\r\n\r\n"); err != nil {
		return
	}
	io.Copy(io.Discard, c)
}
