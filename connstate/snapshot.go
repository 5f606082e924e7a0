package connstate

// snapshotScratch holds the pointers a snapshot copies under the lock, kept
// in Registry.spare so that a warm snapshot allocates nothing.
type snapshotScratch struct {
	conns []*Conn
	circs []circuitLegs
}

type circuitLegs struct {
	id   uint64
	legs []*Leg
}

// AppendEntries appends every entry line's data to dst and returns the
// extended slice: one entry per open connection (CircID 0), then one per leg
// of every open circuit, sorted by (CircID, ConnID). Nothing is scrubbed:
// pass the entries through a scrub policy before showing them.
//
// The set of lines is the registry's membership at one instant; the
// counters are read just after, while they keep moving, so each is at least
// its value at that instant. The registry's lock is held only while
// pointers are copied: byte counting never waits, and opening or closing
// waits only for that copy.
func (r *Registry) AppendEntries(dst []Entry) []Entry {
	sc := r.spare.Swap(nil)
	if sc == nil {
		sc = new(snapshotScratch) // a concurrent snapshot holds the spare
	}
	now := r.now()

	r.mu.RLock()
	g := r.gen
	sc.conns = r.conns.appendLive(sc.conns[:0])
	for _, s := range r.circs.slots {
		if s.p != nil && len(s.p.legs) > 0 {
			sc.circs = append(sc.circs, circuitLegs{id: s.id, legs: s.p.legs})
		}
	}
	r.mu.RUnlock()

	dst = growEntries(dst, len(sc.conns))
	for _, c := range sc.conns {
		dst = append(dst, c.entry(now, 0, c.read.Load(), c.written.Load()))
	}
	for _, cl := range sc.circs {
		for _, l := range cl.legs {
			// A leg shows while its connection was open at the instant.
			if l.conn.openAt(g) {
				dst = append(dst, l.conn.entry(now, cl.id, l.read.Load(), l.written.Load()))
			}
		}
	}

	// Drop the pointers so the pool keeps no closed connection alive.
	clear(sc.conns)
	clear(sc.circs)
	sc.conns, sc.circs = sc.conns[:0], sc.circs[:0]
	r.spare.Store(sc)
	return dst
}

func growEntries(dst []Entry, n int) []Entry {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	grown := make([]Entry, len(dst), len(dst)+n+n/4)
	copy(grown, dst)
	return grown
}

// LookupEntry returns the entry line of connection connID on circuit circID
// (0 for the connection's own line), without building the whole list.
// The boolean is false when there is no such line.
func (r *Registry) LookupEntry(circID, connID uint64) (Entry, bool) {
	now := r.now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	if circID == 0 {
		c := r.conns.find(connID)
		if c == nil {
			return Entry{}, false
		}
		return c.entry(now, 0, c.read.Load(), c.written.Load()), true
	}
	circ := r.circs.find(circID)
	if circ == nil {
		return Entry{}, false
	}
	for _, l := range circ.legs {
		if l.conn.id == connID && !l.conn.Closed() {
			return l.conn.entry(now, circID, l.read.Load(), l.written.Load()), true
		}
	}
	return Entry{}, false
}
