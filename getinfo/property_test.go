package getinfo_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/oracle"
	"github.com/conninfo/conninfo/scrub"
)

// This file drives a registry with random operations and checks every
// reply against a model kept independently of the registry: what each
// connection is, which circuits hold which legs, and what bytes were added.
//
// Numbers are chosen so that a scrubbed endpoint can be found by search:
// the k-th connection opened with endpoints gets its own address
// (198.51.100.<k>, 2001:db8:<k>:..., 127.0.0.<k>, ...), its own remote port
// in 40000+100*k..+99 and its own local port in 50000+100*k..+99, while no
// counter, ID or uptime can fall in 40000-59999: a step adds at most 500
// bytes or at least 2^40, opens at most 80 connections, and moves the clock
// at most 600 s, over at most 60 steps.

const (
	propMaxSteps   = 60
	propSmallAdd   = 500
	propMaxAdvance = 600 * time.Second
)

// propConn is the model of one connection.
type propConn struct {
	h             *connstate.Conn
	id            uint64
	dir           connstate.Direction
	est           bool
	usage         connstate.Usage
	network       connstate.Network
	fp            connstate.Fingerprint
	remote        netip.AddrPort // as the registry must store it: unmapped, no zone
	spelt         string         // the address as IP:PORT spells it, up to the colon; "" with no remote
	loopback      bool
	internal      bool // loopback, link-local or no address: not rate limited, in no total
	lport         uint16
	openedAt      time.Duration // fake-clock time since the registry began
	estAt         time.Duration
	read, written uint64 // bytes added while open
	closed        bool
}

// shown says whether the default policy may show the connection's endpoints.
func (c *propConn) shown() bool {
	return c.network == connstate.NetworkTor && !c.fp.IsZero() || c.usage == connstate.UsageControl
}

// entry is the connection's line for circuit circ with the given counters.
func (c *propConn) entry(now time.Duration, circ, read, written uint64) connstate.Entry {
	since := c.openedAt
	if c.est {
		since = c.estAt
	}
	return connstate.Entry{
		ConnID: c.id, CircID: circ, Fingerprint: c.fp, Remote: c.remote, LocalPort: c.lport,
		Flags: connstate.Flags{Direction: c.dir, Established: c.est, Usage: c.usage, Network: c.network},
		Read:  read, Written: written, Uptime: uint64((now - since) / time.Second),
	}
}

// propLeg is the model of one leg.
type propLeg struct {
	h             *connstate.Leg
	conn          *propConn
	circ          *propCirc
	role          connstate.Role
	read, written uint64
}

// propCirc is the model of one circuit.
type propCirc struct {
	h      *connstate.Circuit
	id     uint64
	legs   []*propLeg // the bound legs, closed connections' ones included until a bind drops them
	closed bool
}

type propModel struct {
	reg       *connstate.Registry
	clk       *connstatetest.Clock
	now       time.Duration
	conns     []*propConn // in ID order, closed ones included
	circs     []*propCirc // likewise
	legs      []*propLeg  // every leg ever bound
	lastID    uint64      // the last connection ID issued
	addressed int         // connections opened with endpoints
	lastCI    uint64      // the last circuit ID issued

	def, raw *getinfo.Mux            // the test-network and unscrubbed tiers
	prev     map[[2]uint64][2]uint64 // READ and WRITE of each line at the last check
}

func newPropModel() *propModel {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	m := &propModel{reg: reg, clk: clk, def: getinfo.NewMux(), raw: getinfo.NewMux()}
	(&getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}).Register(m.def)
	(&getinfo.Conns{Source: reg, Policy: scrub.Unscrubbed()}).Register(m.raw)
	return m
}

// The kinds of remote address a connection may get.
const (
	propAddrV4 = iota
	propAddrV4Mapped
	propAddrV6
	propAddrV6Zone
	propAddrLoopback
	propAddrLoopbackMapped
	propAddrNone
)

// propDrawRemote draws the remote address of the k-th connection opened with
// endpoints: distinctive and unique to k.
func propDrawRemote(t *rapid.T, k uint64) (ap netip.AddrPort, stored netip.AddrPort, spelt string, loopback bool) {
	kind := rapid.SampledFrom([]int{propAddrV4, propAddrV4, propAddrV4, propAddrV4Mapped, propAddrV6, propAddrV6, propAddrV6, propAddrV6Zone,
		propAddrLoopback, propAddrLoopbackMapped, propAddrNone}).Draw(t, "addr kind")
	port := uint16(40000 + 100*k + uint64(rapid.IntRange(0, 99).Draw(t, "remote port")))
	b := byte(k)
	switch kind {
	case propAddrV4, propAddrV4Mapped:
		a := netip.AddrFrom4([4]byte{198, 51, 100, b})
		stored, spelt = netip.AddrPortFrom(a, port), fmt.Sprintf("198.51.100.%d:", k)
		if kind == propAddrV4Mapped {
			a = netip.AddrFrom16(a.As16())
		}
		return netip.AddrPortFrom(a, port), stored, spelt, false
	case propAddrV6, propAddrV6Zone:
		var ip [16]byte
		copy(ip[:], []byte{0x20, 0x01, 0x0d, 0xb8, 0, b})
		groups := rapid.SliceOfN(rapid.SampledFrom([]uint16{0, 0, 0, 1, 0x10, 0xbe, 0xbeef, 0xffff}), 5, 5).Draw(t, "v6 groups")
		for i, g := range groups {
			ip[6+2*i], ip[7+2*i] = byte(g>>8), byte(g)
		}
		a := netip.AddrFrom16(ip)
		if kind == propAddrV6Zone {
			ip[0], ip[1], ip[2], ip[3] = 0xfe, 0x80, 0, 0 // link-local, where a zone is usual
			a = netip.AddrFrom16(ip)
		}
		stored, spelt = netip.AddrPortFrom(a, port), "["+a.String()+"]:"
		if kind == propAddrV6Zone {
			a = a.WithZone("eth0")
		}
		return netip.AddrPortFrom(a, port), stored, spelt, false
	case propAddrLoopback, propAddrLoopbackMapped:
		a := netip.AddrFrom4([4]byte{127, 0, 0, b})
		stored, spelt = netip.AddrPortFrom(a, port), fmt.Sprintf("127.0.0.%d:", k)
		if kind == propAddrLoopbackMapped {
			a = netip.AddrFrom16(a.As16())
		}
		return netip.AddrPortFrom(a, port), stored, spelt, true
	}
	return netip.AddrPort{}, netip.AddrPort{}, "", false
}

func propDrawFingerprint(t *rapid.T, label string) connstate.Fingerprint {
	var fp connstate.Fingerprint
	copy(fp[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, label))
	if fp.IsZero() {
		fp[19] = 1
	}
	return fp
}

// propDrawBytes draws a byte count to add: usually small, sometimes huge.
func propDrawBytes(t *rapid.T, label string) uint64 {
	if rapid.IntRange(0, 9).Draw(t, label+" huge") == 0 {
		return rapid.Uint64Range(1<<40, 1<<44).Draw(t, label)
	}
	return rapid.Uint64Range(0, propSmallAdd).Draw(t, label)
}

func (m *propModel) open(t *rapid.T) { m.openConn(t, false) }

// openConn opens a connection. An anonymous one has no remote address and
// no local port, so that many can be opened: its ID takes no part in the
// address and port scheme, which numbers the connections that do have
// endpoints.
func (m *propModel) openConn(t *rapid.T, anonymous bool) {
	id := m.lastID + 1
	cfg := connstate.ConnConfig{
		Direction:   rapid.SampledFrom([]connstate.Direction{connstate.Inbound, connstate.Outbound}).Draw(t, "direction"),
		Usage:       connstate.Usage(rapid.IntRange(int(connstate.UsageClient), int(connstate.UsageDirectory)).Draw(t, "usage")),
		Network:     rapid.SampledFrom([]connstate.Network{connstate.NetworkTor, connstate.NetworkOutside}).Draw(t, "network"),
		Established: rapid.Bool().Draw(t, "established"),
	}
	if cfg.Network == connstate.NetworkTor && rapid.Bool().Draw(t, "with fingerprint") {
		cfg.Fingerprint = propDrawFingerprint(t, "fingerprint")
	}
	pc := &propConn{id: id, dir: cfg.Direction, est: cfg.Established, usage: cfg.Usage, network: cfg.Network,
		fp: cfg.Fingerprint, openedAt: m.now, estAt: m.now}
	if !anonymous {
		m.addressed++
		k := uint64(m.addressed)
		require.Less(t, k, uint64(100), "the address and port scheme numbers at most 99 connections")
		cfg.Remote, pc.remote, pc.spelt, pc.loopback = propDrawRemote(t, k)
		if rapid.IntRange(0, 9).Draw(t, "local port known") > 0 {
			cfg.LocalPort = uint16(50000 + 100*k + uint64(rapid.IntRange(0, 99).Draw(t, "local port")))
		}
	}
	pc.lport = cfg.LocalPort
	pc.internal = pc.loopback || pc.spelt == "" || strings.HasPrefix(pc.spelt, "[fe80:")
	c, err := m.reg.Open(cfg)
	require.NoError(t, err)
	require.Equal(t, id, c.ID(), "IDs start at 1, increase by one and are never reused")
	pc.h = c
	m.lastID = id
	m.conns = append(m.conns, pc)
}

// burst opens many anonymous connections and closes most of them, enough
// for the registry to squeeze the holes out of its table (at 64 slots).
func (m *propModel) burst(t *rapid.T) {
	n := rapid.IntRange(10, 80).Draw(t, "burst")
	for range n {
		m.openConn(t, true)
		c := m.conns[len(m.conns)-1]
		if rapid.Bool().Draw(t, "burst add") {
			r, w := propDrawBytes(t, "read"), propDrawBytes(t, "written")
			c.h.AddRead(r)
			c.h.AddWritten(w)
			c.read += r
			c.written += w
		}
	}
	for _, c := range m.conns[len(m.conns)-n:] {
		if rapid.IntRange(0, 4).Draw(t, "burst keep") > 0 {
			require.NoError(t, c.h.Close())
			c.closed = true
		}
	}
}

// openInvalid tries an Open that must be refused, and must take no ID.
func (m *propModel) openInvalid(t *rapid.T) {
	cfg := connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("198.51.100.255:59999"), LocalPort: 59998}
	switch rapid.IntRange(0, 3).Draw(t, "invalid") {
	case 0:
		cfg.Fingerprint = propDrawFingerprint(t, "fingerprint outside Tor")
	case 1:
		cfg.Direction = 0
	case 2:
		cfg.Usage = connstate.UsageDirectory + 1
	case 3:
		cfg.Network = 0
	}
	c, err := m.reg.Open(cfg)
	require.ErrorIs(t, err, connstate.ErrInvalid)
	require.Nil(t, c)
}

func (m *propModel) pickConn(t *rapid.T) *propConn {
	return m.conns[rapid.IntRange(0, len(m.conns)-1).Draw(t, "conn")]
}

func (m *propModel) pickCirc(t *rapid.T) *propCirc {
	return m.circs[rapid.IntRange(0, len(m.circs)-1).Draw(t, "circ")]
}

func propRequireClosed(t *rapid.T, closed bool, err error) {
	if closed {
		require.ErrorIs(t, err, connstate.ErrClosed)
	} else {
		require.NoError(t, err)
	}
}

func (m *propModel) markEstablished(t *rapid.T) {
	c := m.pickConn(t)
	propRequireClosed(t, c.closed, c.h.MarkEstablished())
	if !c.closed && !c.est {
		c.est, c.estAt = true, m.now
	}
}

func (m *propModel) setFingerprint(t *rapid.T) {
	c := m.pickConn(t)
	var fp connstate.Fingerprint
	if rapid.IntRange(0, 9).Draw(t, "zero fingerprint") > 0 {
		fp = propDrawFingerprint(t, "new fingerprint")
	}
	err := c.h.SetFingerprint(fp)
	if fp.IsZero() {
		require.ErrorIs(t, err, connstate.ErrInvalid)
		return
	}
	propRequireClosed(t, c.closed, err)
	if !c.closed {
		c.network, c.fp = connstate.NetworkTor, fp
	}
}

func (m *propModel) setNotRelay(t *rapid.T) {
	c := m.pickConn(t)
	propRequireClosed(t, c.closed, c.h.SetNotRelay())
	if !c.closed {
		c.network, c.fp = connstate.NetworkOutside, connstate.Fingerprint{}
	}
}

func (m *propModel) addConn(t *rapid.T) {
	c := m.pickConn(t)
	r, w := propDrawBytes(t, "read"), propDrawBytes(t, "written")
	c.h.AddRead(r)
	c.h.AddWritten(w)
	if !c.closed { // bytes after a close are a documented no-op
		c.read += r
		c.written += w
	}
}

func (m *propModel) closeConn(t *rapid.T) {
	c := m.pickConn(t)
	propRequireClosed(t, c.closed, c.h.Close())
	c.closed = true
	require.True(t, c.h.Closed())
}

func (m *propModel) openCircuit(t *rapid.T) {
	c, err := m.reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	m.lastCI++
	require.Equal(t, m.lastCI, c.ID())
	m.circs = append(m.circs, &propCirc{h: c, id: c.ID()})
}

func (m *propModel) bind(t *rapid.T) {
	ci, c := m.pickCirc(t), m.pickConn(t)
	role := connstate.Role(rapid.IntRange(int(connstate.RoleInbound), int(connstate.RoleExit)).Draw(t, "role"))
	l, err := ci.h.Bind(c.h, role)
	if ci.closed || c.closed {
		require.ErrorIs(t, err, connstate.ErrClosed)
		require.Nil(t, l)
		return
	}
	// Legs whose connection closed no longer count: they are dropped.
	ci.legs = slices.DeleteFunc(ci.legs, func(l *propLeg) bool { return l.conn.closed })
	for _, old := range ci.legs {
		if old.conn == c || role != connstate.RoleExit && old.role == role {
			require.ErrorIs(t, err, connstate.ErrLegBound, "binding %v connection %d to circuit %d", role, c.id, ci.id)
			require.Nil(t, l)
			return
		}
	}
	require.NoError(t, err, "binding %v connection %d to circuit %d", role, c.id, ci.id)
	require.Equal(t, role, l.Role())
	require.Same(t, c.h, l.Conn())
	require.Same(t, ci.h, l.Circuit())
	pl := &propLeg{h: l, conn: c, circ: ci, role: role}
	ci.legs = append(ci.legs, pl)
	m.legs = append(m.legs, pl)
}

func (m *propModel) addLeg(t *rapid.T) {
	l := m.legs[rapid.IntRange(0, len(m.legs)-1).Draw(t, "leg")]
	r, w := propDrawBytes(t, "leg read"), propDrawBytes(t, "leg written")
	l.h.AddRead(r)
	l.h.AddWritten(w)
	l.read += r
	l.written += w
	require.Equal(t, l.read, l.h.Read())
	require.Equal(t, l.written, l.h.Written())
}

func (m *propModel) closeCircuit(t *rapid.T, ci *propCirc) {
	propRequireClosed(t, ci.closed, ci.h.Close())
	ci.closed = true
	ci.legs = nil
	require.True(t, ci.h.Closed())
}

func (m *propModel) advance(t *rapid.T) {
	d := time.Duration(rapid.Int64Range(0, int64(propMaxAdvance)).Draw(t, "advance"))
	if rapid.Bool().Draw(t, "whole seconds") {
		d = d.Truncate(time.Second)
	}
	m.clk.Advance(d)
	m.now += d
}

// entries returns the lines the model says the registry holds, sorted by
// (CircID, ConnID).
func (m *propModel) entries() []connstate.Entry {
	var out []connstate.Entry
	for _, c := range m.conns {
		if !c.closed {
			out = append(out, c.entry(m.now, 0, c.read, c.written))
		}
	}
	for _, ci := range m.circs {
		if ci.closed {
			continue
		}
		legs := slices.Clone(ci.legs)
		slices.SortFunc(legs, func(a, b *propLeg) int { return int(a.conn.id) - int(b.conn.id) })
		for _, l := range legs {
			if !l.conn.closed {
				out = append(out, l.conn.entry(m.now, ci.id, l.read, l.written))
			}
		}
	}
	return out
}

func (m *propModel) totals() connstate.Totals {
	var tt connstate.Totals
	for _, c := range m.conns {
		if c.internal {
			continue
		}
		if c.usage == connstate.UsageRelay {
			tt.RelayRead += c.read
			tt.RelayWritten += c.written
		}
		tt.TrafficRead += c.read
		tt.TrafficWritten += c.written
	}
	return tt
}

// propWriteReply writes a GETINFO reply and checks its framing with
// parseReply (framing_test.go): CRLF lines, a 3-digit code and '-', '+' or
// ' ', data blocks closed by ".", one end line, last.
func propWriteReply(t *rapid.T, m *getinfo.Mux, keys ...string) (string, []replyLine) {
	var buf bytes.Buffer
	require.NoError(t, getinfo.WriteReply(&buf, m, keys))
	lines, err := parseReply(buf.Bytes())
	require.NoError(t, err, "badly framed reply %q", buf.String())
	require.True(t, strings.HasSuffix(buf.String(), "\r\n"))
	return buf.String(), lines
}

// propValue returns the value of a 250 reply line, from its status line or
// its data block.
func propValue(t *rapid.T, l replyLine, key string) string {
	require.Equal(t, 250, l.code)
	require.Equal(t, key+"=", l.text[:min(len(l.text), len(key)+1)], "line for %s", key)
	if l.sep == '+' {
		require.Equal(t, key+"=", l.text)
		return strings.TrimSuffix(l.data, "\n")
	}
	require.Equal(t, byte('-'), l.sep)
	return l.text[len(key)+1:]
}

// check compares the registry and every reply with the model.
func (m *propModel) check(t *rapid.T) {
	want := m.entries()
	got := m.reg.AppendEntries(nil)
	if len(got) == 0 {
		got = nil // as the model spells no entries
	}
	require.Equal(t, want, got, "registry entries")
	open, circs := 0, 0
	for _, c := range m.conns {
		if !c.closed {
			open++
		}
	}
	for _, ci := range m.circs {
		if !ci.closed {
			circs++
		}
	}
	gotOpen, gotCircs := m.reg.Counts()
	require.Equal(t, []int{open, circs}, []int{gotOpen, gotCircs}, "Counts")

	// (c) Totals: bytes added to open and closed connections, none after a close.
	require.Equal(t, m.totals(), m.reg.Totals(), "Totals")

	// The unscrubbed conn/all: exact lines, (e) Parse(format(x)) == x, (b) no counter goes back.
	_, rawLines := propWriteReply(t, m.raw, getinfo.ConnAllKey)
	require.Len(t, rawLines, 2)
	require.Equal(t, replyLine{code: 250, sep: ' ', text: "OK"}, rawLines[1])
	rawValue := propValue(t, rawLines[0], getinfo.ConnAllKey)
	if len(got) > 1 {
		require.Equal(t, byte('+'), rawLines[0].sep, "two or more entries make a data block")
	} else {
		require.Equal(t, byte('-'), rawLines[0].sep, "none or one entry fit on the status line")
	}
	var wantRaw []string
	for _, e := range want {
		wantRaw = append(wantRaw, oracle.Line(e))
	}
	require.Equal(t, strings.Join(wantRaw, "\n"), rawValue, "unscrubbed conn/all")
	if len(got) > 0 {
		for i, line := range strings.Split(rawValue, "\n") {
			e, err := format.Parse(line)
			require.NoError(t, err, "line %q", line)
			require.Equal(t, got[i], e, "Parse(format(x)) of line %q", line)
		}
	}
	parsed, err := format.ParseAll(rawValue)
	require.NoError(t, err)
	now := make(map[[2]uint64][2]uint64, len(parsed))
	for _, e := range parsed {
		k := [2]uint64{e.CircID, e.ConnID}
		if old, ok := m.prev[k]; ok {
			require.GreaterOrEqual(t, e.Read, old[0], "READ of %d/%d went back", e.CircID, e.ConnID)
			require.GreaterOrEqual(t, e.Written, old[1], "WRITE of %d/%d went back", e.CircID, e.ConnID)
		}
		now[k] = [2]uint64{e.Read, e.Written}
	}
	m.prev = now

	// The test-network tier: conn/all and every conn/<circ>/<conn> in one reply.
	keys := []string{getinfo.ConnAllKey}
	var wantShown []string
	for _, e := range want {
		keys = append(keys, fmt.Sprintf("conn/%d/%d", e.CircID, e.ConnID))
		wantShown = append(wantShown, oracle.Line(oracle.TestNetworkView(e)))
	}
	text, lines := propWriteReply(t, m.def, keys...)
	require.Len(t, lines, len(keys)+1, "reply %q", text)
	require.Equal(t, replyLine{code: 250, sep: ' ', text: "OK"}, lines[len(keys)])
	require.Equal(t, strings.Join(wantShown, "\n"), propValue(t, lines[0], getinfo.ConnAllKey), "scrubbed conn/all")
	for i, key := range keys[1:] {
		require.Equal(t, byte('-'), lines[i+1].sep)
		require.Equal(t, wantShown[i], propValue(t, lines[i+1], key), "scrubbed %s", key)
	}
	replies := []string{text}

	// Keys of closed connections and circuits are unrecognized, under either policy.
	for _, c := range m.conns {
		if c.closed && (c.spelt != "" || c.lport != 0 || c.id%16 == 0) {
			key := "conn/0/" + strconv.FormatUint(c.id, 10)
			for _, mux := range []*getinfo.Mux{m.def, m.raw} {
				text, _ := propWriteReply(t, mux, key)
				require.Equal(t, `552 Unrecognized key "`+key+"\"\r\n", text)
			}
		}
	}
	for _, l := range m.legs {
		if l.circ.closed || l.conn.closed {
			key := fmt.Sprintf("conn/%d/%d", l.circ.id, l.conn.id)
			text, _ := propWriteReply(t, m.def, key, getinfo.ConnAllKey)
			require.Equal(t, `552 Unrecognized key "`+key+"\"\r\n", text)
			replies = append(replies, text)
		}
	}

	// (a) No endpoint of a scrubbed connection, nor of a closed one, in any reply.
	m.checkNoLeaks(t, strings.Join(replies, ""))
}

// checkNoLeaks fails if all, the test-network tier's replies, holds the
// address or a port of a connection that is closed or whose endpoints the
// model says must be scrubbed.
func (m *propModel) checkNoLeaks(t *rapid.T, all string) {
	var fields []string
	for _, line := range strings.Split(all, "\n") {
		fields = append(fields, strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '=' || r == '\r' })...)
	}
	for _, c := range m.conns {
		if !c.closed && c.shown() {
			continue
		}
		why := "scrubbed"
		if c.closed {
			why = "closed"
		}
		if c.spelt != "" && strings.Contains(all, c.spelt) {
			t.Fatalf("address %s of %s connection %d (%v %v %v fp=%v) appears in a reply:\n%s",
				c.spelt, why, c.id, c.dir, c.usage, c.network, c.fp, all)
		}
		var ports []string
		if c.remote.IsValid() {
			ports = append(ports, strconv.Itoa(int(c.remote.Port())))
		}
		if c.lport != 0 {
			ports = append(ports, strconv.Itoa(int(c.lport)))
		}
		for _, p := range ports {
			for _, f := range fields {
				if f == p || strings.HasSuffix(f, ":"+p) {
					t.Fatalf("port %s of %s connection %d appears as %q in a reply:\n%s", p, why, c.id, f, all)
				}
			}
		}
	}
}

// TestConnRegistryProperty runs random operation sequences on a registry
// and checks, every few steps and at the end, the registry's entries and
// totals and the conn/ replies under both policies against the model:
// scrubbing, exact lines, monotonic counters, totals, framing and the
// format round trip.
func TestConnRegistryProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newPropModel()
		steps := rapid.IntRange(1, propMaxSteps).Draw(t, "steps")
		every := rapid.IntRange(1, 4).Draw(t, "check every")
		ops := []string{"open", "open", "open", "invalid open", "establish", "establish", "fingerprint", "fingerprint", "not relay", "not relay",
			"add", "add", "add", "circuit", "circuit", "bind", "bind", "bind", "bind", "leg add", "leg add",
			"close leg circuit", "close circuit", "close conn", "close conn", "advance", "advance", "burst"}
		for i := range steps {
			op := rapid.SampledFrom(ops).Draw(t, "op")
			switch {
			case len(m.conns) == 0 && op != "circuit" && op != "invalid open" && op != "advance" && op != "burst":
				op = "open"
			case op == "bind" && len(m.circs) == 0:
				op = "circuit"
			case (op == "leg add" || op == "close leg circuit") && len(m.legs) == 0:
				op = "add"
			case op == "close circuit" && len(m.circs) == 0:
				op = "circuit"
			}
			switch op {
			case "open":
				m.open(t)
			case "invalid open":
				m.openInvalid(t)
			case "establish":
				m.markEstablished(t)
			case "fingerprint":
				m.setFingerprint(t)
			case "not relay":
				m.setNotRelay(t)
			case "add":
				m.addConn(t)
			case "circuit":
				m.openCircuit(t)
			case "bind":
				m.bind(t)
			case "leg add":
				m.addLeg(t)
			case "close leg circuit":
				m.closeCircuit(t, m.legs[rapid.IntRange(0, len(m.legs)-1).Draw(t, "leg")].circ)
			case "close circuit":
				m.closeCircuit(t, m.pickCirc(t))
			case "close conn":
				m.closeConn(t)
			case "advance":
				m.advance(t)
			case "burst":
				m.burst(t)
			}
			if (i+1)%every == 0 {
				m.check(t)
			}
		}
		m.check(t)
	})
}

// TestConnScrubFingerprintWithdrawnProperty focuses on the scrub guarantee
// over a connection's fingerprint lifecycle: a relay peer's endpoints show
// only while it is network 'T' with a fingerprint, before and after any
// sequence of SetFingerprint, SetNotRelay and MarkEstablished calls and
// clock moves, on a circuit or not, and never after it closes.
func TestConnScrubFingerprintWithdrawnProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newPropModel()
		n := rapid.IntRange(1, 8).Draw(t, "conns")
		for range n {
			m.open(t)
		}
		m.openCircuit(t)
		for range n {
			m.bind(t)
		}
		m.check(t)
		steps := rapid.IntRange(1, 30).Draw(t, "steps")
		for range steps {
			switch rapid.IntRange(0, 6).Draw(t, "op") {
			case 0, 1:
				m.setFingerprint(t)
			case 2, 3:
				m.setNotRelay(t)
			case 4:
				m.markEstablished(t)
			case 5:
				m.advance(t)
			case 6:
				m.closeConn(t)
			}
			m.check(t)
		}
	})
}
