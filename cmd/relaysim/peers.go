package main

import (
	"io"
	"net"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// sleep waits d, or less if the simulation stops; false if it stopped.
func (s *simulation) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-s.done:
		return false
	case <-t.C:
		return true
	}
}

// jitter returns a random duration in [lo, hi).
func (s *simulation) jitter(lo, hi time.Duration) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return lo + time.Duration(s.rng.Int64N(int64(hi-lo)))
}

func (s *simulation) intn(n int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(n)
}

func (s *simulation) chance(percent int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.IntN(100) < percent
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

// serveDirPort answers a directory request with a few kilobytes over a few
// seconds: an 'IDt' connection.
func (s *simulation) serveDirPort(nc net.Conn) {
	l, err := s.register(s.claim(nc, kindDir), nc, connstate.ConnConfig{
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

// churn keeps each kind of connection near its share of the target,
// opening what is missing and closing a few at random, so that uptimes
// vary and closed connections' bytes land in the totals.
func (s *simulation) churn() {
	var victims []*link
	counts := map[linkKind]int{}
	s.mu.Lock()
	for l := range s.links {
		switch {
		case l.stalled && s.rng.IntN(20) == 0:
			victims = append(victims, l) // give up on a peer that never answered
		case l.kind == kindClient && !l.rc.Flags().Established && s.rng.IntN(30) == 0:
			victims = append(victims, l) // a client stuck in its handshake times out
		case (l.kind == kindClient || l.kind == kindRelayOut) && s.rng.IntN(200) == 0:
			victims = append(victims, l)
		}
	}
	for k, n := range s.counts {
		counts[k] = n
	}
	for _, k := range s.pending {
		counts[k]++
	}
	s.mu.Unlock()
	for _, l := range victims {
		s.closeLink(l)
	}

	// At most this many new connections per kind per round, so that a big
	// target fills in a few seconds without a burst of thousands of dials.
	const batch = 400
	want := func(kind linkKind, share int) int {
		return min(max(s.target*share/100-counts[kind], 0), batch)
	}
	for range want(kindClient, shareClients) {
		if c, ok := s.dialIn(s.orL, kindClient); ok {
			stuck := s.chance(8)
			s.goroutine(func() { s.client(c, nil, stuck) })
		}
	}
	for range want(kindRelayIn, shareRelayIn) {
		if c, ok := s.dialIn(s.orL, kindRelayIn); ok {
			s.mu.Lock()
			fp := s.peers[s.rng.IntN(len(s.peers))].fp
			s.mu.Unlock()
			s.goroutine(func() { s.client(c, &fp, false) })
		}
	}
	for i := range want(kindRelayOut, shareRelayOut) {
		stalled := i == 0 && s.chance(30)
		addr := s.stallL.Addr().String()
		if !stalled {
			s.mu.Lock()
			addr = s.peers[s.rng.IntN(len(s.peers))].l.Addr().String()
			s.mu.Unlock()
		}
		s.dialRelay(addr, stalled)
	}
	for range want(kindDir, shareDir) {
		if s.chance(50) {
			if c, ok := s.dialIn(s.dirL, kindDir); ok {
				s.goroutine(func() { s.dirRequest(c) })
			}
		}
	}
}
