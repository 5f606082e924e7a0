package events

import (
	"bytes"
	"strconv"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
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

	conns     map[uint64]connSeen // ORCONN: the OR connections of the last view, by shown CONN_ID
	haveConns bool
}

// connSeen is an OR connection as a view showed it.
type connSeen struct {
	target      string
	inbound     bool
	established bool
	circuits    int // leg lines in the view: the circuits it is seen to carry
}

func (t *tickState) reset() {
	cache := t.cache
	*t = tickState{cache: cache} // the cache outlives a pause, as tor's does
}

// step reads what the Conns shows now and returns this second's events.
func (t *tickState) step(p *Publisher, want Set) []event {
	needLines := want&(ORCONN) != 0
	shown := p.cfg.Conns.Show(needLines)
	public := p.cfg.Conns.Policy.EpochLength() > 0
	var out []event

	if !t.started {
		t.started, t.epoch, t.totals = true, shown.Epoch, shown.Totals
		if needLines {
			t.conns, t.haveConns = t.seeConns(p, shown.All), true
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

	if needLines && newView {
		now := t.seeConns(p, shown.All)
		if t.haveConns {
			out = appendORConnChanges(out, t.conns, now)
		}
		t.conns, t.haveConns = now, true
	} else if !needLines {
		t.conns, t.haveConns = nil, false
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

// seeConns reads the OR connections of a conn/all value: every
// connection line but a controller's or a directory request's that is
// inbound or whose peer is a relay (an outbound connection to a peer
// outside the Tor network is an exit stream's, which tor reports as a
// STREAM, not an ORCONN), with the circuits whose legs the view shows on it.
func (t *tickState) seeConns(p *Publisher, all []byte) map[uint64]connSeen {
	seen := make(map[uint64]connSeen, len(t.conns))
	legs := map[uint64]int{}
	for len(all) > 0 {
		line, rest, _ := bytes.Cut(all, []byte{'\n'})
		all = rest
		e, err := format.Parse(string(line))
		if err != nil {
			continue // cannot happen: the Conns wrote it
		}
		if e.CircID != 0 {
			legs[e.ConnID]++
			continue
		}
		f := e.Flags
		if f.Usage == connstate.UsageControl || f.Usage == connstate.UsageDirectory ||
			f.Direction == connstate.Outbound && f.Network != connstate.NetworkTor {
			continue
		}
		seen[e.ConnID] = connSeen{
			target:      p.target(&e),
			inbound:     f.Direction == connstate.Inbound,
			established: f.Established,
		}
	}
	for id, n := range legs {
		if c, ok := seen[id]; ok {
			c.circuits = n
			seen[id] = c
		}
	}
	return seen
}

// target names a connection's peer as tor's ORCONN does, but only with
// what the line shows: "$FINGERPRINT~nickname" for a relay, its address
// and port for a peer the tier shows by address only, and "0", as conn/all
// writes what it hides, for a peer it does not show. tor would name an
// unidentified peer by its address: the public tier never shows it.
func (p *Publisher) target(e *connstate.Entry) string {
	if !e.Fingerprint.IsZero() {
		name := "$" + e.Fingerprint.String()
		if p.cfg.Nicknames != nil {
			if nick, ok := p.cfg.Nicknames.Nickname(e.Fingerprint); ok {
				name += "~" + nick
			}
		}
		return name
	}
	if e.Remote.IsValid() {
		return e.Remote.String()
	}
	return "0"
}
