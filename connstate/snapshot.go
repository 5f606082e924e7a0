package connstate

import (
	"iter"
	"slices"
	"sync/atomic"
)

// snapshotScratch holds the pointers a snapshot copies under the lock, kept
// in Registry.spare so that a warm snapshot allocates nothing.
type snapshotScratch struct {
	conns []*Conn
	circs []circuitLegs
	legs  []legRef // circs flattened, for EntryParts
	entry Entry    // what walk yields, here so that it needs no allocation
}

type legRef struct {
	circ uint64
	leg  *Leg
}

type circuitLegs struct {
	id   uint64
	legs []*Leg
}

// Entries returns an iterator over every entry line's data: one entry per
// open connection (CircID 0), then one per leg of every open circuit,
// sorted by (CircID, ConnID). Nothing is scrubbed: pass the entries through
// a scrub policy before showing them.
//
// The iterator yields a pointer to one Entry that it reuses: the caller may
// change it (scrub it in place, say) but must copy it to keep it past the
// next step. This spares copying each entry on the way to its line.
//
// The set of lines is the registry's membership at the instant the
// iteration starts; the counters of those lines are read as they are
// reached, while they keep moving, so each is at least its value at that
// instant. The registry's lock is held only while pointers are copied:
// byte counting never waits, and opening or closing waits only for that
// copy.
func (r *Registry) Entries() iter.Seq[*Entry] {
	return r.walk
}

// walk is Entries' iteration, a method so that AppendEntries can call it
// with a closure that stays on the stack.
func (r *Registry) walk(yield func(*Entry) bool) {
	sc, now, g := r.capture()
	defer r.release(sc)

	e := &sc.entry
	for _, c := range sc.conns {
		c.fill(e, now, 0, c.read.Load(), c.written.Load())
		if !yield(e) {
			return
		}
	}
	for _, cl := range sc.circs {
		for _, l := range cl.legs {
			// A leg shows while its connection was open at the instant.
			if !l.conn.openAt(g) {
				continue
			}
			l.conn.fill(e, now, cl.id, l.read.Load(), l.written.Load())
			if !yield(e) {
				return
			}
		}
	}
}

// capture copies the pointers of the open connections and of the
// circuits' legs under the read lock, into scratch space kept from the
// last snapshot, and returns the time and generation they are valid at.
func (r *Registry) capture() (sc *snapshotScratch, now int64, g uint64) {
	sc = r.spare.Swap(nil)
	if sc == nil {
		sc = new(snapshotScratch) // first use, or a concurrent snapshot holds the spare
	}
	now = r.now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	sc.conns = r.conns.appendLive(sc.conns[:0])
	for _, s := range r.circs.slots {
		if s.p != nil && len(s.p.legs) > 0 {
			sc.circs = append(sc.circs, circuitLegs{id: s.id, legs: s.p.legs})
		}
	}
	return sc, now, r.gen
}

// release gives the scratch space back for the next snapshot, dropping its
// pointers so that it keeps no closed connection alive.
func (r *Registry) release(sc *snapshotScratch) {
	clear(sc.conns)
	clear(sc.circs)
	clear(sc.legs)
	sc.conns, sc.circs, sc.legs = sc.conns[:0], sc.circs[:0], sc.legs[:0]
	r.spare.Store(sc)
}

// MinPart is the fewest entries [Registry.EntryParts] puts in a part:
// smaller parts are not worth a goroutine.
const MinPart = 2048

// EntryParts splits what [Registry.Entries] yields into at most n parts of
// at least MinPart entries (one part if there are fewer), in order: ranging over each part in turn
// yields the same entries as Entries, from one snapshot. The parts may be
// ranged on different goroutines at once, so that a large conn/all can be
// formatted in parallel; each part may be ranged once, and yields a pointer
// to an Entry it reuses, as Entries does.
func (r *Registry) EntryParts(n int) []iter.Seq[*Entry] {
	sc, now, g := r.capture()

	// The legs slices are never changed once published: flatten them
	// outside the lock, so that each part can start at any index.
	for _, cl := range sc.circs {
		for _, l := range cl.legs {
			sc.legs = append(sc.legs, legRef{cl.id, l})
		}
	}
	total := len(sc.conns) + len(sc.legs)
	n = max(min(n, total/MinPart), 1)
	var left atomic.Int32
	left.Store(int32(n))
	release := func() {
		if left.Add(-1) == 0 {
			r.release(sc)
		}
	}
	parts := make([]iter.Seq[*Entry], n)
	for i := range parts {
		from, to := total*i/n, total*(i+1)/n
		parts[i] = func(yield func(*Entry) bool) {
			defer release()
			var e Entry
			for j := from; j < to; j++ {
				if j < len(sc.conns) {
					c := sc.conns[j]
					c.fill(&e, now, 0, c.read.Load(), c.written.Load())
				} else {
					lr := sc.legs[j-len(sc.conns)]
					if !lr.leg.conn.openAt(g) {
						continue
					}
					lr.leg.conn.fill(&e, now, lr.circ, lr.leg.read.Load(), lr.leg.written.Load())
				}
				if !yield(&e) {
					return
				}
			}
		}
	}
	return parts
}

// AppendEntries appends the entries [Registry.Entries] yields to dst and
// returns the extended slice. A warm call, into a slice with room, does
// not allocate.
func (r *Registry) AppendEntries(dst []Entry) []Entry {
	conns, circuits := r.Counts()
	dst = slices.Grow(dst, conns+2*circuits) // most circuits have two legs
	r.walk(func(e *Entry) bool {
		dst = append(dst, *e)
		return true
	})
	return dst
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
		var e Entry
		c.fill(&e, now, 0, c.read.Load(), c.written.Load())
		return e, true
	}
	circ := r.circs.find(circID)
	if circ == nil {
		return Entry{}, false
	}
	for _, l := range circ.legs {
		if l.conn.id == connID && !l.conn.Closed() {
			var e Entry
			l.conn.fill(&e, now, circID, l.read.Load(), l.written.Load())
			return e, true
		}
	}
	return Entry{}, false
}
