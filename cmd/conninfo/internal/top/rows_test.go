package top

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
)

func flags(t *testing.T, s string) connstate.Flags {
	t.Helper()
	f, err := connstate.ParseFlags(s)
	require.NoError(t, err)
	return f
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// The rate of a line is its last step over the time between the first
// sightings of its last two values, then decays once it stops moving.
func TestCounterRates(t *testing.T) {
	type obs struct {
		at            time.Duration // since t0
		read, written uint64
	}
	for _, tt := range []struct {
		name    string
		seen    []obs
		at      time.Duration // when the rate is asked
		in, out float64
		ok      bool
	}{
		{"first sighting: no rate", []obs{{0, 5000, 100}}, 0, 0, 0, false},
		{"never moved: no rate", []obs{{0, 5000, 100}, {2 * time.Second, 5000, 100}}, 2 * time.Second, 0, 0, false},
		{"live, one step", []obs{{0, 1000, 0}, {2 * time.Second, 3000, 500}}, 2 * time.Second, 1000, 250, true},
		{"live, the last step counts", []obs{{0, 0, 0}, {time.Second, 100, 0}, {2 * time.Second, 1100, 0}}, 2 * time.Second, 1000, 0, true},
		// The public tier's counts move once an epoch: three refreshes of
		// 2 s see one value, then it steps by 10240 bytes after 10 s.
		{"epoch step", []obs{{0, 0, 0}, {2 * time.Second, 0, 0}, {4 * time.Second, 0, 0}, {10 * time.Second, 10240, 0}, {12 * time.Second, 10240, 0}}, 12 * time.Second, 1024, 0, true},
		{"held within the step's own time", []obs{{0, 0, 0}, {10 * time.Second, 10240, 0}}, 19 * time.Second, 1024, 0, true},
		{"decays after it", []obs{{0, 0, 0}, {10 * time.Second, 10240, 0}}, 30 * time.Second, 512, 0, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCounter()
			var tracks []*track
			for _, o := range tt.seen {
				tracks = c.observe([]connstate.Entry{{ConnID: 7, Read: o.read, Written: o.written}}, t0.Add(o.at))
			}
			in, out, ok := tracks[0].rate(t0.Add(tt.at))
			assert.Equal(t, tt.ok, ok)
			assert.InDelta(t, tt.in, in, 1e-9)
			assert.InDelta(t, tt.out, out, 1e-9)
		})
	}
}

// Counts that go down are another line under the same ID: no rate, not
// a wrapped one.
func TestCounterCountsDown(t *testing.T) {
	c := newCounter()
	c.observe([]connstate.Entry{{ConnID: 7, Read: 1000}}, t0)
	c.observe([]connstate.Entry{{ConnID: 7, Read: 3000}}, t0.Add(time.Second))
	tracks := c.observe([]connstate.Entry{{ConnID: 7, Read: 10}}, t0.Add(2*time.Second))
	_, _, ok := tracks[0].rate(t0.Add(2 * time.Second))
	assert.False(t, ok)
	tracks = c.observe([]connstate.Entry{{ConnID: 7, Read: 1010}}, t0.Add(3*time.Second))
	in, _, ok := tracks[0].rate(t0.Add(3 * time.Second))
	assert.True(t, ok)
	assert.InDelta(t, 1000, in, 1e-9)
}

func TestCounterForgetsLinesGone(t *testing.T) {
	c := newCounter()
	c.observe([]connstate.Entry{{ConnID: 1}, {ConnID: 2}}, t0)
	c.observe([]connstate.Entry{{ConnID: 1, Read: 10}, {ConnID: 2, Read: 10}}, t0.Add(time.Second))
	c.observe([]connstate.Entry{{ConnID: 1, Read: 20}}, t0.Add(2*time.Second))
	assert.Len(t, c.lines, 1)
	// A connection that comes back under its ID starts again.
	tracks := c.observe([]connstate.Entry{{ConnID: 2, Read: 500}}, t0.Add(3*time.Second))
	_, _, ok := tracks[0].rate(t0.Add(3 * time.Second))
	assert.False(t, ok)
}

func TestChains(t *testing.T) {
	leg := func(conn, circ uint64, f string) connstate.Entry {
		return connstate.Entry{ConnID: conn, CircID: circ, Flags: flags(t, f), Read: 100, Written: 10}
	}
	for _, tt := range []struct {
		name    string
		legs    []connstate.Entry
		chain   string
		in, out uint64
	}{
		{"a carried middle circuit", []connstate.Entry{leg(1, 5, "IRT"), leg(2, 5, "ORT")}, "RELAY -> YOU -> RELAY", 110, 110},
		{"a client's first hop", []connstate.Entry{leg(1, 5, "ICt"), leg(2, 5, "ORT")}, "CLIENT -> YOU -> RELAY", 110, 110},
		{"an exit with streams", []connstate.Entry{leg(1, 5, "IRT"), leg(3, 5, "ORt"), leg(4, 5, "ORt")}, "RELAY -> YOU -> EXIT x2", 110, 220},
		{"a stream that never connected", []connstate.Entry{leg(1, 5, "IRT"), leg(3, 5, "ORt"), leg(4, 5, "oRt")}, "RELAY -> YOU -> EXIT, UNESTABLISHED", 110, 220},
		{"the next hop still connecting", []connstate.Entry{leg(1, 5, "IRT"), leg(2, 5, "oRT")}, "RELAY -> YOU -> UNESTABLISHED", 110, 110},
		{"an origin circuit", []connstate.Entry{leg(2, 5, "ORT")}, "YOU -> RELAY", 0, 110},
		{"the last hop, no stream yet", []connstate.Entry{leg(1, 5, "IRT")}, "RELAY -> YOU", 110, 0},
		{"a directory circuit", []connstate.Entry{leg(1, 5, "IDT")}, "DIR -> YOU", 110, 0},
		{"a hidden service's", []connstate.Entry{leg(1, 5, "IHT"), leg(2, 5, "OHT")}, "HS -> YOU -> HS", 110, 110},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rows, _ := circRows(nil, nil, tt.legs, newCounter().observe(tt.legs, t0), t0, map[chainKey]string{})
			require.Len(t, rows, 1)
			assert.Equal(t, tt.chain, rows[0].chain)
			assert.Equal(t, uint64(5), rows[0].id)
			assert.Equal(t, tt.in, rows[0].in)
			assert.Equal(t, tt.out, rows[0].out)
		})
	}
}

// Connection lines and legs part: the first are connections, the others
// grouped by circuit, in or out of order.
func TestRowsPart(t *testing.T) {
	entries := []connstate.Entry{
		{ConnID: 1, Flags: flags(t, "IRT")}, {ConnID: 2, Flags: flags(t, "ORT")},
		{ConnID: 2, CircID: 9, Flags: flags(t, "ORT")}, {ConnID: 1, CircID: 4, Flags: flags(t, "IRT")},
		{ConnID: 1, CircID: 9, Flags: flags(t, "IRT")},
	}
	tracks := newCounter().observe(entries, t0)
	conns := connRows(nil, entries, tracks, t0)
	require.Len(t, conns, 2)
	circs, _ := circRows(nil, nil, entries, tracks, t0, map[chainKey]string{})
	require.Len(t, circs, 2)
	assert.Equal(t, uint64(4), circs[0].id)
	assert.Equal(t, "RELAY -> YOU", circs[0].chain)
	assert.Equal(t, uint64(9), circs[1].id)
	assert.Equal(t, "RELAY -> YOU -> RELAY", circs[1].chain)
}

func TestSortAndFilter(t *testing.T) {
	mk := func(id uint64, f string, bytes uint64, rate float64, up uint64, remote string) row {
		e := connstate.Entry{ConnID: id, Flags: flags(t, f)}
		if remote != "" {
			e.Remote = netip.MustParseAddrPort(remote)
		}
		return row{id: id, entry: e, read: bytes, rateIn: rate, uptime: up, hasRate: true}
	}
	base := []row{
		mk(1, "IRt", 500, 10, 30, ""),
		mk(2, "ORT", 900, 10, 10, "198.18.0.5:9001"),
		mk(3, "IDt", 100, 99, 20, ""),
		mk(4, "oRt", 900, 0, 40, ""),
	}
	ids := func(rows []row) []uint64 {
		var out []uint64
		for _, r := range rows {
			out = append(out, r.id)
		}
		return out
	}
	for _, tt := range []struct {
		sort    string
		reverse bool
		want    []uint64
	}{
		{"rate", false, []uint64{3, 1, 2, 4}}, // ties by ID
		{"bytes", false, []uint64{2, 4, 1, 3}},
		{"uptime", false, []uint64{4, 1, 3, 2}},
		{"id", false, []uint64{1, 2, 3, 4}},
		{"id", true, []uint64{4, 3, 2, 1}},
		{"flags", false, []uint64{1, 3, 2, 4}}, // IRt IDt ORT oRt: direction, established, usage
	} {
		s, err := parseSort(tt.sort)
		require.NoError(t, err)
		rows := append([]row(nil), base...)
		sortRows(rows, s, tt.reverse)
		assert.Equal(t, tt.want, ids(rows), "%s reverse=%v", tt.sort, tt.reverse)
	}
	_, err := parseSort("speed")
	assert.ErrorContains(t, err, `unknown sort "speed"`)

	for _, tt := range []struct {
		filter string
		want   []uint64
	}{
		{"", []uint64{1, 2, 3, 4}},
		{"ort", []uint64{2, 4}}, // any case
		{"198.18.0.5", []uint64{2}},
		{"directory", []uint64{3}},
		{"outbound", []uint64{2, 4}},
		{"nothing like it", nil},
	} {
		got := filterRows(append([]row(nil), base...), tt.filter)
		assert.Equal(t, tt.want, ids(got), "filter %q", tt.filter)
	}
}

func TestUnits(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 20: "5.0 MiB", 3 << 30: "3.0 GiB", 1 << 62: "4.0 EiB"} {
		assert.Equal(t, want, bytes(n), "%d", n)
	}
	for s, want := range map[uint64]string{0: "0s", 59: "59s", 60: "1m00s", 3599: "59m59s", 3600: "1h00m", 86399: "23h59m", 90000: "1d01h"} {
		assert.Equal(t, want, uptime(s), "%d", s)
	}
}
