package main

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// maxConns is the most -conns allows: each connection costs two
// descriptors (both ends live in this process), so 9000 stays within a
// 20,000-descriptor limit with room for listeners and controllers.
const maxConns = 9000

// How the held connections divide up, in hundredths of -conns; with the
// controllers and what is opening or closing, they come to about -conns.
const (
	shareClients  = 60 // clients' first hops, 'IRt' (some still 'iRt')
	shareRelayIn  = 10 // peer relays connecting in, 'IRT'
	shareRelayOut = 15 // our connections to peer relays, 'ORT' (some 'oRt')
	shareDir      = 2  // directory requests in progress, 'IDt'
	shareExits    = 12 // the most exit streams, 'ORt', opened by circuits
)

const (
	numPeers   = 8
	writeLimit = 10 * time.Second
)

type linkKind int

const (
	kindClient linkKind = iota
	kindRelayIn
	kindRelayOut
	kindExit
	kindDir
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

type peer struct {
	l  net.Listener
	fp connstate.Fingerprint
}

// simulation is the relay: its listeners, its peers and its links.
type simulation struct {
	reg    *connstate.Registry
	target int

	orL, dirL, destL, stallL net.Listener
	peers                    []peer

	wg   sync.WaitGroup
	done chan struct{}
	once sync.Once

	mu     sync.Mutex
	rng    *rand.Rand
	links  map[*link]struct{}
	counts map[linkKind]int // registered links by kind
	// pending holds inbound connections dialed by a simulated peer and not
	// yet registered by our end, by the peer's address, with the kind they
	// will be: the churn counts them, so it never overshoots its target.
	pending map[string]linkKind
	nextID  uint32 // circuit IDs on outbound links
	// ready holds the established outbound relay links, for circuits to
	// pick from without scanning every link.
	ready []*link
}

func listen() (net.Listener, error) {
	return net.Listen("tcp", net.JoinHostPort(loopback.String(), "0"))
}

func newSimulation(reg *connstate.Registry, target int) (*simulation, error) {
	s := &simulation{
		reg:     reg,
		target:  target,
		done:    make(chan struct{}),
		rng:     rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1)),
		links:   map[*link]struct{}{},
		counts:  map[linkKind]int{},
		pending: map[string]linkKind{},
	}
	var err error
	for _, l := range []*net.Listener{&s.orL, &s.dirL, &s.destL, &s.stallL} {
		if *l, err = listen(); err != nil {
			s.close()
			return nil, err
		}
	}
	for i := range numPeers {
		l, err := listen()
		if err != nil {
			s.close()
			return nil, err
		}
		s.peers = append(s.peers, peer{l: l, fp: sha1.Sum(fmt.Appendf(nil, "relaysim peer %d", i))})
	}
	return s, nil
}

func (s *simulation) orAddr() net.Addr  { return s.orL.Addr() }
func (s *simulation) dirAddr() net.Addr { return s.dirL.Addr() }

// go runs f on a goroutine that close waits for.
func (s *simulation) goroutine(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// run starts the listeners' servers and keeps the connection mix near the
// target until ctx ends.
func (s *simulation) run(ctx context.Context) {
	s.goroutine(func() { s.acceptLoop(s.orL, s.serveORPort) })
	s.goroutine(func() { s.acceptLoop(s.dirL, s.serveDirPort) })
	s.goroutine(func() { s.acceptLoop(s.destL, serveEcho) })
	s.goroutine(func() { s.acceptLoop(s.stallL, s.serveStalled) })
	for _, p := range s.peers {
		s.goroutine(func() { s.acceptLoop(p.l, func(c net.Conn) { s.servePeer(c, p.fp) }) })
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		s.churn()
		select {
		case <-ctx.Done():
			s.close()
			return
		case <-s.done:
			return
		case <-tick.C:
		}
	}
}

// close stops everything and waits for every goroutine.
func (s *simulation) close() {
	s.once.Do(func() {
		close(s.done)
		for _, l := range []net.Listener{s.orL, s.dirL, s.destL, s.stallL} {
			if l != nil {
				l.Close()
			}
		}
		for _, p := range s.peers {
			p.l.Close()
		}
		s.mu.Lock()
		links := make([]*link, 0, len(s.links))
		for l := range s.links {
			links = append(links, l)
		}
		s.mu.Unlock()
		for _, l := range links {
			s.closeLink(l)
		}
	})
	s.wg.Wait()
}

func (s *simulation) stopping() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *simulation) acceptLoop(l net.Listener, serve func(net.Conn)) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		s.goroutine(func() { serve(c) })
	}
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

// claim takes an inbound connection's expected kind out of pending.
func (s *simulation) claim(nc net.Conn, def linkKind) linkKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := nc.RemoteAddr().String()
	kind, ok := s.pending[key]
	if !ok {
		return def
	}
	delete(s.pending, key)
	return kind
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
	delete(c.in.circs, c.inID)
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
	l, err := s.register(s.claim(nc, kindClient), nc, connstate.ConnConfig{
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

func bindOut(circ *connstate.Circuit, out *link) (*connstate.Leg, error) {
	if out.kind == kindExit {
		return circ.BindExit(out.rc)
	}
	return circ.BindOutbound(out.rc)
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
	nc, err := net.Dial("tcp", s.destL.Addr().String())
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
			back := c
			back.putID(circ.inID)
			if s.write(circ.in, &back, circ.inLeg) != nil {
				s.closeLink(circ.in)
			}
		}
	})
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
