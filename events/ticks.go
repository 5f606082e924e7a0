package events

import (
	"strconv"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
)

// cacheLen is how many seconds bw-event-cache keeps, as tor does: about
// five minutes.
const cacheLen = 300

// second is one BW event's counts.
type second struct{ read, written uint64 }

// tickState is what one tick carries to the next.
type tickState struct {
	started bool
	epoch   int64            // the view the last tick read (public tier)
	totals  connstate.Totals // the totals the next BW is measured from
	// spread holds, in the public tier, the seconds of the last epoch's
	// growth still to be sent: a view's totals change once an epoch, and
	// BW hands the change out evenly over the epoch's seconds.
	spread []second
	cache  []second // bw-event-cache: the last cacheLen seconds, oldest first

	// The last view's OR connections (ORCONN) and own circuits (CIRC),
	// by shown ID, and whether they were read.
	conns     map[uint64]getinfo.ORConn
	circs     map[uint64]getinfo.ShownCircuit
	haveLines bool
}

func (t *tickState) reset() {
	cache := t.cache
	*t = tickState{cache: cache} // the cache outlives a pause, as tor's does
}

// step reads what the Conns shows now and returns this second's events.
func (t *tickState) step(p *Publisher, want Set) []event {
	needLines := want&(ORCONN|CIRC) != 0
	shown := p.cfg.Conns.Show(needLines)
	public := p.cfg.Conns.Policy.EpochLength() > 0
	var out []event

	if !t.started {
		t.started, t.epoch, t.totals = true, shown.Epoch, shown.Totals
		if needLines {
			t.conns, t.circs, t.haveLines = t.seeConns(p, shown), t.seeCircuits(shown), true
		}
		return nil // a baseline: the next second is the first measured
	}
	newView := !public || shown.Epoch != t.epoch

	// BW, and the cache, every second.
	var s second
	if public {
		if newView {
			t.spreadGrowth(shown.Totals, p.cfg.Conns.Policy.EpochLength())
		}
		if len(t.spread) > 0 {
			s, t.spread = t.spread[0], t.spread[1:]
		}
	} else {
		s = second{growth(shown.Totals.TrafficRead, t.totals.TrafficRead), growth(shown.Totals.TrafficWritten, t.totals.TrafficWritten)}
		t.totals = shown.Totals
	}
	if want&perSecond != 0 {
		t.cache = append(t.cache, s)
		if len(t.cache) > cacheLen {
			t.cache = append(t.cache[:0], t.cache[len(t.cache)-cacheLen:]...)
		}
	}
	if want&BW != 0 {
		out = append(out, event{BW, "650 BW " + strconv.FormatUint(s.read, 10) + " " + strconv.FormatUint(s.written, 10)})
	}

	switch {
	case needLines && (newView || !t.haveLines):
		conns, circs := t.seeConns(p, shown), t.seeCircuits(shown)
		if t.haveLines {
			if want&ORCONN != 0 {
				out = appendORConnChanges(out, t.conns, conns)
			}
			if want&CIRC != 0 {
				out = appendCircChanges(out, t.circs, circs, p.cfg.Nicknames)
			}
		}
		t.conns, t.circs, t.haveLines = conns, circs, true
	case !needLines:
		t.conns, t.circs, t.haveLines = nil, nil, false
	}
	t.epoch = shown.Epoch
	return out
}

// spreadGrowth hands out the totals' growth since the last view over the
// epoch's seconds, with what is still to be sent of the last one: each
// second gets an equal share, the remainder going to the first seconds,
// so that the BW events add up to the traffic/* totals exactly.
func (t *tickState) spreadGrowth(now connstate.Totals, epoch time.Duration) {
	var r, w uint64
	for _, s := range t.spread {
		r += s.read
		w += s.written
	}
	r += growth(now.TrafficRead, t.totals.TrafficRead)
	w += growth(now.TrafficWritten, t.totals.TrafficWritten)
	t.totals = now
	n := max(uint64(epoch/time.Second), 1)
	t.spread = t.spread[:0]
	for i := range n {
		s := second{r / n, w / n}
		if i < r%n {
			s.read++
		}
		if i < w%n {
			s.written++
		}
		t.spread = append(t.spread, s)
	}
}

// growth is now-before, or 0 if a total went back (it cannot: the totals
// include closed connections, and the public tier never shows one lower).
func growth(now, before uint64) uint64 {
	if now < before {
		return 0
	}
	return now - before
}

// seeConns returns the OR connections a view shows, by shown CONN_ID.
func (t *tickState) seeConns(p *Publisher, shown getinfo.Shown) map[uint64]getinfo.ORConn {
	conns := shown.ORConns(p.cfg.Nicknames)
	seen := make(map[uint64]getinfo.ORConn, len(conns))
	for _, c := range conns {
		seen[c.ID] = c
	}
	return seen
}

// seeCircuits returns the relay's own circuits a view shows, by shown ID.
func (t *tickState) seeCircuits(shown getinfo.Shown) map[uint64]getinfo.ShownCircuit {
	seen := make(map[uint64]getinfo.ShownCircuit, len(shown.Circuits))
	for _, c := range shown.Circuits {
		seen[c.ID] = c
	}
	return seen
}
