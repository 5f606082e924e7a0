package events

import (
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// cacheLen is how many seconds bw-event-cache keeps, as tor does: about
// five minutes.
const cacheLen = 300

// second is one second's counts.
type second struct{ read, written uint64 }

// flow turns readings of a pair of growing counts into one count a
// second: live, each second's growth; in the public tier, where a view's
// counts change once an epoch, each view's growth handed out evenly over
// the epoch's seconds that follow, the remainder to the first of them, so
// that the seconds add up to the counts exactly, one epoch late, and say
// nothing of when within an epoch the bytes moved.
type flow struct {
	last   second   // the counts the next growth is measured from
	spread []second // the public tier's seconds still to hand out
}

// next returns this second's counts, now being the counts read this
// second; newView says, in the public tier, that they are a new view's,
// and n is the epoch's seconds.
func (f *flow) next(now second, public, newView bool, n uint64) second {
	grown := second{growth(now.read, f.last.read), growth(now.written, f.last.written)}
	f.last = now
	if !public {
		return grown
	}
	if newView {
		for _, s := range f.spread {
			grown.read += s.read
			grown.written += s.written
		}
		f.spread = f.spread[:0]
		for i := range n {
			s := second{grown.read / n, grown.written / n}
			if i < grown.read%n {
				s.read++
			}
			if i < grown.written%n {
				s.written++
			}
			f.spread = append(f.spread, s)
		}
	}
	if len(f.spread) == 0 {
		return second{}
	}
	s := f.spread[0]
	f.spread = f.spread[1:]
	return s
}

// growth is now-before, or 0 if a count went back (none does: the totals
// include closed connections, and the public tier never shows a count
// lower than the view before).
func growth(now, before uint64) uint64 {
	if now < before {
		return 0
	}
	return now - before
}

// tickState is what one tick carries to the next.
type tickState struct {
	started bool
	epoch   int64 // the view the last tick read (public tier)
	traffic flow  // BW: the totals behind traffic/*

	// The last view's OR connections (ORCONN) and own circuits (CIRC),
	// by shown ID, and whether they were read.
	conns     map[uint64]getinfo.ORConn
	circs     map[uint64]getinfo.ShownCircuit
	haveLines bool
	// The counts of the own circuits' legs (CIRC_BW) and of the
	// connections (CONN_BW), by shown ID.
	circFlows map[uint64]*flow
	connFlows map[uint64]*flow
	// The audit's finding lines at the last view (CONNINFO_AUDIT).
	findings     map[string]bool
	haveFindings bool
}

func (t *tickState) reset() { *t = tickState{} } // the cache, the Publisher's, outlives a pause, as tor's does

// step reads what the Conns shows now and returns this second's events.
func (t *tickState) step(p *Publisher, want Set) []event {
	connBW := want&CONNBW != 0 && p.tier == scrub.TierTestNetwork // tor sends CONN_BW only on test networks
	needLines := want&(ORCONN|CIRC|CIRCBW) != 0 || connBW
	shown := p.cfg.Conns.Show(needLines)
	public := p.cfg.Conns.Policy.EpochLength() > 0
	n := max(uint64(p.cfg.Conns.Policy.EpochLength()/time.Second), 1)
	newView := !t.started || !public || shown.Epoch != t.epoch
	traffic := second{shown.Totals.TrafficRead, shown.Totals.TrafficWritten}
	// A view's lines are read when they change: every second live, once a
	// view in the public tier (and when they are first asked for).
	var lines viewLines
	if needLines && (newView || !t.haveLines) {
		lines = readLines(shown)
	}

	auditing := want&AUDIT != 0 && p.cfg.Findings != nil
	if !t.started {
		t.started, t.epoch = true, shown.Epoch
		t.traffic = flow{last: traffic}
		if auditing {
			t.findings, t.haveFindings = lineSet(p.cfg.Findings()), true
		}
		if needLines {
			t.conns, t.circs, t.haveLines = t.seeConns(p, shown), t.seeCircuits(shown), true
			t.circFlows, t.connFlows = baseline(lines.circs), baseline(lines.conns)
		}
		return nil // a baseline: the next second is the first measured
	}
	var out []event

	// BW, and the cache, every second.
	s := t.traffic.next(traffic, public, newView, n)
	if want&perSecond != 0 {
		p.cacheMu.Lock()
		p.cache = append(p.cache, s)
		if len(p.cache) > cacheLen {
			p.cache = append(p.cache[:0], p.cache[len(p.cache)-cacheLen:]...)
		}
		p.cacheMu.Unlock()
	}
	if want&BW != 0 {
		out = append(out, event{BW, "650 BW " + strconv.FormatUint(s.read, 10) + " " + strconv.FormatUint(s.written, 10)})
	}

	// CONNINFO_AUDIT: the findings new since the last second, in their
	// order; the first a baseline. (The public tier's change only at the
	// instants of its grid: asking each second says no more.)
	switch {
	case !auditing:
		t.findings, t.haveFindings = nil, false
	default:
		lines := p.cfg.Findings()
		if t.haveFindings {
			for _, l := range lines {
				if !t.findings[l] {
					out = append(out, event{AUDIT, "650 CONNINFO_AUDIT " + l})
				}
			}
		}
		t.findings, t.haveFindings = lineSet(lines), true
	}

	if !needLines {
		t.conns, t.circs, t.circFlows, t.connFlows, t.haveLines = nil, nil, nil, nil, false
		t.epoch = shown.Epoch
		return out
	}
	switch {
	case !t.haveLines:
		// Asked for afresh, the ticks already running: a baseline, as at
		// the first tick.
		t.conns, t.circs, t.haveLines = t.seeConns(p, shown), t.seeCircuits(shown), true
		t.circFlows, t.connFlows = baseline(lines.circs), baseline(lines.conns)
	case newView:
		conns, circs := t.seeConns(p, shown), t.seeCircuits(shown)
		if want&ORCONN != 0 {
			out = appendORConnChanges(out, t.conns, conns)
		}
		if want&CIRC != 0 {
			out = appendCircChanges(out, t.circs, circs, p.cfg.Nicknames)
		}
		t.conns, t.circs = conns, circs
	}
	// The whole second the tick is for, not when it ran: its fraction would
	// tell how long the view took.
	now := AppendTime(nil, p.clock.Now().Truncate(time.Second))
	t.circFlows = advance(t.circFlows, lines.circs, public, newView, n, func(id uint64, s second) {
		if want&CIRCBW != 0 {
			out = append(out, event{CIRCBW, "650 CIRC_BW ID=" + strconv.FormatUint(id, 10) + " READ=" + strconv.FormatUint(s.read, 10) +
				" WRITTEN=" + strconv.FormatUint(s.written, 10) + " TIME=" + string(now)})
		}
	})
	if connBW {
		t.connFlows = advance(t.connFlows, lines.conns, public, newView, n, func(id uint64, s second) {
			out = append(out, event{CONNBW, "650 CONN_BW ID=" + strconv.FormatUint(id, 10) + " TYPE=" + lines.types[id] +
				" READ=" + strconv.FormatUint(s.read, 10) + " WRITTEN=" + strconv.FormatUint(s.written, 10)})
		})
	}
	t.epoch = shown.Epoch
	return out
}

func lineSet(lines []string) map[string]bool {
	set := make(map[string]bool, len(lines))
	for _, l := range lines {
		set[l] = true
	}
	return set
}

// AppendTime appends t as tor's events write times,
// YYYY-MM-DDTHH:MM:SS.uuuuuu in UTC.
func AppendTime(dst []byte, t time.Time) []byte { return getinfo.AppendISOTime(dst, t) }

// baseline starts a flow from each count.
func baseline(counts map[uint64]second) map[uint64]*flow {
	flows := make(map[uint64]*flow, len(counts))
	for id, c := range counts {
		flows[id] = &flow{last: c}
	}
	return flows
}

// advance moves each flow to this second's counts, in order of ID, and
// calls emit for each nonzero second, as tor sends these events only for
// what moved. A flow whose counts are gone ends; a new one starts from
// its counts, measured from the next second. In the public tier between
// views counts is nil: the flows hand out what they hold.
func advance(flows map[uint64]*flow, counts map[uint64]second, public, newView bool, n uint64, emit func(uint64, second)) map[uint64]*flow {
	if newView || !public {
		for id := range flows {
			if _, ok := counts[id]; !ok {
				delete(flows, id)
			}
		}
		for id, c := range counts {
			if _, ok := flows[id]; !ok {
				flows[id] = &flow{last: c}
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(flows)) {
		f := flows[id]
		now := f.last
		if c, ok := counts[id]; ok {
			now = c
		}
		if s := f.next(now, public, newView, n); s.read != 0 || s.written != 0 {
			emit(id, s)
		}
	}
	return flows
}

// viewLines are a view's counts: of each own circuit, its legs' (the
// bytes of the circuit), and of each connection, its socket's, with the
// kind CONN_BW names it by (OR, DIR or EXIT).
type viewLines struct {
	circs map[uint64]second
	conns map[uint64]second
	types map[uint64]string
}

// readLines reads the counts of a view's lines. Controllers' connections
// are not counted, as tor counts only OR, directory and exit connections.
func readLines(shown getinfo.Shown) viewLines {
	v := viewLines{circs: map[uint64]second{}, conns: map[uint64]second{}, types: map[uint64]string{}}
	own := make(map[uint64]bool, len(shown.Circuits))
	for _, c := range shown.Circuits {
		own[c.ID] = true
	}
	for e := range shown.Entries() {
		if e.CircID != 0 {
			if own[e.CircID] {
				c := v.circs[e.CircID]
				v.circs[e.CircID] = second{c.read + e.Read, c.written + e.Written}
			}
			continue
		}
		kind := connKind(e.Flags)
		if kind == "" {
			continue
		}
		v.conns[e.ConnID] = second{e.Read, e.Written}
		v.types[e.ConnID] = kind
	}
	return v
}

// connKind is CONN_BW's TYPE for a connection line, or "" for one it
// does not report (a controller's).
func connKind(f connstate.Flags) string {
	switch {
	case f.Usage == connstate.UsageControl:
		return ""
	case f.Usage == connstate.UsageDirectory:
		return "DIR"
	case f.Direction == connstate.Outbound && f.Network != connstate.NetworkTor:
		return "EXIT"
	}
	return "OR"
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
