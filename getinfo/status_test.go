package getinfo_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

var statusFP = connstate.Fingerprint{0xAB, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}

type oneRelay struct{}

func (oneRelay) LookupRelay(fp connstate.Fingerprint, addr netip.Addr) (netip.AddrPort, bool) {
	if fp != statusFP {
		return netip.AddrPort{}, false
	}
	if addr == netip.MustParseAddr("198.51.100.20") {
		return netip.MustParseAddrPort("198.51.100.20:9001"), true
	}
	return netip.AddrPort{}, true
}

func (oneRelay) Nickname(fp connstate.Fingerprint) (string, bool) { return "relayA", fp == statusFP }

// statusRelay is a relay with a client, a listed relay, an exit stream, a
// directory request, a carried circuit and one of its own, under policy.
func statusRelay(t *testing.T, policy scrub.Policy) (*getinfo.Mux, *connstatetest.Clock, *connstate.Circuit) {
	t.Helper()
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	open := func(cfg connstate.ConnConfig) *connstate.Conn {
		c, err := reg.Open(cfg)
		require.NoError(t, err)
		return c
	}
	client := open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("203.0.113.7:50000"), LocalPort: 9001, Established: true})
	relay := open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor,
		Fingerprint: statusFP, Remote: netip.MustParseAddrPort("198.51.100.20:9001"), LocalPort: 41000, Established: true})
	exit := open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("192.0.2.80:443"), Established: true})
	open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageDirectory, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("203.0.113.8:1234"), Established: true})
	carried, err := reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	_, err = carried.BindInbound(client)
	require.NoError(t, err)
	_, err = carried.BindExit(exit)
	require.NoError(t, err)
	own, err := reg.OpenCircuit(connstate.CircuitConfig{Origin: true, Purpose: "TESTING"})
	require.NoError(t, err)
	_, err = own.BindOutbound(relay)
	require.NoError(t, err)
	conns := &getinfo.Conns{Source: reg, Policy: policy, Seeds: func() uint64 { return 7 }}
	m := getinfo.NewMux()
	conns.Register(m)
	(&getinfo.Status{Conns: conns, Nicknames: oneRelay{}}).Register(m)
	return m, clk, own
}

func info(t *testing.T, m *getinfo.Mux, key string) string {
	t.Helper()
	v, err := m.AppendInfo(nil, key)
	require.NoError(t, err, key)
	return string(v)
}

func TestStatusTestNetwork(t *testing.T) {
	m, _, _ := statusRelay(t, scrub.TestNetwork())
	assert.Equal(t, "0 CONNECTED\n$AB0102030405060708090A0B0C0D0E0F10111213~relayA CONNECTED", info(t, m, "orconn-status"),
		"the client, unnamed even here, and the relay; no exit stream, no directory request")
	assert.Equal(t, "2 BUILT $AB0102030405060708090A0B0C0D0E0F10111213~relayA PURPOSE=TESTING TIME_CREATED=2026-01-01T00:00:00.000000",
		info(t, m, "circuit-status"), "the relay's own circuit only")
}

// In the public tier the status keys say what conn/all says in the same
// epoch, with its pseudonyms: no address, no carried circuit, the same
// bytes for the whole epoch.
func TestStatusPublic(t *testing.T) {
	m, clk, own := statusRelay(t, scrub.Public(oneRelay{}))
	orconns, circs, all := info(t, m, "orconn-status"), info(t, m, "circuit-status"), info(t, m, "conn/all")
	assert.Equal(t, "0 CONNECTED\n$AB0102030405060708090A0B0C0D0E0F10111213~relayA CONNECTED", orconns)
	for _, v := range []string{orconns, circs} {
		assert.NotContains(t, v, "203.0.113", "no client's address")
		assert.NotContains(t, v, "192.0.2", "no exit's address")
	}
	f := strings.Fields(circs)
	require.Len(t, f, 5, circs)
	assert.Equal(t, "BUILT", f[1])
	var legCirc string
	for _, l := range strings.Split(all, "\n") {
		if c := strings.Fields(l)[1]; c != "0" {
			assert.Empty(t, legCirc, "one leg only: the carried circuit's are not shown\n%s", all)
			legCirc = c
		}
	}
	assert.Equal(t, legCirc, f[0], "circuit-status' ID is conn/all's")
	assert.Equal(t, "TIME_CREATED=2026-01-01T00:00:00.000000", f[4], "the first view's instant")
	require.NoError(t, own.Close())
	clk.Advance(9 * time.Second)
	assert.Equal(t, circs, info(t, m, "circuit-status"), "the epoch's view, whatever happened since")
	clk.Advance(time.Second)
	assert.Empty(t, info(t, m, "circuit-status"), "the next view")
}
