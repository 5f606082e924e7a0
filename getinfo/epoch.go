package getinfo

import (
	"bytes"
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/internal/decimal"
	"github.com/conninfo/conninfo/scrub"
)

// idleEpochs is how many epochs without a question the snapshots go on
// being taken at the grid's instants; after that they stop, so that an
// idle relay spends nothing, and the first question takes one at once.
const idleEpochs = 6

// epochView is what every conn/ and totals key answers during one epoch.
type epochView struct {
	index  int64       // the epoch: its instant is index × the epoch's length, in Unix time
	all    []byte      // conn/all's value
	reply  []byte      // conn/all's reply lines, as every controller is sent them
	counts []lineCount // each line's shown READ and WRITE, in conn/all's order, for the next view's ratchet
	totals connstate.Totals
	// circuits are the relay's own circuits, as circuit-status shows them.
	circuits []ShownCircuit
	// kept says the view is only the ratchet's memory, kept through a
	// quiet spell: never an answer.
	kept bool
}

// lineCount is a line's shown counts, by its shown IDs.
type lineCount struct {
	circ, conn    uint64
	read, written uint64
}

// epochs keeps the current epoch's view of a [Conns], taking a snapshot at
// each instant of the grid while controllers are asking.
type epochs struct {
	view      atomic.Pointer[epochView]
	lastAsked atomic.Int64 // the epoch of the latest question

	mu    sync.Mutex  // serialises taking views, so that an epoch has only one
	armed atomic.Bool // a timer is set for the next instant; written under mu
	// Guarded by mu: the ID pseudonyms, drawn at the first view, and the
	// entries of the last view, kept to serve the next.
	ids     *scrub.Pseudonyms
	scratch []connstate.Entry
	order   []lineOrder
	// firstSeen is the instant of the first view that showed each of the
	// relay's own circuits still shown, by shown ID: circuit-status' time
	// of creation, which so says nothing a view did not.
	firstSeen map[uint64]time.Time
}

// lineOrder is where a line goes in conn/all: by CIRC_ID, then CONN_ID.
type lineOrder struct {
	circ, conn uint64
	i          int32
}

// timerClock is a clock that can also call a function later, as the fake
// clock of connstatetest can; the real clock uses time.AfterFunc.
type timerClock interface {
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// epochIndex returns the epoch t falls in.
func epochIndex(t time.Time, length time.Duration) int64 {
	n, l := t.UnixNano(), int64(length)
	i := n / l
	if n%l < 0 {
		i-- // floor, for instants before 1970
	}
	return i
}

// current returns the view of the epoch now falls in, taking it if no
// timer has yet: the first question after a quiet spell.
func (h *Conns) current() *epochView { return h.currentView(false) }

// currentView is current; with wait, at an instant the timer has not yet
// reached, it takes the epoch's view rather than answer from the last one,
// as an event source must to follow the views second by second.
func (h *Conns) currentView(wait bool) *epochView {
	length := h.Policy.EpochLength()
	k := epochIndex(h.clock().Now(), length)
	e := &h.epochs
	if e.lastAsked.Load() != k {
		e.lastAsked.Store(k)
	}
	if v := e.view.Load(); v != nil && !v.kept && (v.index == k || !wait && v.index == k-1 && e.armed.Load()) {
		// This epoch's view; or, at an instant the timer is about to
		// take, the last one: a question never waits for a view being
		// taken, so that its time says nothing of what the view holds.
		return v
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if v := e.view.Load(); v != nil && !v.kept && v.index == k {
		return v
	}
	v := h.takeView(k, length) // the first question after a quiet spell
	if !e.armed.Load() {
		e.armed.Store(true)
		h.arm(k+1, length)
	}
	return v
}

// arm sets a timer for the instant of epoch next.
func (h *Conns) arm(next int64, length time.Duration) {
	clock := h.clock()
	d := time.Unix(0, next*int64(length)).Sub(clock.Now())
	if tc, ok := clock.(timerClock); ok {
		tc.AfterFunc(d, h.tick)
		return
	}
	time.AfterFunc(d, h.tick)
}

// tick runs at an instant of the grid: it takes that epoch's view, unless
// a question already did, and sets the next timer; after idleEpochs
// without a question it stops and lets the views go.
func (h *Conns) tick() {
	length := h.Policy.EpochLength()
	k := epochIndex(h.clock().Now(), length) // a late timer takes the epoch it fires in
	e := &h.epochs
	e.mu.Lock()
	defer e.mu.Unlock()
	if k-e.lastAsked.Load() > idleEpochs {
		// Quiet: let the text go, but keep what the ratchet needs, so that
		// no count is shown lower after the spell, nor drawn afresh from a
		// clean slate that an attacker asking once a spell could average.
		e.armed.Store(false)
		if v := e.view.Load(); v != nil {
			e.view.Store(&epochView{index: v.index, counts: v.counts, totals: v.totals, kept: true})
		}
		return
	}
	if v := e.view.Load(); v == nil || v.index < k {
		h.takeView(k, length)
	}
	h.arm(k+1, length)
}

// takeView takes the snapshot of epoch k and keeps it as the current
// view: conn/all's lines with every UPTIME at the epoch's instant, then
// the totals, all scrubbed. e.mu is held.
func (h *Conns) takeView(k int64, length time.Duration) *epochView {
	v := &epochView{index: k}
	// The instant as a reading of the clock, monotonic part included, so
	// that a step of the wall clock cannot date the lines at another time.
	now := h.clock().Now()
	at := now.Add(time.Duration(k*int64(length) - now.UnixNano()))
	e := &h.epochs
	if e.ids == nil {
		e.ids = scrub.NewPseudonyms(h.seed(), h.seed())
	}
	// Each view rounds with offsets of its own, so that no controller can
	// find where a line's rounding steps by adding bytes of its own.
	policy := h.Policy.Dithered(h.seed())
	prev := e.view.Load() // what the ratchet holds the counts to, if it is older
	if prev != nil && prev.index >= k {
		prev = nil
	}
	if h.Source != nil {
		// A new buffer, since controllers may still be copying the last
		// view's, sized from it so that it seldom grows.
		var hint int
		var prevCounts []lineCount
		if prev != nil {
			hint = len(prev.all) + len(prev.all)/8
			prevCounts = prev.counts
		}
		v.all, v.counts = h.publicLines(make([]byte, 0, hint), at, policy, prevCounts)
	}
	v.reply = encodeReply(v.all)
	if cs, ok := h.Source.(CircuitSource); ok {
		seen := make(map[uint64]time.Time, len(e.firstSeen))
		v.circuits = shownCircuits(cs, policy, e.ids, func(_ connstate.OriginCircuit, id uint64) time.Time {
			first, ok := e.firstSeen[id]
			if !ok {
				first = time.Unix(0, k*int64(length))
			}
			seen[id] = first
			return first
		})
		e.firstSeen = seen
	}
	if h.Totals != nil {
		v.totals = policy.Totals(h.Totals())
		if prev != nil {
			p := prev.totals
			v.totals = connstate.Totals{
				RelayRead: max(v.totals.RelayRead, p.RelayRead), RelayWritten: max(v.totals.RelayWritten, p.RelayWritten),
				TrafficRead: max(v.totals.TrafficRead, p.TrafficRead), TrafficWritten: max(v.totals.TrafficWritten, p.TrafficWritten),
			}
		}
	}
	e.view.Store(v)
	return v
}

// publicLines appends the public tier's conn/all to dst: the lines the
// policy shows, dated at, with the IDs' pseudonyms, sorted by them, each
// count at least what prev, the last view's counts, showed (see ratchet);
// and returns this view's counts. e.mu is held.
func (h *Conns) publicLines(dst []byte, at time.Time, policy scrub.Policy, prev []lineCount) ([]byte, []lineCount) {
	e := &h.epochs
	entries := e.scratch[:0]
	keep := func(x *connstate.Entry) {
		if policy.Scrub(x) {
			x.ConnID, x.CircID = e.ids.Conn(x.ConnID), e.ids.Circ(x.CircID)
			entries = append(entries, *x)
		}
	}
	switch src := h.Source.(type) {
	case originSource: // the carried legs, which it would drop, are not even read
		parts, release := src.OriginEntryPartsAt(at, 1)
		for x := range parts[0] {
			keep(x)
		}
		release()
	case PartitionedSource:
		parts, release := src.EntryPartsAt(at, 1)
		for x := range parts[0] {
			keep(x)
		}
		release()
	default:
		for x := range h.Source.Entries() {
			keep(x)
		}
	}
	// Sort small keys, not the entries themselves.
	order := e.order[:0]
	for i := range entries {
		order = append(order, lineOrder{entries[i].CircID, entries[i].ConnID, int32(i)})
	}
	slices.SortFunc(order, func(a, b lineOrder) int {
		return cmp.Or(cmp.Compare(a.circ, b.circ), cmp.Compare(a.conn, b.conn))
	})
	counts := make([]lineCount, 0, len(order))
	r := ratchet{prev: prev}
	dst = format.AppendAll(dst, func(yield func(*connstate.Entry) bool) {
		for _, o := range order {
			x := &entries[o.i]
			if p, ok := r.seek(x.CircID, x.ConnID); ok {
				x.Read, x.Written = max(x.Read, p.read), max(x.Written, p.written)
			}
			counts = append(counts, lineCount{x.CircID, x.ConnID, x.Read, x.Written})
			if !yield(x) {
				return
			}
		}
	})
	e.scratch, e.order = entries, order
	return dst, counts
}

// findLine returns the line of all, a conn/all value, that starts with
// connection conn and circuit circ.
func findLine(all []byte, circ, conn uint64) ([]byte, bool) {
	start := lowerBound(all, circ, conn)
	line := lineAt(all, start)
	lineConn, lineCirc, ok := lineKey(line)
	if !ok || lineCirc != circ || lineConn != conn {
		return nil, false
	}
	return line, true
}

// lowerBound returns where in all, a conn/all value, the first line at or
// after (circ, conn) starts, or len(all), by binary search: the lines are
// sorted by (CIRC_ID, CONN_ID) and each starts "CONN_ID CIRC_ID ".
func lowerBound(all []byte, circ, conn uint64) int {
	lo, hi := 0, len(all) // both at the start of a line, or the end
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo + bytes.LastIndexByte(all[lo:mid], '\n') + 1
		line := lineAt(all, start)
		lineConn, lineCirc, ok := lineKey(line)
		if ok && (lineCirc < circ || lineCirc == circ && lineConn < conn) {
			lo = start + len(line) + 1
		} else {
			hi = start
		}
	}
	return min(lo, len(all))
}

// lineAt returns the line of all that starts at start.
func lineAt(all []byte, start int) []byte {
	if start >= len(all) {
		return nil
	}
	end := bytes.IndexByte(all[start:], '\n')
	if end < 0 {
		return all[start:]
	}
	return all[start : start+end]
}

// ratchet keeps the public tier's counts from going back: with rounding
// offsets drawn afresh each epoch, a count that barely moved could be
// shown a step lower than last time, which would confuse a controller
// computing rates. It walks the last view's counts alongside the lines
// being formatted, in the same order, so that each line's READ and WRITE
// are at least what they were shown as. A shown count stays within one
// step of the true one: never below its floor, never a step above it.
type ratchet struct {
	prev []lineCount
	pos  int
}

// seek returns the counts the last view showed on line (circ, conn);
// lines are asked for in increasing order.
func (r *ratchet) seek(circ, conn uint64) (lineCount, bool) {
	for r.pos < len(r.prev) {
		p := r.prev[r.pos]
		if p.circ < circ || p.circ == circ && p.conn < conn {
			r.pos++
			continue
		}
		return p, p.circ == circ && p.conn == conn
	}
	return lineCount{}, false
}

// lineKey reads the CONN_ID and CIRC_ID that start an entry line.
func lineKey(line []byte) (conn, circ uint64, ok bool) {
	c, rest, ok1 := bytes.Cut(line, []byte{' '})
	k, _, ok2 := bytes.Cut(rest, []byte{' '})
	conn, ok3 := decimal.ParseUint64(c)
	circ, ok4 := decimal.ParseUint64(k)
	return conn, circ, ok1 && ok2 && ok3 && ok4
}
