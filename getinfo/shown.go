package getinfo

import (
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/scrub"
)

// Shown is what a [Conns] tells controllers at one moment: conn/all's
// value and the totals, exactly as its keys answer them then. Event
// sources (package events) are built on it, so that an event says no more
// than the keys do.
type Shown struct {
	// Epoch is, in the public tier, the index of the epoch the view is of:
	// its instant is Epoch × the epoch's length, in Unix time. In the other
	// tiers, which answer live, it is 0.
	Epoch int64
	// At is the view's instant in the public tier, or when it was taken.
	At time.Time
	// All is conn/all's value (empty if it was not asked for, or without a
	// Source). In the public tier it is the epoch's view, shared with every
	// controller: read it, never change it.
	All []byte
	// Totals are what the totals keys answer (zero without Conns.Totals).
	Totals connstate.Totals
	// Circuits are the relay's own circuits as circuit-status shows them,
	// if the Source is a [CircuitSource] (and, live, lines was asked for).
	Circuits []ShownCircuit
}

// Show returns what the keys answer now, for an event source: in the
// public tier the current epoch's view, which asking keeps being taken,
// as a question does (and taken at once if its instant has just come and
// the timer has not yet run, where a question is answered from the last
// view, so that event sources follow the views second by second); in the
// other tiers a live reading, conn/all's value only if lines is set (it
// walks every connection).
func (h *Conns) Show(lines bool) Shown { return h.show(lines, true) }

// Answer returns what a question asked now is answered from: as [Conns.Show],
// but in the public tier, at an instant the timer has not yet reached, the
// last view, as the keys answer then. For a reader polled by others (a
// metrics scrape) so that when it asks cannot tell it more than a GETINFO
// asked at that moment.
func (h *Conns) Answer(lines bool) Shown { return h.show(lines, false) }

// show is Show; without wait, a question's: at an instant the timer has
// not yet reached, the last view answers, so that no answer waits for a
// view being taken.
func (h *Conns) show(lines, wait bool) Shown {
	if h.Policy.EpochLength() > 0 {
		v := h.currentView(wait)
		return Shown{
			Epoch:    v.index,
			At:       time.Unix(0, v.index*int64(h.Policy.EpochLength())),
			All:      v.all,
			Totals:   v.totals,
			Circuits: v.circuits,
		}
	}
	now := h.clock().Now()
	s := Shown{At: now}
	if lines && h.Source != nil {
		s.All = h.appendAll(nil, now, h.Policy)
		if cs, ok := h.Source.(CircuitSource); ok {
			s.Circuits = shownCircuits(cs, h.Policy, nil, func(oc connstate.OriginCircuit, _ uint64) time.Time { return oc.Opened })
		}
	}
	if h.Totals != nil {
		s.Totals = h.Policy.Totals(h.Totals())
	}
	return s
}

// ClockUsed returns the clock that places the epochs and dates the lines:
// Conns.Clock, else the Source's own (a Registry's), else the real one.
func (h *Conns) ClockUsed() connstate.Clock { return h.clock() }

// ShownConnID returns the CONN_ID the keys show for the registry's
// connection id: in the public tier its pseudonym (drawing the tier's
// keys if no view has yet), in the other tiers id itself. For a source of
// findings (package audit) that names connections as conn/all does.
func (h *Conns) ShownConnID(id uint64) uint64 {
	if p := h.pseudonyms(); p != nil {
		return p.Conn(id)
	}
	return id
}

// ShownCircID is [Conns.ShownConnID] for a circuit.
func (h *Conns) ShownCircID(id uint64) uint64 {
	if p := h.pseudonyms(); p != nil {
		return p.Circ(id)
	}
	return id
}

// pseudonyms returns the public tier's pseudonyms, drawn if need be, or
// nil in the other tiers.
func (h *Conns) pseudonyms() *scrub.Pseudonyms {
	if h.Policy.EpochLength() <= 0 {
		return nil
	}
	e := &h.epochs
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ids == nil {
		e.ids = scrub.NewPseudonyms(h.seed(), h.seed())
	}
	return e.ids
}
