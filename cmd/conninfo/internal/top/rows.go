package top

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// row is one connection or one circuit of the view, its text cut only
// when it is drawn or filtered.
type row struct {
	id      uint64 // CONN_ID, or CIRC_ID for a circuit
	entry   connstate.Entry
	chain   string // a circuit's: CLIENT -> YOU -> EXIT
	in, out uint64 // a circuit's bytes on its inbound and outbound legs
	read    uint64 // a connection's READ; a circuit's in
	written uint64 // a connection's WRITE; a circuit's out
	rateIn  float64
	rateOut float64
	hasRate bool
	uptime  uint64
}

// key names a line across snapshots: its CONN_ID and CIRC_ID.
type key struct{ conn, circ uint64 }

// sample is what a line's counts were, and since when.
type sample struct {
	read, written uint64
	since         time.Time // the first snapshot that showed these counts
}

// track is one line's last two distinct samples.
type track struct {
	last, prev sample
	moved      bool   // prev is set: the counts have moved once
	gen        uint64 // the last snapshot that showed the line
}

// rate returns the line's bytes read and written a second at now, and
// false before its counts have moved once.
//
// The rate is the step of the counts over the time between the first
// snapshots that showed the last two values: a live tier's counts move at
// every refresh, the public tier's once an epoch, and either way the rate
// is the bytes over the time they took. A line whose counts stop moving
// decays: once the time since the last step exceeds the step's own, that
// is the denominator.
func (t *track) rate(now time.Time) (in, out float64, ok bool) {
	if !t.moved {
		return 0, 0, false
	}
	d := max(t.last.since.Sub(t.prev.since), now.Sub(t.last.since)).Seconds()
	if d <= 0 {
		return 0, 0, false
	}
	return float64(t.last.read-t.prev.read) / d, float64(t.last.written-t.prev.written) / d, true
}

// counter follows the lines' counts from snapshot to snapshot.
type counter struct {
	lines map[key]*track
	gen   uint64
}

func newCounter() *counter { return &counter{lines: map[key]*track{}} }

// observe records a snapshot's counts at t, forgets the lines gone, and
// returns each entry's track, in the entries' order: one map lookup a
// line, and no allocation but for lines new since the last snapshot.
func (c *counter) observe(entries []connstate.Entry, t time.Time) []*track {
	c.gen++
	tracks := make([]*track, len(entries))
	for i := range entries {
		e := &entries[i]
		k := key{e.ConnID, e.CircID}
		tr := c.lines[k]
		switch {
		case tr == nil:
			tr = &track{last: sample{e.Read, e.Written, t}}
			c.lines[k] = tr
		case e.Read < tr.last.read || e.Written < tr.last.written:
			// Counts only grow: a line whose do not is another under the
			// same ID (or a relay in error), and starts again.
			*tr = track{last: sample{e.Read, e.Written, t}}
		case tr.last.read != e.Read || tr.last.written != e.Written:
			tr.prev, tr.moved = tr.last, true
			tr.last = sample{e.Read, e.Written, t}
		}
		tr.gen = c.gen
		tracks[i] = tr
	}
	if len(c.lines) > len(entries) {
		for k, tr := range c.lines {
			if tr.gen != c.gen {
				delete(c.lines, k)
			}
		}
	}
	return tracks
}

// connRows appends to rows[:0] a row for each connection line: a
// refresh reuses the last one's rows.
func connRows(rows []row, entries []connstate.Entry, tracks []*track, now time.Time) []row {
	rows = rows[:0]
	for i, e := range entries {
		if e.CircID != 0 {
			continue
		}
		r := row{id: e.ConnID, entry: e, read: e.Read, written: e.Written, uptime: e.Uptime}
		r.rateIn, r.rateOut, r.hasRate = tracks[i].rate(now)
		rows = append(rows, r)
	}
	return rows
}

// leg is a leg line and its track.
type leg struct {
	connstate.Entry
	track *track
}

// circRows appends to rows[:0] a row for each circuit whose legs are
// shown, its legs joined into a chain, and returns it with the legs it
// grouped, in legs[:0]: a refresh reuses the last one's. conn/all is
// sorted by CIRC_ID, so a circuit's legs are adjacent; a reply out of
// order is grouped anyway.
func circRows(rows []row, legs []leg, entries []connstate.Entry, tracks []*track, now time.Time, chains map[chainKey]string) ([]row, []leg) {
	rows, legs = rows[:0], legs[:0]
	for i, e := range entries {
		if e.CircID != 0 {
			legs = append(legs, leg{e, tracks[i]})
		}
	}
	if !slices.IsSortedFunc(legs, byCirc) {
		slices.SortStableFunc(legs, byCirc)
	}
	for i := 0; i < len(legs); {
		j := i + 1
		for j < len(legs) && legs[j].CircID == legs[i].CircID {
			j++
		}
		rows = append(rows, circRow(legs[i:j], now, chains))
		i = j
	}
	return rows, legs
}

func byCirc(a, b leg) int { return cmp.Compare(a.CircID, b.CircID) }

// circRow joins one circuit's legs.
func circRow(legs []leg, now time.Time, chains map[chainKey]string) row {
	r := row{id: legs[0].CircID, entry: legs[0].Entry}
	var k chainKey
	for _, l := range legs {
		in, out, ok := l.track.rate(now)
		r.hasRate = r.hasRate || ok
		side := 1
		if l.Flags.Direction == connstate.Inbound {
			side = 0
			r.in += l.Read + l.Written
			r.rateIn += in + out
		} else {
			r.out += l.Read + l.Written
			r.rateOut += in + out
		}
		if h := hopOf(l.Entry); k[side][h] < 255 {
			k[side][h]++
		}
		r.uptime = max(r.uptime, l.Uptime)
	}
	r.read, r.written = r.in, r.out
	r.chain = chains[k]
	if r.chain == "" {
		r.chain = k.String()
		chains[k] = r.chain
	}
	return r
}

// A hop is what a leg's far end is.
type hop uint8

const (
	hopClient hop = iota
	hopRelay
	hopExit
	hopUnestablished
	hopHS
	hopDir
	hopControl
	hopUnknown
	hops
)

var hopNames = [hops]string{"CLIENT", "RELAY", "EXIT", "UNESTABLISHED", "HS", "DIR", "CONTROL", "?"}

// hopOf names the far end of a leg: what the circuit comes from or goes
// to. An outbound leg not yet established is UNESTABLISHED, whatever it
// is for; one to the outside network is an exit stream.
func hopOf(e connstate.Entry) hop {
	f := e.Flags
	switch {
	case f.Direction == connstate.Outbound && !f.Established:
		return hopUnestablished
	case f.Direction == connstate.Outbound && f.Network == connstate.NetworkOutside:
		return hopExit
	}
	switch f.Usage {
	case connstate.UsageClient:
		return hopClient
	case connstate.UsageRelay:
		return hopRelay
	case connstate.UsageHiddenService:
		return hopHS
	case connstate.UsageDirectory:
		return hopDir
	case connstate.UsageControl:
		return hopControl
	}
	return hopUnknown
}

// chainKey counts a circuit's hops on its inbound side and its outbound
// side: circuits with the same counts have the same chain, written once.
type chainKey [2][hops]uint8

// String writes the chain: "RELAY -> YOU -> EXIT x2, UNESTABLISHED".
func (k chainKey) String() string {
	var b strings.Builder
	side := func(counts [hops]uint8) {
		first := true
		for h, n := range counts {
			if n == 0 {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			b.WriteString(hopNames[h])
			if n > 1 {
				b.WriteString(" x" + strconv.Itoa(int(n)))
			}
		}
	}
	if k[0] != ([hops]uint8{}) {
		side(k[0])
		b.WriteString(" -> ")
	}
	b.WriteString("YOU")
	if k[1] != ([hops]uint8{}) {
		b.WriteString(" -> ")
		side(k[1])
	}
	return b.String()
}

// A column the rows sort by.
type sortKey int

const (
	sortRate sortKey = iota // the default: the busiest first
	sortBytes
	sortUptime
	sortID
	sortFlags
	sortKeys
)

var sortNames = [sortKeys]string{"rate", "bytes", "uptime", "id", "flags"}

func (s sortKey) String() string { return sortNames[s] }

// parseSort reads a sort key's name.
func parseSort(name string) (sortKey, error) {
	for i, n := range sortNames {
		if n == name {
			return sortKey(i), nil
		}
	}
	return 0, fmt.Errorf("unknown sort %q (want one of %s)", name, strings.Join(sortNames[:], ", "))
}

// sortRows sorts rows by s, largest first but for id and flags, which
// sort ascending; reverse turns either. Ties fall back on the ID, so the
// order is the same from refresh to refresh.
func sortRows(rows []row, s sortKey, reverse bool) {
	slices.SortFunc(rows, func(a, b row) int {
		var c int
		switch s {
		case sortRate:
			c = cmp.Compare(b.rateIn+b.rateOut, a.rateIn+a.rateOut)
		case sortBytes:
			c = cmp.Compare(b.read+b.written, a.read+a.written)
		case sortUptime:
			c = cmp.Compare(b.uptime, a.uptime)
		case sortFlags:
			c = compareFlags(a.entry.Flags, b.entry.Flags)
		}
		if c == 0 {
			c = cmp.Compare(a.id, b.id)
		}
		if reverse {
			c = -c
		}
		return c
	})
}

// compareFlags orders TYPE_FLAGS by direction (inbound first), then
// established before not, then usage (C R X H D), then network (T t).
func compareFlags(a, b connstate.Flags) int {
	return cmp.Or(
		cmp.Compare(a.Direction, b.Direction),
		cmp.Compare(b2i(!a.Established), b2i(!b.Established)),
		cmp.Compare(a.Usage, b.Usage),
		cmp.Compare(a.Network, b.Network),
	)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// filterRows keeps the rows whose text holds needle, in any case.
func filterRows(rows []row, needle string) []row {
	if needle == "" {
		return rows
	}
	needle = strings.ToLower(needle)
	return slices.DeleteFunc(rows, func(r row) bool {
		return !strings.Contains(strings.ToLower(r.text()), needle)
	})
}

// text is what the filter matches: the row's ID, flags, endpoint, relay,
// chain and the words of its usage.
func (r row) text() string {
	e := r.entry
	parts := []string{strconv.FormatUint(r.id, 10), e.Flags.String(), e.Flags.Usage.String(), e.Flags.Direction.String()}
	if e.Remote.IsValid() {
		parts = append(parts, e.Remote.String())
	}
	if !e.Fingerprint.IsZero() {
		parts = append(parts, e.Fingerprint.String())
	}
	if r.chain != "" {
		parts = append(parts, r.chain)
	}
	return strings.Join(parts, " ")
}
