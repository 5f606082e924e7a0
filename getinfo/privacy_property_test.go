package getinfo_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/oracle"
	"github.com/conninfo/conninfo/scrub"
)

// The public tier's information-flow claims, as properties over random
// registries and operation sequences on a fake clock:
//
//   - no CIRC_ID in any answer belongs to a circuit the relay carries for
//     others, so none links two connections of one;
//   - within an epoch every answer is byte-identical, whatever the keys
//     and however often, and conn/<circ>/<conn> is conn/all's line;
//   - every byte count shown, lines and totals, is a multiple of the
//     granularity, so that no difference of any two answers, within or
//     across epochs, resolves a client's or a circuit's bytes finer;
//   - no endpoint is shown without a listing in the public-relay source,
//     and then only the published one.

const propEpoch = 10 * time.Second

// propSeed fixes the public tier's secrets, so that the model knows which
// registry IDs the shown pseudonyms stand for.
const propSeed = 3

// unshown maps a shown ID back to the registry's, among the first n, by
// pseudonym, the connections' or the circuits'.
func unshown(t *rapid.T, id uint64, n int, pseudonym func(k0, k1, id uint64) uint64) uint64 {
	for raw := uint64(1); raw <= uint64(n); raw++ {
		if pseudonym(propSeed, propSeed, raw) == id {
			return raw
		}
	}
	t.Fatalf("shown ID %d stands for none of the first %d", id, n)
	return 0
}

type privConn struct {
	h      *connstate.Conn
	remote netip.AddrPort
	fp     connstate.Fingerprint
	closed bool
}

type privCirc struct {
	h      *connstate.Circuit
	origin bool
	legs   []*connstate.Leg
}

type privModel struct {
	reg    *connstate.Registry
	clk    *connstatetest.Clock
	mux    *getinfo.Mux
	listed connstatetest.ListedRelays
	conns  []*privConn
	circs  map[uint64]*privCirc // open ones
	origin map[uint64]bool      // every circuit ever opened: whether it is an origin one
	// answers seen in each epoch, by key
	seen map[int64]map[string]string
}

var privFingerprints = []connstate.Fingerprint{{0x11, 19: 1}, {0x22, 19: 2}, {0x33, 19: 3}, {0x44, 19: 4}}

func newPrivModel(t *rapid.T) *privModel {
	clk := connstatetest.NewClock(connstatetest.Epoch().Add(time.Duration(rapid.Int64Range(0, int64(propEpoch)).Draw(t, "start"))))
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	listed := connstatetest.ListedRelays{}
	for i, fp := range privFingerprints[:3] { // the fourth is never listed
		listed[fp] = []netip.AddrPort{netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), 9001)}
		if i == 1 {
			listed[fp] = append(listed[fp], netip.MustParseAddrPort("[2001:db8::22]:443"))
		}
	}
	m := getinfo.NewMux()
	(&getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.Public(listed), Seeds: func() uint64 { return propSeed }}).Register(m)
	return &privModel{reg: reg, clk: clk, mux: m, listed: listed, circs: map[uint64]*privCirc{}, origin: map[uint64]bool{}, seen: map[int64]map[string]string{}}
}

func (m *privModel) open(t *rapid.T) {
	cfg := connstate.ConnConfig{
		Direction:   rapid.SampledFrom([]connstate.Direction{connstate.Inbound, connstate.Outbound}).Draw(t, "direction"),
		Usage:       connstate.Usage(rapid.IntRange(1, 5).Draw(t, "usage")),
		Network:     rapid.SampledFrom([]connstate.Network{connstate.NetworkTor, connstate.NetworkOutside}).Draw(t, "network"),
		Established: rapid.Bool().Draw(t, "established"),
		LocalPort:   uint16(rapid.IntRange(0, 65535).Draw(t, "lport")),
	}
	if cfg.Network == connstate.NetworkTor && rapid.IntRange(0, 3).Draw(t, "fp?") > 0 {
		cfg.Fingerprint = rapid.SampledFrom(privFingerprints).Draw(t, "fp")
	}
	port := uint16(rapid.IntRange(1, 65535).Draw(t, "port"))
	switch rapid.IntRange(0, 4).Draw(t, "address") {
	case 0: // a published address of the fingerprint it claims, or of another
		fp := rapid.SampledFrom(privFingerprints[:3]).Draw(t, "published of")
		pub := m.listed[fp][rapid.IntRange(0, len(m.listed[fp])-1).Draw(t, "which")]
		cfg.Remote = netip.AddrPortFrom(pub.Addr(), port)
	case 1:
		cfg.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte{203, 0, 113, byte(rapid.IntRange(1, 254).Draw(t, "host"))}), port)
	case 2:
		cfg.Remote = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
	case 3:
		cfg.Remote = netip.AddrPortFrom(netip.MustParseAddr("2001:db8:77::5"), port)
	}
	c, err := m.reg.Open(cfg)
	require.NoError(t, err)
	m.conns = append(m.conns, &privConn{h: c, remote: cfg.Remote, fp: cfg.Fingerprint})
}

func (m *privModel) openConns() []*privConn {
	var out []*privConn
	for _, c := range m.conns {
		if !c.closed {
			out = append(out, c)
		}
	}
	return out
}

func (m *privModel) circuit(t *rapid.T) {
	open := m.openConns()
	if len(open) == 0 {
		return
	}
	origin := rapid.Bool().Draw(t, "origin")
	circ, err := m.reg.OpenCircuit(connstate.CircuitConfig{Origin: origin})
	require.NoError(t, err)
	pc := &privCirc{h: circ, origin: origin}
	for i, role := range []connstate.Role{connstate.RoleInbound, connstate.RoleOutbound, connstate.RoleExit} {
		if i > 0 && rapid.Bool().Draw(t, "another leg") {
			continue
		}
		c := rapid.SampledFrom(open).Draw(t, "leg conn")
		if leg, err := circ.Bind(c.h, role); err == nil {
			pc.legs = append(pc.legs, leg)
		}
	}
	m.circs[circ.ID()] = pc
	m.origin[circ.ID()] = origin
}

func (m *privModel) add(t *rapid.T) {
	n := rapid.Uint64Range(0, 3<<20).Draw(t, "bytes")
	if rapid.Bool().Draw(t, "on a leg") {
		for _, c := range m.circs {
			if len(c.legs) > 0 {
				c.legs[rapid.IntRange(0, len(c.legs)-1).Draw(t, "leg")].AddRead(n)
				return
			}
		}
	}
	if open := m.openConns(); len(open) > 0 {
		c := rapid.SampledFrom(open).Draw(t, "conn")
		c.h.AddRead(n)
		c.h.AddWritten(n / 3)
	}
}

func (m *privModel) closeOne(t *rapid.T) {
	if open := m.openConns(); len(open) > 0 && rapid.Bool().Draw(t, "close a conn") {
		c := rapid.SampledFrom(open).Draw(t, "close")
		require.NoError(t, c.h.Close())
		c.closed = true
		return
	}
	for id, c := range m.circs {
		require.NoError(t, c.h.Close())
		delete(m.circs, id)
		return
	}
}

// ask answers a random set of keys, in one reply, and checks the claims.
func (m *privModel) ask(t *rapid.T) {
	keys := []string{"conn/all"}
	for range rapid.IntRange(0, 4).Draw(t, "extra keys") {
		switch rapid.IntRange(0, 2).Draw(t, "key kind") {
		case 0:
			keys = append(keys, rapid.SampledFrom([]string{"relay/read-total", "info/relay/write-total", "traffic/read", "traffic/written"}).Draw(t, "total"))
		default:
			var circ uint64
			for id := range m.circs {
				if rapid.Bool().Draw(t, "this circuit") {
					circ = id
					break
				}
			}
			conn := uint64(rapid.IntRange(1, len(m.conns)+1).Draw(t, "conn id"))
			keys = append(keys, fmt.Sprintf("conn/%d/%d", oracle.CircuitPseudonym(propSeed, propSeed, circ), oracle.Pseudonym(propSeed, propSeed, conn)))
		}
	}
	epoch := m.clk.Now().UnixNano() / int64(propEpoch)
	seen := m.seen[epoch]
	if seen == nil {
		seen = map[string]string{}
		m.seen[epoch] = seen
	}
	values := map[string]string{}
	for _, key := range keys {
		v, err := m.mux.Answer(nil, key)
		got := string(v)
		if err != nil {
			require.ErrorIs(t, err, getinfo.ErrUnrecognized, key)
			got = "552"
		}
		if prev, ok := seen[key]; ok {
			require.Equal(t, prev, got, "%s twice in one epoch", key)
		}
		seen[key], values[key] = got, got
	}
	all := values["conn/all"]
	lines := map[string]string{}
	if all != "" {
		for _, line := range strings.Split(all, "\n") {
			f := strings.Fields(line)
			require.Len(t, f, 9, line)
			lines["conn/"+f[1]+"/"+f[0]] = line
			m.checkLine(t, f, line)
		}
	}
	for key, v := range values {
		switch {
		case strings.HasPrefix(key, "conn/") && key != "conn/all":
			want, ok := lines[key]
			if !ok {
				want = "552"
			}
			require.Equal(t, want, v, "%s is conn/all's line", key)
		case key != "conn/all":
			n, err := strconv.ParseUint(v, 10, 64)
			require.NoError(t, err, key)
			require.Zero(t, n%oracle.PublicRound, "%s=%d not a multiple of the granularity", key, n)
		}
	}
}

// checkLine checks one line of the public tier against the model.
func (m *privModel) checkLine(t *rapid.T, f []string, line string) {
	conn, err := strconv.ParseUint(f[0], 10, 64)
	require.NoError(t, err)
	circ, err := strconv.ParseUint(f[1], 10, 64)
	require.NoError(t, err)
	conn = unshown(t, conn, len(m.conns), oracle.Pseudonym)
	if circ != 0 {
		circ = unshown(t, circ, len(m.origin), oracle.CircuitPseudonym)
		origin, ok := m.origin[circ] // it may have closed since the epoch's instant
		require.True(t, ok, "a leg of a circuit never opened: %s", line)
		require.True(t, origin, "a leg of a carried circuit: %s", line)
	}
	for _, i := range []int{6, 7} {
		n, err := strconv.ParseUint(f[i], 10, 64)
		require.NoError(t, err)
		require.Zero(t, n%oracle.PublicRound, "not rounded: %s", line)
	}
	up, err := strconv.ParseUint(f[8], 10, 64)
	require.NoError(t, err)
	require.Zero(t, up%uint64(propEpoch/time.Second), "UPTIME not in whole epochs: %s", line)

	pc := m.conns[conn-1]
	if f[2] != "0" {
		fp, err := connstate.ParseFingerprint(f[2])
		require.NoError(t, err)
		_, listed := m.listed[fp]
		require.True(t, listed && fp == pc.fp, "OR_ID not the connection's listed fingerprint: %s", line)
		require.NotEqual(t, "0", f[3], "OR_ID without the published address: %s", line)
	}
	if f[3] == "0" {
		require.Equal(t, "0", f[4], "L_PORT without IP:PORT: %s", line)
		return
	}
	ap, err := netip.ParseAddrPort(f[3])
	require.NoError(t, err, line)
	published := false
	for _, p := range m.listed[pc.fp] {
		published = published || p == ap && p.Addr() == pc.remote.Addr()
	}
	require.True(t, published, "an endpoint that is not the listed relay's published one at its own address: %s (remote %s)", line, pc.remote)
	if f[4] != "0" {
		require.Equal(t, "I", strings.ToUpper(f[5][:1]), "an outbound connection's ephemeral port: %s", line)
	}
}

func TestPublicTierInformationFlowProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		m := newPrivModel(t)
		for range rapid.IntRange(1, 80).Draw(t, "steps") {
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0, 1:
				m.open(t)
			case 2:
				m.circuit(t)
			case 3, 4:
				m.add(t)
			case 5:
				m.closeOne(t)
			case 6:
				m.clk.Advance(time.Duration(rapid.Int64Range(0, int64(3*propEpoch/2)).Draw(t, "advance")))
			default:
				m.ask(t)
			}
		}
		m.ask(t)
	})
}
