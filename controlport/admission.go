package controlport

import (
	"cmp"
	"net"
	"slices"
	"time"
)

// silentGrace is how long a connection may stay silent before it can be
// made to give way, and how long after its last step a progressing one
// keeps its place. Where the kernel tells how long a connection waited in
// its accept queue (TCP on Linux), that time counts: a flood deep enough
// to fill the queue is drained as fast as connections can be accepted,
// every silent one closed at once, while a controller that spoke on
// connecting is found with its bytes waiting.
const silentGrace = 50 * time.Millisecond

// maxWasted is how many commands before authentication may fail to parse
// (tor answers them with 512 and keeps the connection) before the
// connection counts as spent: the first to give way, whatever its age.
const maxWasted = 3

// admit serves nc, a connection just accepted, once there is room for
// another unauthenticated one. When the unauthenticated connections are
// at their limit, one gives way (see giveWay), or nc itself if it has said
// nothing in silentGrace; a newcomer that has spoken takes the place of any
// connection that has not. When none may give way yet, the accept loop
// waits, at most silentGrace, as the kernel's queue holds the rest.
func (s *Server) admit(nc net.Conn) {
	now := s.since()
	arrived := now - queued(nc)
	if peek(nc) == peerClosed {
		nc.Close()
		return
	}
	// The kernel's account of the queue has its clock's resolution (a
	// jiffy, up to 10 ms), but its accept queue is first in, first out: a
	// connection accepted later arrived later, so that among connections
	// made within one tick the oldest is still the first accepted.
	s.mu.Lock()
	arrived = max(arrived, s.lastArrived+1)
	s.lastArrived = arrived
	s.mu.Unlock()
	for {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return
		}
		if s.count(false) < s.cfg.MaxUnauthenticated {
			s.start(nc, arrived)
			s.mu.Unlock()
			return
		}
		now = s.since()
		speaking := peek(nc) == bytesWaiting
		victim, wait := s.giveWay(now, speaking)
		// The oldest silent one past its grace gives way, the newcomer
		// included: one that waited its grace in the kernel's queue in
		// silence costs no one else their place.
		if !speaking && now-arrived >= int64(silentGrace) &&
			(victim == nil || victim.firstLine.Load() != 0 || victim.arrived >= arrived) {
			s.noteGiveWay(now)
			s.mu.Unlock()
			nc.Close()
			return
		}
		if victim != nil {
			delete(s.conns, victim) // its goroutine's own delete is then a no-op
			victim.nc.Close()
			s.noteGiveWay(now)
			s.start(nc, arrived)
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-s.room:
		}
		t.Stop()
	}
}

// giveWayLog is how often at most the server says that connections gave
// way: a flood would otherwise write a log line per connection.
const giveWayLog = time.Minute

// noteGiveWay counts a connection closed to make room, and logs the count
// once per giveWayLog. The caller holds s.mu.
func (s *Server) noteGiveWay(now int64) {
	s.gaveWay++
	if s.lastGiveWayLog != 0 && now-s.lastGiveWayLog < int64(giveWayLog) {
		return
	}
	s.log.Warn("controlport: unauthenticated connections at their limit; closed those with the least progress to make room",
		"closed", s.gaveWay, "max_unauthenticated", s.cfg.MaxUnauthenticated)
	s.gaveWay, s.lastGiveWayLog = 0, now
}

// start serves nc, which arrived at the given Server.since, in a new
// goroutine. The caller holds s.mu.
func (s *Server) start(nc net.Conn, arrived int64) {
	c := s.newConn(nc, arrived)
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			s.signalRoom()
		}()
		c.serve()
	}()
}

// signalRoom wakes an admit waiting for room, if any.
func (s *Server) signalRoom() {
	select {
	case s.room <- struct{}{}:
	default:
	}
}

// count returns how many connections are (or are not) authenticated. The
// caller holds s.mu.
func (s *Server) count(authed bool) int {
	n := 0
	for c := range s.conns {
		if c.authed.Load() == authed {
			n++
		}
	}
	return n
}

// lineGrace is how long after its first line a connection that has taken
// no step yet keeps its place: time for the line to be handled, so that a
// controller whose command has arrived is never taken for one whose lines
// lead nowhere.
const lineGrace = 10 * time.Millisecond

// giveWay chooses the unauthenticated connection to close for a newcomer,
// at now, in this order:
//
//  1. one whose peer has hung up, or one that has sent maxWasted commands
//     that failed to parse, at once;
//  2. a quiet one, which has sent no line and whose goroutine waits for
//     its peer with nothing unread in the kernel, once it has had
//     silentGrace since it arrived, the oldest first; for a speaking
//     newcomer, a silent one (no byte ever received) after lineGrace;
//  3. one that has sent lines but taken no step, once lineGrace has passed
//     since its first line, the oldest first;
//  4. one that has taken a step (PROTOCOLINFO, or an AUTHCHALLENGE
//     answered), once silentGrace has passed since its last, the longest
//     idle first.
//
// A later class gives way only when no connection of an earlier one is
// held, however young, so that a controller that took a step is never
// closed while a silent one could be. Trickled bytes and malformed lines
// are no step: they keep no place past their grace. With none eligible
// yet, giveWay returns how long until one may be. The caller holds s.mu.
func (s *Server) giveWay(now int64, speaking bool) (victim *conn, wait time.Duration) {
	var quiet, lined, stepped []*conn
	for c := range s.conns {
		switch {
		case c.authed.Load():
		case c.wasted.Load() >= maxWasted || peek(c.nc) == peerClosed:
			return c, 0
		case c.progress.Load() != 0:
			stepped = append(stepped, c)
		case c.firstLine.Load() != 0:
			lined = append(lined, c)
		default:
			quiet = append(quiet, c)
		}
	}
	next := int64(silentGrace) // the soonest a connection may turn eligible, from now
	eligible := func(since int64, grace time.Duration) bool {
		idle := now - since
		next = min(next, max(int64(grace)-idle, 0))
		return idle >= int64(grace)
	}
	waitFor := func() time.Duration { return time.Duration(max(next, int64(time.Millisecond))) }

	slices.SortFunc(quiet, func(a, b *conn) int { return cmp.Compare(a.arrived, b.arrived) })
	for _, c := range quiet {
		// Its goroutine busy, bytes waiting, or bytes just read: it may be
		// on its way to a line, only not yet seen. Looked at again soon.
		heard := c.heard.Load()
		if !c.reading.Load() || peek(c.nc) == bytesWaiting || heard != 0 && now-heard < int64(time.Millisecond) {
			next = min(next, int64(time.Millisecond))
			continue
		}
		silent := heard == 0
		if spoke, known := everSpoke(c.nc); known {
			if spoke && heard == 0 {
				// The kernel has had bytes from it, its goroutine has not
				// marked them yet: they are being read now.
				next = min(next, int64(time.Millisecond))
				continue
			}
			silent = !spoke
		}
		// A speaking newcomer may take a silent one's place early, but not
		// before lineGrace: a client accepted a moment ago is still sending.
		if silent && speaking && eligible(c.arrived, lineGrace) || eligible(c.arrived, silentGrace) {
			return c, 0
		}
	}
	if len(quiet) > 0 {
		return nil, waitFor()
	}
	for _, class := range []struct {
		conns []*conn
		since func(*conn) int64
		grace time.Duration
	}{
		{lined, func(c *conn) int64 { return c.firstLine.Load() }, lineGrace},
		{stepped, func(c *conn) int64 { return c.progress.Load() }, silentGrace},
	} {
		slices.SortFunc(class.conns, func(a, b *conn) int { return cmp.Compare(class.since(a), class.since(b)) })
		for _, c := range class.conns {
			if eligible(class.since(c), class.grace) {
				return c, 0
			}
		}
		if len(class.conns) > 0 {
			return nil, waitFor()
		}
	}
	return nil, waitFor()
}

// promote makes c an authenticated controller, unless MaxControllers are
// already, or c has given way meanwhile.
func (s *Server) promote(c *conn) (ok, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, held := s.conns[c]; !held {
		return false, false
	}
	if s.count(true) >= s.cfg.MaxControllers {
		return false, true
	}
	c.authed.Store(true)
	return true, false
}

// since returns the monotonic time since the server was made, in
// nanoseconds and at least 1, for the activity of connections.
func (s *Server) since() int64 { return max(int64(time.Since(s.epoch)), 1) }

// peekResult is what waits unread on a connection.
type peekResult int

const (
	peekUnknown    peekResult = iota // the connection cannot be peeked at
	nothingWaiting                   // no byte waits: silent, unless its goroutine has some
	bytesWaiting                     // the peer has spoken
	peerClosed                       // the peer has hung up
)
