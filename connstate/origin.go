package connstate

import (
	"time"
)

// OriginCircuit is one of the relay's own circuits, as tor's
// circuit-status and CIRC events describe it.
type OriginCircuit struct {
	ID      uint64
	Purpose string    // CircuitConfig.Purpose, or DefaultPurpose
	Opened  time.Time // when it was opened, on the registry's clock
	// FirstHop is the line of the connection its outbound leg runs over,
	// with the leg's counts, unscrubbed; HasFirstHop says whether one is
	// bound.
	FirstHop    Entry
	HasFirstHop bool
}

// OriginCircuits returns the open origin circuits, by ID. It holds the
// registry's read lock while it copies them: they are few (tor keeps a
// handful of its own), unlike the circuits a relay carries.
func (r *Registry) OriginCircuits() []OriginCircuit {
	if !r.usable() {
		return nil
	}
	now := r.now()
	r.mu.RLock()
	defer r.mu.RUnlock()
	circs := r.origins.appendLive(nil)
	out := make([]OriginCircuit, 0, len(circs))
	for _, c := range circs {
		oc := OriginCircuit{ID: c.id, Purpose: c.origin.purpose, Opened: r.epoch.Add(time.Duration(c.origin.opened))}
		if leg := c.out; leg != nil && !leg.conn.Closed() {
			leg.conn.fill(&oc.FirstHop, now, c.id, leg.read.Load(), leg.written.Load())
			oc.FirstHop.Origin = true
			oc.HasFirstHop = true
		}
		out = append(out, oc)
	}
	return out
}
