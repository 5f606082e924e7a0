package connstate

// Totals are byte counts over every rate-limited connection a registry
// has held, open or closed. A connection is rate limited as tor decides
// it: unless it runs over a unix socket or an in-process link
// ([ConnConfig.Unix]), or its peer's address is unknown or [Internal]
// and the registry was not made with [CountPrivate].
//
// Both pairs count the same connections, so that comparing them tells
// nothing of whether a peer is on loopback or a private network.
type Totals struct {
	// RelayRead and RelayWritten count rate-limited connections whose
	// usage is UsageRelay: the proposal's info/relay/read-total and
	// write-total.
	RelayRead, RelayWritten uint64
	// TrafficRead and TrafficWritten count every rate-limited connection:
	// tor's traffic/read and traffic/written.
	TrafficRead, TrafficWritten uint64
}

// totalsOf returns what the connection adds to the totals now.
func totalsOf(c *Conn) Totals {
	var t Totals
	if !c.rateLimited {
		return t
	}
	read, written := c.read.Load(), c.written.Load()
	if usageOf(c.state.Load()) == UsageRelay {
		t.RelayRead, t.RelayWritten = read, written
	}
	t.TrafficRead, t.TrafficWritten = read, written
	return t
}

func (t *Totals) add(u Totals) {
	t.RelayRead += u.RelayRead
	t.RelayWritten += u.RelayWritten
	t.TrafficRead += u.TrafficRead
	t.TrafficWritten += u.TrafficWritten
}

func (t *Totals) sub(u Totals) {
	t.RelayRead -= u.RelayRead
	t.RelayWritten -= u.RelayWritten
	t.TrafficRead -= u.TrafficRead
	t.TrafficWritten -= u.TrafficWritten
}

// totalsChunk is how many connections Totals reads per hold of the read
// lock: each costs a cache miss or two, so that a writer waits some
// microseconds at most, whatever the number of connections.
const totalsChunk = 64

// totalsWalk is one Totals call under way. Both fields are guarded by the
// registry's lock: the walk writes cursor under the read lock, a close
// reads it under the write lock.
type totalsWalk struct {
	cursor uint64 // connections with lower IDs have been counted
	over   Totals // what closes have added to the closed totals of connections already counted
}

// Totals returns the byte totals of every connection the registry has held.
// Bytes of a connection are kept when it closes, so no total ever goes down
// from one call to the next.
//
// It reads the open connections a few dozen at a time, never holding the
// registry's lock for more than that, so that opening and closing do not
// wait for a walk over every connection. Each connection open when the call
// begins is counted exactly once: by its counters when the walk reaches
// it, or by its bytes at its close if it closes before that.
func (r *Registry) Totals() Totals {
	if !r.usable() {
		return Totals{}
	}
	w := &totalsWalk{}
	r.walksMu.Lock()
	r.walks = append(r.walks, w)
	r.walksMu.Unlock()
	defer r.endWalk(w)

	var live Totals
	limit := uint64(0) // the last ID when the walk began: later ones need not be read
	for first := true; ; first = false {
		r.mu.RLock()
		if first {
			limit = r.lastConnID
		}
		slots := r.conns.slots
		i := r.conns.from(w.cursor)
		end := min(i+totalsChunk, len(slots))
		for ; i < end && slots[i].id <= limit; i++ {
			if c := slots[i].p; c != nil {
				live.add(totalsOf(c))
			}
		}
		if i < len(slots) && slots[i].id <= limit {
			w.cursor = slots[i].id
			r.mu.RUnlock()
			continue
		}
		// The last chunk: closes are held off while the parts are added.
		t := r.closed
		t.sub(w.over)
		r.mu.RUnlock()
		t.add(live)
		return t
	}
}

// countClose records a closing connection's bytes, with the write lock
// held: in the closed totals, and in every walk that counted it already,
// so that the walk takes it out again.
func (r *Registry) countClose(c *Conn) {
	t := totalsOf(c)
	r.closed.add(t)
	r.walksMu.Lock()
	defer r.walksMu.Unlock()
	for _, w := range r.walks {
		if c.id < w.cursor {
			w.over.add(t)
		}
	}
}

func (r *Registry) endWalk(w *totalsWalk) {
	r.walksMu.Lock()
	defer r.walksMu.Unlock()
	for i, x := range r.walks {
		if x == w {
			last := len(r.walks) - 1
			r.walks[i], r.walks[last] = r.walks[last], nil
			r.walks = r.walks[:last]
			return
		}
	}
}
