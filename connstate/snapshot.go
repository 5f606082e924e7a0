package connstate

import (
	"iter"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// snapshot is the membership of the registry at one instant: the pointers
// a snapshot copies under the lock. Its arrays are kept in Registry.spare
// for the next snapshot, so that a warm one allocates nothing.
//
// Its lines are numbered by position: positions below len(conns) are the
// connections' own lines, and each position above is a circuit, whose
// lines are its legs'. Parts are runs of positions, so that no pass over
// the legs (a cache miss per circuit, on one goroutine) is needed before
// the workers start: each finds its circuits' legs as it goes.
type snapshot struct {
	conns []*Conn
	circs []circuitLegs
	legs  int // the legs of circs, in all
	now   int64
	gen   uint64
	entry Entry // what Entries yields, here so that it needs no allocation
}

type circuitLegs struct {
	id   uint64
	legs []*Leg
}

// capture takes a snapshot. The read lock is held while the pointers of
// the open connections and the circuits' legs arrays are copied into
// scratch space kept from the last snapshot: a published legs array never
// changes, so its elements are read later, without the lock.
//
// Uptimes are computed at now, registry-relative nanoseconds. With
// originOnly, only the legs of origin circuits are taken: the others are
// not even looked at, so that the snapshot's cost says nothing of them.
func (r *Registry) capture(now int64, originOnly bool) *snapshot {
	s := r.spare.Swap(nil)
	if s == nil {
		s = new(snapshot) // first use, or a concurrent snapshot holds the spare
	}
	s.now = now
	r.mu.RLock()
	s.conns = r.conns.appendLive(s.conns[:0])
	circs := &r.circs
	if originOnly {
		circs = &r.origins
	}
	for _, sl := range circs.slots {
		if sl.p != nil && len(sl.p.legs) > 0 {
			s.circs = append(s.circs, circuitLegs{id: sl.id, legs: sl.p.legs})
			s.legs += len(sl.p.legs)
		}
	}
	s.gen = r.gen
	r.mu.RUnlock()
	return s
}

// release gives the scratch space back for the next snapshot, dropping its
// pointers so that it keeps no closed connection alive.
func (r *Registry) release(s *snapshot) {
	clear(s.conns)
	clear(s.circs)
	s.conns, s.circs, s.legs = s.conns[:0], s.circs[:0], 0
	r.spare.Store(s)
}

// lines is how many lines the snapshot may yield: some legs may turn out
// to be on connections that had closed at its instant.
func (s *snapshot) lines() int { return len(s.conns) + s.legs }

// positions is how many positions the snapshot has.
func (s *snapshot) positions() int { return len(s.conns) + len(s.circs) }

// linesAt returns how many lines position p may yield.
func (s *snapshot) linesAt(p int) int {
	if p < len(s.conns) {
		return 1
	}
	return len(s.circs[p-len(s.conns)].legs)
}

// cut returns the positions that split the snapshot into n runs of about
// as many lines each: cuts[i] to cuts[i+1] is run i. It reads only the
// snapshot's own arrays, which lie together.
func (s *snapshot) cut(n int) []int {
	cuts := make([]int, n+1)
	total, seen, p := s.lines(), 0, 0
	for i := 1; i < n; i++ {
		for want := total * i / n; p < s.positions() && seen+s.linesAt(p) <= want; p++ {
			seen += s.linesAt(p)
		}
		cuts[i] = p
	}
	cuts[n] = s.positions()
	return cuts
}

// each yields the lines of positions from up to to, in e, until yield
// returns false; a leg whose connection had closed at the snapshot's
// instant is left out. It is the one place that says what a line holds;
// LookupEntry shares its parts.
func (s *snapshot) each(from, to int, e *Entry, yield func(*Entry) bool) {
	n := len(s.conns)
	for i := from; i < to; i += touchBatch {
		end := min(i+touchBatch, to)
		s.touch(i, end)
		for j := i; j < end; j++ {
			if j < n {
				s.conns[j].fillOwn(e, s.now)
				if !yield(e) {
					return
				}
				continue
			}
			cl := s.circs[j-n]
			for _, l := range cl.legs {
				if !l.visibleAt(s.gen) {
					continue
				}
				l.fill(e, s.now, cl.id)
				if !yield(e) {
					return
				}
			}
		}
	}
}

// touchBatch is how many positions touch reads ahead: enough misses at
// once to keep the memory system busy, few enough that they stay in L1.
const touchBatch = 16

// touch reads a word of every object that positions from up to to will
// read, one kind after another, so that their cache misses overlap instead
// of coming one after another as filling each line in turn would have
// them: on a live relay's heap, where neighbouring lines' objects lie far
// apart, those misses are most of a snapshot's cost. A test of the reads'
// sum keeps the compiler from dropping them.
func (s *snapshot) touch(from, to int) {
	var sum uint64
	n := len(s.conns)
	for i := from; i < min(to, n); i++ {
		c := s.conns[i]
		sum += c.id + c.read.Load() // both of its cache lines
		if fp := c.fp.Load(); fp != nil {
			sum += uint64(fp[0]) // a relay's fingerprint, apart from its connection
		}
	}
	if to <= n {
		if sum == touchNever {
			touchSink.Add(1)
		}
		return
	}
	circs := s.circs[max(from, n)-n : to-n]
	legs := 0
	for _, cl := range circs {
		if cl.legs[0] == nil { // the legs array (never nil: the test makes the load)
			sum++
		}
		legs += len(cl.legs)
	}
	if legs > maxTouchLegs {
		circs = nil // a wide circuit: its legs would not stay in L1 until filled
	}
	for _, cl := range circs {
		for _, l := range cl.legs {
			sum += uint64(l.role) // the leg, and with it its conn and circ pointers
		}
	}
	for _, cl := range circs {
		for _, l := range cl.legs {
			sum += l.conn.id // the connection's line, and the circuit's origin
			if l.circ.origin != nil {
				sum++
			}
		}
	}
	for _, cl := range circs {
		for _, l := range cl.legs {
			if fp := l.conn.fp.Load(); fp != nil {
				sum += uint64(fp[0])
			}
		}
	}
	if sum == touchNever {
		touchSink.Add(1)
	}
}

// maxTouchLegs bounds the legs touch reads ahead: circuits have a few legs
// each, but an exit circuit may have thousands.
const maxTouchLegs = 4 * touchBatch

// touchNever is a sum touch is never expected to see; touchSink counts it.
const touchNever = 0x5eed_5eed_5eed_5eed

var touchSink atomic.Uint64

// fillOwn writes the connection's own line (CIRC_ID 0) into *e.
func (c *Conn) fillOwn(e *Entry, now int64) {
	c.fill(e, now, 0, c.read.Load(), c.written.Load())
}

// fill writes the leg's line into *e.
func (l *Leg) fill(e *Entry, now int64, circ uint64) {
	l.conn.fill(e, now, circ, l.read.Load(), l.written.Load())
	e.Origin = l.circ.origin != nil
}

// visibleAt reports whether the leg shows in a snapshot at generation g:
// while its connection was open then. (Its circuit was open: closed
// circuits are not in the snapshot.)
func (l *Leg) visibleAt(g uint64) bool { return l.conn.openAt(g) }

// Entries returns an iterator over every entry line's data: one entry per
// open connection (CircID 0), then one per leg of every open circuit,
// sorted by (CircID, ConnID). Nothing is scrubbed: pass the entries through
// a scrub policy before showing them.
//
// The iterator yields a pointer to one Entry that it reuses: the caller may
// change it (scrub it in place, say) but must copy it to keep it past the
// next step. This spares copying each entry on the way to its line.
//
// Each range over the iterator takes its own snapshot. The set of lines
// is the registry's membership at the instant the range starts; the
// counters of those lines are read as they are reached, while they keep
// moving, so each is at least its value at that instant. The registry's
// lock is held only while pointers are copied: byte counting never waits,
// and opening or closing waits only for that copy.
func (r *Registry) Entries() iter.Seq[*Entry] {
	return r.walk
}

// walk is Entries' iteration, a method so that AppendEntries can call it
// with a closure that stays on the stack.
func (r *Registry) walk(yield func(*Entry) bool) {
	if !r.usable() {
		return
	}
	s := r.capture(r.now(), false)
	defer r.release(s)
	s.each(0, s.positions(), &s.entry, yield)
}

// MinPart is the fewest entries [Registry.EntryParts] puts in a part:
// smaller parts are not worth a goroutine.
const MinPart = 2048

// EntryParts takes one snapshot and splits what [Registry.Entries] would
// yield from it into at most n parts of at least MinPart lines each (one
// part if there are fewer), in order, so that a large conn/all can be
// formatted on several goroutines at once: ranging over each part in turn
// yields the snapshot's entries, sorted.
//
// The parts may be ranged on any goroutines, at once, and any number of
// times until release is called; each range reads the counters afresh and
// yields a pointer to an Entry of its own that it reuses, as Entries does.
// Once release has been called, the parts yield nothing and the snapshot's
// scratch space serves the next snapshot. Calling release more than once
// is harmless; not calling it only costs the next snapshot an allocation.
func (r *Registry) EntryParts(n int) (parts []iter.Seq[*Entry], release func()) {
	if !r.usable() {
		return []iter.Seq[*Entry]{func(func(*Entry) bool) {}}, func() {}
	}
	return r.EntryPartsAt(r.clock.Now(), n)
}

// EntryPartsAt is [Registry.EntryParts] with every UPTIME computed at the
// instant at rather than now: what a snapshot shows when it stands for an
// instant of a grid, as the public scrub tier's epochs do. An instant after
// now counts as now, so that no uptime runs ahead of the clock; a
// connection established after at shows 0.
func (r *Registry) EntryPartsAt(at time.Time, n int) (parts []iter.Seq[*Entry], release func()) {
	return r.entryParts(at, n, false)
}

// OriginEntryPartsAt is [Registry.EntryPartsAt] with the legs of origin
// circuits alone ([CircuitConfig.Origin]): what the public scrub tier
// shows, taken in a time that depends on nothing it does not show.
func (r *Registry) OriginEntryPartsAt(at time.Time, n int) (parts []iter.Seq[*Entry], release func()) {
	return r.entryParts(at, n, true)
}

func (r *Registry) entryParts(at time.Time, n int, originOnly bool) (parts []iter.Seq[*Entry], release func()) {
	if !r.usable() {
		return []iter.Seq[*Entry]{func(func(*Entry) bool) {}}, func() {}
	}
	s := r.capture(min(r.offset(at), r.now()), originOnly)
	// refs counts the holder (until release) and each range under way; the
	// last one out gives the scratch back.
	var refs atomic.Int64
	refs.Store(1)
	unref := func() {
		if refs.Add(-1) == 0 {
			r.release(s)
		}
	}
	n = max(min(n, s.lines()/MinPart), 1)
	cuts := s.cut(n)
	parts = make([]iter.Seq[*Entry], n)
	for i := range parts {
		from, to := cuts[i], cuts[i+1]
		parts[i] = func(yield func(*Entry) bool) {
			for {
				v := refs.Load()
				if v == 0 {
					return // released
				}
				if refs.CompareAndSwap(v, v+1) {
					break
				}
			}
			defer unref()
			var e Entry
			s.each(from, to, &e, yield)
		}
	}
	return parts, sync.OnceFunc(unref)
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
// (0 for the connection's own line), without building the whole list: the
// line a snapshot taken now would hold. The boolean is false when there is
// no such line.
func (r *Registry) LookupEntry(circID, connID uint64) (Entry, bool) {
	if !r.usable() {
		return Entry{}, false
	}
	now := r.now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	var e Entry
	if circID == 0 {
		c := r.conns.find(connID)
		if c == nil {
			return Entry{}, false
		}
		c.fillOwn(&e, now)
		return e, true
	}
	circ := r.circs.find(circID)
	if circ == nil {
		return Entry{}, false
	}
	i, ok := circ.search(connID)
	if !ok || !circ.legs[i].visibleAt(r.gen) {
		return Entry{}, false
	}
	circ.legs[i].fill(&e, now, circID)
	return e, true
}
