package getinfo

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/internal/decimal"
)

// idleEpochs is how many epochs without a question the snapshots go on
// being taken at the grid's instants; after that they stop, so that an
// idle relay spends nothing, and the first question takes one at once.
const idleEpochs = 6

// epochView is what every conn/ and totals key answers during one epoch.
type epochView struct {
	index  int64  // the epoch: its instant is index × the epoch's length, in Unix time
	all    []byte // conn/all's value
	totals connstate.Totals
}

// epochs keeps the current epoch's view of a [Conns], taking a snapshot at
// each instant of the grid while controllers are asking.
type epochs struct {
	view      atomic.Pointer[epochView]
	lastAsked atomic.Int64 // the epoch of the latest question

	mu    sync.Mutex // serialises taking views, so that an epoch has only one
	armed bool       // a timer is set for the next instant
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
func (h *Conns) current() *epochView {
	length := h.Policy.EpochLength()
	k := epochIndex(h.clock().Now(), length)
	if h.epochs.lastAsked.Load() != k {
		h.epochs.lastAsked.Store(k)
	}
	if v := h.epochs.view.Load(); v != nil && v.index == k {
		return v
	}
	e := &h.epochs
	e.mu.Lock()
	defer e.mu.Unlock()
	if v := e.view.Load(); v != nil && v.index == k {
		return v
	}
	v := h.takeView(k, length)
	if !e.armed {
		e.armed = true
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
		e.armed = false
		e.view.Store(nil)
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
	if h.Source != nil {
		// A new buffer, since controllers may still be copying the last
		// view's, sized from it so that it seldom grows.
		var hint int
		if prev := h.epochs.view.Load(); prev != nil {
			hint = len(prev.all) + len(prev.all)/8
		}
		v.all = h.appendAll(make([]byte, 0, hint), at)
	}
	if h.Totals != nil {
		v.totals = h.Policy.Totals(h.Totals())
	}
	h.epochs.view.Store(v)
	return v
}

// findLine returns the line of all, a conn/all value, that starts with
// connection conn and circuit circ, by binary search: the lines are sorted
// by (CIRC_ID, CONN_ID) and each starts "CONN_ID CIRC_ID ".
func findLine(all []byte, circ, conn uint64) ([]byte, bool) {
	lo, hi := 0, len(all) // both at the start of a line, or the end
	for lo < hi {
		mid := lo + (hi-lo)/2
		start := lo + bytes.LastIndexByte(all[lo:mid], '\n') + 1
		end := start + bytes.IndexByte(all[start:], '\n')
		if end < start {
			end = len(all)
		}
		line := all[start:end]
		lineConn, lineCirc, ok := lineKey(line)
		if !ok {
			return nil, false // not a line this package wrote
		}
		switch {
		case lineCirc == circ && lineConn == conn:
			return line, true
		case lineCirc < circ || lineCirc == circ && lineConn < conn:
			lo = end + 1
		default:
			hi = start
		}
	}
	return nil, false
}

// lineKey reads the CONN_ID and CIRC_ID that start an entry line.
func lineKey(line []byte) (conn, circ uint64, ok bool) {
	c, rest, ok1 := bytes.Cut(line, []byte{' '})
	k, _, ok2 := bytes.Cut(rest, []byte{' '})
	conn, ok3 := decimal.ParseUint64(string(c))
	circ, ok4 := decimal.ParseUint64(string(k))
	return conn, circ, ok1 && ok2 && ok3 && ok4
}
