package controlport

import (
	"cmp"
	"net"
	"slices"
	"time"
)

// silentGrace is how long a new connection may stay silent before it can
// be made to give way, and how long after its last line a progressing one
// keeps its place. Under a flood of silent connections the server admits
// at most MaxUnauthenticated of them per silentGrace; the rest wait in the
// kernel's accept queue, where they cost the process nothing, and a
// controller that spoke on connecting is found with its bytes waiting.
const silentGrace = 50 * time.Millisecond

// admit serves nc once there is room for another unauthenticated
// connection: at once if there is, else when one gives way (see
// Config.MaxUnauthenticated) or ends. Until then the accept loop waits.
func (s *Server) admit(nc net.Conn) {
	for {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return
		}
		if s.count(false) < s.cfg.MaxUnauthenticated {
			s.start(nc)
			s.mu.Unlock()
			return
		}
		now := s.since()
		victim, wait := s.giveWay(now)
		if victim != nil {
			delete(s.conns, victim) // its goroutine's own delete is then a no-op
			victim.nc.Close()
			s.noteGiveWay(now)
			s.start(nc)
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

// start serves nc in a new goroutine. The caller holds s.mu.
func (s *Server) start(nc net.Conn) {
	c := s.newConn(nc)
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

// giveWay chooses the unauthenticated connection to close for a newcomer,
// at now, in this order:
//
//  1. one whose peer has hung up, at once;
//  2. a silent one, which has sent nothing and waits for its peer with
//     nothing unread in the kernel, once it has had silentGrace to speak,
//     the oldest first;
//  3. one that has sent bytes but no complete line, once silentGrace has
//     passed since its last byte, the longest idle first;
//  4. one that has sent lines, once silentGrace has passed since its last
//     line, the longest idle first.
//
// A later class gives way only when no connection of an earlier one
// remains, however young: a controller that spoke is never closed for a
// silent newcomer while silent ones are held. With none eligible yet, it
// returns how long until one may be. The caller holds s.mu.
func (s *Server) giveWay(now int64) (victim *conn, wait time.Duration) {
	var silent, partial, progressing []*conn
	for c := range s.conns {
		switch {
		case c.authed.Load():
		case c.lastLine.Load() != 0:
			progressing = append(progressing, c)
		case c.heard.Load() != 0:
			partial = append(partial, c)
		default:
			silent = append(silent, c)
		}
	}
	for _, class := range [][]*conn{silent, partial} {
		for _, c := range class {
			if peek(c.nc) == peerClosed {
				return c, 0
			}
		}
	}
	grace := int64(silentGrace)
	next := grace // the soonest a connection may turn eligible, from now
	eligible := func(since int64) bool {
		idle := now - since
		next = min(next, max(grace-idle, 0))
		return idle >= grace
	}
	waitFor := func() time.Duration { return time.Duration(max(next, int64(time.Millisecond))) }

	slices.SortFunc(silent, func(a, b *conn) int { return cmp.Compare(a.arrived, b.arrived) })
	for _, c := range silent {
		// Its goroutine busy, or bytes waiting: it may be speaking, only
		// not yet heard. Looked at again on the next try.
		if !c.reading.Load() || peek(c.nc) == bytesWaiting {
			next = min(next, int64(time.Millisecond))
			continue
		}
		if eligible(c.arrived) {
			return c, 0
		}
	}
	if len(silent) > 0 {
		return nil, waitFor()
	}
	for _, class := range []struct {
		conns []*conn
		since func(*conn) int64
	}{
		{partial, func(c *conn) int64 { return c.heard.Load() }},
		{progressing, func(c *conn) int64 { return c.lastLine.Load() }},
	} {
		slices.SortFunc(class.conns, func(a, b *conn) int { return cmp.Compare(class.since(a), class.since(b)) })
		for _, c := range class.conns {
			if eligible(class.since(c)) {
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
