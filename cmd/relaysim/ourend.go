package main

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// link is one registered connection, by our end of it; the far end is
// driven by a simulated peer, which ends when our end closes.
type link struct {
	kind linkKind
	rc   *connstate.Conn
	nc   net.Conn

	writeMu sync.Mutex
	wbuf    cell // what write sends, under writeMu: callers' cells stay on their stacks
	// guarded by simulation.mu
	circs   map[uint32]*circuit // by the circuit ID this link's cells carry
	closed  bool
	stalled bool // a peer that never finishes its handshake
	ready   int  // index in simulation.ready once an established relay link, else -1
}

// circuit is one circuit through the relay.
type circuit struct {
	c         *connstate.Circuit
	in        *link
	inID      uint32 // the ID on the inbound link
	inLeg     *connstate.Leg
	out       *link // a relay link or an exit stream
	outID     uint32
	outLeg    *connstate.Leg
	destroyed bool
}

// register opens a link's registry entry from our end's addresses.
func (s *simulation) register(kind linkKind, nc net.Conn, cfg connstate.ConnConfig) (*link, error) {
	remote := nc.RemoteAddr().(*net.TCPAddr).AddrPort()
	cfg.Remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
	cfg.LocalPort = uint16(nc.LocalAddr().(*net.TCPAddr).Port)
	rc, err := s.reg.Open(cfg)
	if err != nil {
		return nil, err
	}
	l := &link{kind: kind, rc: rc, nc: nc, circs: map[uint32]*circuit{}, ready: -1}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping() {
		rc.Close()
		return nil, errors.New("stopping")
	}
	s.links[l] = struct{}{}
	s.counts[kind]++
	return l, nil
}

// becomeRelayIn makes an inbound link a peer relay's, once its hello
// says so: until then it counts as a client's.
func (s *simulation) becomeRelayIn(l *link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !l.closed && l.kind == kindClient {
		s.counts[kindClient]--
		s.counts[kindRelayIn]++
	}
	l.kind = kindRelayIn
}

// closeLink closes both ends and everything riding on the link.
func (s *simulation) closeLink(l *link) {
	s.mu.Lock()
	if l.closed {
		s.mu.Unlock()
		return
	}
	l.closed = true
	delete(s.links, l)
	s.counts[l.kind]--
	if i := l.ready; i >= 0 {
		last := s.ready[len(s.ready)-1]
		s.ready[i], last.ready = last, i
		s.ready = s.ready[:len(s.ready)-1]
		l.ready = -1
	}
	var exits []*link
	for _, c := range l.circs {
		if ex := s.destroyLocked(c); ex != nil && ex != l {
			exits = append(exits, ex)
		}
	}
	s.mu.Unlock()
	l.nc.Close()
	l.rc.Close()
	for _, ex := range exits {
		s.closeLink(ex)
	}
}

// destroyLocked closes a circuit; it returns its exit stream, which the
// caller closes after releasing the lock.
func (s *simulation) destroyLocked(c *circuit) *link {
	if c.destroyed {
		return nil
	}
	c.destroyed = true
	c.c.Close()
	if c.in != nil { // an origin circuit has none
		delete(c.in.circs, c.inID)
	}
	if c.out != nil {
		delete(c.out.circs, c.outID)
		if c.out.kind == kindExit {
			return c.out
		}
	}
	return nil
}

// write sends a cell on our end of l, counting it on the connection and,
// if given, on a leg.
func (s *simulation) write(l *link, c *cell, leg *connstate.Leg) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	l.wbuf = *c
	l.nc.SetWriteDeadline(time.Now().Add(writeLimit))
	n, err := l.nc.Write(l.wbuf[:])
	l.rc.AddWritten(uint64(n))
	leg.AddWritten(uint64(n))
	return err
}

// serveORPort is our end of an inbound OR connection: a handshake, then
// cells to relay.
func (s *simulation) serveORPort(nc net.Conn) {
	l, err := s.register(kindClient, nc, connstate.ConnConfig{
		Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
	})
	if err != nil {
		nc.Close()
		return
	}
	defer s.closeLink(l)
	var c cell
	if readCell(nc, &c) != nil || c.command() != cmdHello {
		return
	}
	l.rc.AddRead(cellLen)
	if c[5] == helloRelay {
		s.becomeRelayIn(l)
		if err := l.rc.SetFingerprint(connstate.Fingerprint(c[6:26])); err != nil {
			return
		}
	}
	if l.rc.MarkEstablished() != nil {
		return
	}
	for readCell(nc, &c) == nil {
		l.rc.AddRead(cellLen)
		if !s.fromClient(l, &c) {
			return
		}
	}
}

// fromClient handles a cell arriving on an inbound link.
func (s *simulation) fromClient(l *link, c *cell) bool {
	s.mu.Lock()
	circ := l.circs[c.circID()]
	s.mu.Unlock()
	switch {
	case c.command() == cmdCreate && circ == nil:
		return s.create(l, c.circID())
	case circ == nil:
		return true // a cell for a circuit already gone
	case c.command() == cmdDestroy:
		circ.inLeg.AddRead(cellLen)
		s.mu.Lock()
		ex := s.destroyLocked(circ)
		s.mu.Unlock()
		if ex != nil {
			s.closeLink(ex)
		}
		return true
	}
	circ.inLeg.AddRead(cellLen)
	if circ.out.kind == kindExit {
		// The exit stream carries the payload alone.
		circ.out.writeMu.Lock()
		circ.out.nc.SetWriteDeadline(time.Now().Add(writeLimit))
		n, err := circ.out.nc.Write(c[5:])
		circ.out.writeMu.Unlock()
		circ.out.rc.AddWritten(uint64(n))
		circ.outLeg.AddWritten(uint64(n))
		if err != nil {
			s.closeLink(circ.out)
		}
		return true
	}
	fwd := *c
	fwd.putID(circ.outID)
	if s.write(circ.out, &fwd, circ.outLeg) != nil {
		s.closeLink(circ.out)
	}
	return true
}

// create opens a circuit from inbound link l: to a peer relay mostly, or
// out of the network as an exit stream.
func (s *simulation) create(in *link, inID uint32) bool {
	circ, err := s.reg.OpenCircuit(connstate.CircuitConfig{})
	if err != nil {
		return false
	}
	c := &circuit{c: circ, in: in, inID: inID}
	if c.inLeg, err = circ.BindInbound(in.rc); err != nil {
		circ.Close()
		return false
	}
	s.mu.Lock()
	exit := s.rng.IntN(100) < 15 && s.counts[kindExit] < s.target*shareExits/100
	var out *link
	if !exit {
		out = s.pickLocked()
	}
	s.mu.Unlock()
	if out == nil {
		if out, err = s.openExit(); err != nil {
			circ.Close()
			return true
		}
	}
	if c.outLeg, err = bindOut(circ, out); err != nil {
		circ.Close()
		if out.kind == kindExit {
			s.closeLink(out)
		}
		return true
	}
	s.mu.Lock()
	if in.closed || out.closed {
		s.mu.Unlock()
		circ.Close()
		if out.kind == kindExit {
			s.closeLink(out) // opened for this circuit alone
		}
		return true
	}
	s.nextID++
	c.out, c.outID = out, s.nextID
	in.circs[inID] = c
	out.circs[c.outID] = c
	s.mu.Unlock()
	if out.kind == kindExit {
		s.goroutine(func() { s.serveExit(c) })
	}
	var created cell
	return s.write(in, created.set(inID, cmdCreated), c.inLeg) == nil
}

// bindOut binds a circuit's way out: an exit stream or a relay link.
func bindOut(circ *connstate.Circuit, out *link) (*connstate.Leg, error) {
	role := connstate.RoleOutbound
	if out.kind == kindExit {
		role = connstate.RoleExit
	}
	return circ.Bind(out.rc, role)
}

// pickLocked returns a random established outbound relay link, or nil.
func (s *simulation) pickLocked() *link {
	if len(s.ready) == 0 {
		return nil
	}
	return s.ready[s.rng.IntN(len(s.ready))]
}

// openExit connects an exit stream to the destination server.
func (s *simulation) openExit() (*link, error) {
	nc, err := dialer.Dial("tcp", s.far.dest.String())
	if err != nil {
		return nil, err
	}
	l, err := s.register(kindExit, nc, connstate.ConnConfig{
		Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside, Established: true,
	})
	if err != nil {
		nc.Close()
		return nil, err
	}
	return l, nil
}

// serveExit carries what the destination sends back to the client.
func (s *simulation) serveExit(c *circuit) {
	ex := c.out
	defer s.closeLink(ex)
	buf := make([]byte, payloadLen)
	for {
		n, err := io.ReadFull(ex.nc, buf)
		ex.rc.AddRead(uint64(n))
		c.outLeg.AddRead(uint64(n))
		if err != nil {
			return
		}
		var back cell
		back.set(c.inID, cmdData)
		copy(back[5:], buf)
		if s.write(c.in, &back, c.inLeg) != nil {
			return
		}
	}
}

// dialRelay opens an outbound connection to a peer relay: 'oRt' until the
// peer's hello proves its fingerprint, then 'ORT'.
func (s *simulation) dialRelay(addr string, stalled bool) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return
	}
	l, err := s.register(kindRelayOut, nc, connstate.ConnConfig{
		Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
	})
	if err != nil {
		nc.Close()
		return
	}
	s.mu.Lock()
	l.stalled = stalled
	s.mu.Unlock()
	s.goroutine(func() {
		defer s.closeLink(l)
		var c cell
		if readCell(nc, &c) != nil || c.command() != cmdHello {
			return
		}
		l.rc.AddRead(cellLen)
		if l.rc.SetFingerprint(connstate.Fingerprint(c[6:26])) != nil || l.rc.MarkEstablished() != nil {
			return
		}
		s.mu.Lock()
		if !l.closed {
			l.ready = len(s.ready)
			s.ready = append(s.ready, l)
		}
		s.mu.Unlock()
		for readCell(nc, &c) == nil {
			l.rc.AddRead(cellLen)
			s.mu.Lock()
			circ := l.circs[c.circID()]
			s.mu.Unlock()
			if circ == nil {
				continue
			}
			circ.outLeg.AddRead(cellLen)
			if circ.in == nil {
				continue // our own circuit's cell came back: it ends here
			}
			back := c
			back.putID(circ.inID)
			if s.write(circ.in, &back, circ.inLeg) != nil {
				s.closeLink(circ.in)
			}
		}
	})
}

// serveDirPort answers a directory request with a few kilobytes over a few
// seconds: an 'IDt' connection.
func (s *simulation) serveDirPort(nc net.Conn) {
	l, err := s.register(kindDir, nc, connstate.ConnConfig{
		Direction: connstate.Inbound, Usage: connstate.UsageDirectory, Network: connstate.NetworkOutside, Established: true,
	})
	if err != nil {
		nc.Close()
		return
	}
	defer s.closeLink(l)
	buf := make([]byte, 4096)
	n, err := nc.Read(buf)
	l.rc.AddRead(uint64(n))
	if err != nil {
		return
	}
	for range 1 + s.intn(8) {
		if !s.sleep(s.jitter(300*time.Millisecond, time.Second)) {
			return
		}
		nc.SetWriteDeadline(time.Now().Add(writeLimit))
		n, err := nc.Write(buf)
		l.rc.AddWritten(uint64(n))
		if err != nil {
			return
		}
	}
}

// buildOwn opens an origin circuit on an established relay link: the
// relay's own, as a reachability or bandwidth test is. It sends a cell
// every second or two, which the peer echoes, and is torn down after a
// while, so that the churn builds another.
func (s *simulation) buildOwn() {
	s.mu.Lock()
	out := s.pickLocked()
	if out == nil {
		s.mu.Unlock()
		return
	}
	s.own++
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		s.own--
		s.mu.Unlock()
	}
	circ, err := s.reg.OpenCircuit(connstate.CircuitConfig{Origin: true})
	if err != nil {
		done()
		return
	}
	c := &circuit{c: circ, out: out}
	if c.outLeg, err = circ.BindOutbound(out.rc); err != nil {
		circ.Close()
		done()
		return
	}
	s.mu.Lock()
	if out.closed {
		s.mu.Unlock()
		circ.Close()
		done()
		return
	}
	s.nextID++
	c.outID = s.nextID
	out.circs[c.outID] = c
	s.mu.Unlock()
	s.goroutine(func() {
		defer done()
		defer func() {
			s.mu.Lock()
			s.destroyLocked(c)
			s.mu.Unlock()
		}()
		var cl cell
		if s.write(out, cl.set(c.outID, cmdCreate), c.outLeg) != nil {
			return
		}
		for range 5 + s.intn(20) {
			if !s.sleep(s.jitter(time.Second, 2*time.Second)) {
				return
			}
			s.mu.Lock()
			gone := c.destroyed
			s.mu.Unlock()
			if gone || s.write(out, cl.set(c.outID, cmdData), c.outLeg) != nil {
				return
			}
		}
	})
}
