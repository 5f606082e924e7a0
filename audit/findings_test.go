package audit_test

import (
	"net/netip"
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

// In the public tier a finding names no connection and no carried
// circuit, holds no byte count, and is the audit of the last instant (or
// of Register): the same answer however often and whenever asked within
// an epoch.
func TestFindingsPublic(t *testing.T) {
	m, clk, _ := asymmetricRelay(t, scrub.Public(nil))
	get := func() string {
		v, err := m.AppendInfo(nil, audit.FindingsKey)
		require.NoError(t, err)
		return string(v)
	}
	v := get()
	assert.Equal(t, "asymmetric warning - - a circuit's two sides moved volumes far apart, over the floor\n"+
		"private-exit critical - - 1 exit stream(s) to private addresses, which the exit policy rejects", v)
	for _, secret := range []string{"16777216", "10.1.2.3", "203.0.113.7"} {
		assert.NotContains(t, v, secret)
	}
	clk.Advance(5 * time.Second)
	assert.Equal(t, v, get(), "the epoch's findings")
}

// A question cannot choose the instant of the audit: what happens within
// an epoch shows at the next instant, whoever asks when.
func TestFindingsPublicAtTheGrid(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	conns := &getinfo.Conns{Source: reg, Policy: scrub.Public(nil), Seeds: func() uint64 { return 3 }}
	m := getinfo.NewMux()
	conns.Register(m)
	(&audit.Findings{Registry: reg, Conns: conns, Setup: func() audit.State { return audit.State{Exit: false, RejectPrivate: true} }}).Register(m)
	get := func() string {
		v, err := m.AppendInfo(nil, audit.FindingsKey)
		require.NoError(t, err)
		return string(v)
	}
	assert.Empty(t, get())
	clk.Advance(17 * time.Second)
	_, err := reg.Open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("192.0.2.80:443"), Established: true}) // a stream on a non-exit
	require.NoError(t, err)
	clk.Advance(time.Millisecond)
	assert.Empty(t, get(), "not before the next instant")
	clk.Advance(3 * time.Second)
	assert.Contains(t, get(), "non-exit-streams critical - - 1 outbound connection(s)")
}

// The public tier's detectors see counts rounded as conn/all's are: a
// share over the threshold by less than the granularity is no finding.
func TestFindingsPublicRoundsCounts(t *testing.T) {
	for _, tt := range []struct {
		policy scrub.Policy
		want   bool
	}{{scrub.TestNetwork(), true}, {scrub.Public(nil), false}} {
		clk := connstatetest.NewClock(connstatetest.Epoch())
		reg := connstate.NewRegistry(connstate.WithClock(clk))
		for _, n := range []uint64{300 << 10, 200 << 10} {
			c, err := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside, Established: true})
			require.NoError(t, err)
			c.AddRead(n)
		}
		conns := &getinfo.Conns{Source: reg, Policy: tt.policy, Seeds: func() uint64 { return 3 }}
		m := getinfo.NewMux()
		conns.Register(m)
		// A share of 0.6 raw; 256 KiB and 256 KiB, 0.5, rounded.
		(&audit.Findings{Registry: reg, Conns: conns, Config: audit.Config{ConcentrationShare: 0.55, ConcentrationFloor: 1}}).Register(m)
		v, err := m.AppendInfo(nil, audit.FindingsKey)
		require.NoError(t, err)
		assert.Equal(t, tt.want, strings.Contains(string(v), "concentration"), "%s: %q", tt.policy, v)
	}
}

// The public tier's message of each detector holds no byte count, no
// address, no exact hidden count, no error text; no connection is named.
func TestFindingPublicMessages(t *testing.T) {
	for _, f := range []audit.Finding{
		{Detector: audit.Asymmetric, Severity: audit.Warning, ConnIDs: []uint64{1, 2}, CircIDs: []uint64{9}, Message: "circuit moved 16777216 bytes inbound and 0 outbound (ratio over 20)"},
		{Detector: audit.Concentration, Severity: audit.Warning, ConnIDs: []uint64{3}, Message: "one connection carries 1234567 bytes of 2000000"},
		{Detector: audit.Hidden, Severity: audit.Warning, Message: "12 connection(s) of the relay's process that no line reports (tolerance 2)"},
		{Detector: audit.Hidden, Severity: audit.Info, Message: "not checked: open /proc/77/fd: too many open files\x1b[2J"},
		{Detector: audit.NonExitStreams, Severity: audit.Critical, ConnIDs: []uint64{4, 5}, Message: "2 outbound connection(s) outside the Tor network on a relay that is not an exit"},
	} {
		p := f.Public(func(id uint64) (uint64, bool) { return id + 100, id == 9 })
		assert.Empty(t, p.ConnIDs, "%s names no connection", f.Detector)
		assert.NotRegexp(t, `\d{4,}|/proc|\x1b|bytes`, p.Message, f.Detector)
		if f.Detector == audit.Asymmetric {
			assert.Equal(t, []uint64{109}, p.CircIDs, "an own circuit, by its shown ID")
		}
		_, err := audit.ParseLine(p.Line())
		assert.NoError(t, err)
	}
}
