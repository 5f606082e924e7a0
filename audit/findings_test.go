package audit_test

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// asymmetricRelay has a carried circuit that moved 16 MiB one way, and an
// exit stream to a private address.
func asymmetricRelay(t *testing.T, policy scrub.Policy) (*getinfo.Mux, *connstatetest.Clock, *getinfo.Conns) {
	t.Helper()
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	open := func(cfg connstate.ConnConfig) *connstate.Conn {
		c, err := reg.Open(cfg)
		require.NoError(t, err)
		return c
	}
	in := open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("203.0.113.7:50000"), Established: true})
	out := open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("10.1.2.3:80"), Established: true})
	circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	leg, err := circ.BindInbound(in)
	require.NoError(t, err)
	_, err = circ.BindExit(out)
	require.NoError(t, err)
	leg.AddWritten(16 << 20)
	conns := &getinfo.Conns{Source: reg, Policy: policy, Seeds: func() uint64 { return 3 }}
	m := getinfo.NewMux()
	conns.Register(m)
	(&audit.Findings{Registry: reg, Conns: conns, Setup: func() audit.State { return audit.State{Exit: true, RejectPrivate: true} }}).Register(m)
	return m, clk, conns
}

func TestFindingsTestNetwork(t *testing.T) {
	m, _, _ := asymmetricRelay(t, scrub.TestNetwork())
	v, err := m.AppendInfo(nil, audit.FindingsKey)
	require.NoError(t, err)
	assert.Equal(t, "asymmetric warning 1,2 1 circuit moved 16777216 bytes inbound and 0 outbound (ratio over 20)\n"+
		"private-exit critical 2 - 1 exit stream(s) to private addresses, which the exit policy rejects", string(v))
}

// In the public tier a finding names connections by conn/all's
// pseudonyms, no carried circuit, and no byte count; and it is the
// epoch's.
func TestFindingsPublic(t *testing.T) {
	m, clk, conns := asymmetricRelay(t, scrub.Public(nil))
	v, err := m.AppendInfo(nil, audit.FindingsKey)
	require.NoError(t, err)
	lines := strings.Split(string(v), "\n")
	require.Len(t, lines, 2, string(v))
	c1, c2 := conns.ShownConnID(1), conns.ShownConnID(2)
	lo, hi := min(c1, c2), max(c1, c2)
	assert.Equal(t, "asymmetric warning "+u(lo)+","+u(hi)+" - a circuit's two sides moved volumes far apart, over the floor", lines[0])
	assert.Equal(t, "private-exit critical "+u(c2)+" - 1 exit stream(s) to private addresses, which the exit policy rejects", lines[1])
	all, err := m.AppendInfo(nil, "conn/all")
	require.NoError(t, err)
	for _, id := range []uint64{c1, c2} {
		assert.Contains(t, string(all), u(id)+" 0 ", "the IDs are conn/all's")
	}
	for _, secret := range []string{"16777216", "10.1.2.3", "203.0.113.7"} {
		assert.NotContains(t, string(v), secret)
	}
	clk.Advance(5 * time.Second)
	again, err := m.AppendInfo(nil, audit.FindingsKey)
	require.NoError(t, err)
	assert.Equal(t, v, again, "the epoch's findings")
}

func u(n uint64) string { return strconv.FormatUint(n, 10) }
