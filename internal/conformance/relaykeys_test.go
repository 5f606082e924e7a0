package conformance_test

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"net/netip"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/events"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/options"
)

// offlineRelay is our server configured as the offline tor is: no OR
// connection, no circuit, no consensus, not a relay, no address, no
// GeoIP, no accounting, tor's defaults for the options asked, and its
// events.
func offlineRelay(t *testing.T) endpoint {
	t.Helper()
	reg := connstate.NewRegistry()
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals}
	mux := getinfo.NewMux()
	conns.Register(mux)
	(&getinfo.Status{Conns: conns}).Register(mux)
	pub, err := events.New(events.Config{Conns: conns})
	require.NoError(t, err)
	t.Cleanup(pub.Close)
	none := func() []net.Addr { return nil }
	(&getinfo.Relay{
		Fingerprint:   func() (connstate.Fingerprint, bool) { return connstate.Fingerprint{}, false },
		Address:       func() (netip.Addr, bool) { return netip.Addr{}, false },
		VersionStatus: func() string { return "unknown" },
		Accounting:    func() bool { return false },
		NoGeoIP:       true,
		Listeners:     map[string]func() []net.Addr{"or": none, "dir": none, "socks": none},
	}).Register(mux)
	(&getinfo.NetworkStatus{Source: noConsensus{}}).Register(mux)
	set := func(v string) func() []string { return func() []string { return []string{v} } }
	opts, err := options.New(
		options.Option{Name: "ORPort", Type: "Dependent"},
		options.Option{Name: "DirPort", Type: "Dependent"},
		options.Option{Name: "Nickname", Type: "String"},
		options.Option{Name: "ExitPolicy", Type: "LineList"},
		options.Option{Name: "SocksPort", Type: "Dependent", Values: set("0")},
		options.Option{Name: "BandwidthRate", Type: "DataSize", Values: set("1073741824")},
		options.Option{Name: "BandwidthBurst", Type: "DataSize", Values: set("1073741824")},
		options.Option{Name: "RelayBandwidthRate", Type: "DataSize", Values: set("0")},
		options.Option{Name: "RelayBandwidthBurst", Type: "DataSize", Values: set("0")},
		options.Option{Name: "DisableDebuggerAttachment", Type: "Boolean", Values: set("1")},
	)
	require.NoError(t, err)
	s := controlporttest.NewServer(t, controlport.Config{Mux: mux, Events: pub, Options: opts,
		CookieFile: t.TempDir() + "/control_auth_cookie", MaxUnauthenticated: 4 * concurrency})
	return endpoint{addr: s.Addr, cookie: s.Cookie, cookiePath: s.CookieFile()}
}

// noConsensus is a source without a consensus.
type noConsensus struct{}

func (noConsensus) AppendNetworkStatus(dst []byte) []byte { return dst }
func (noConsensus) AppendRouterStatus(dst []byte, _ connstate.Fingerprint) ([]byte, bool) {
	return dst, false
}

// relaySessions ask tor's standard keys, GETCONF and SETEVENTS of both.
var relaySessions = []session{
	{"orconn-status and circuit-status, empty", authed("GETINFO orconn-status circuit-status\r\n")},
	{"empty listeners", authed("GETINFO net/listeners/or net/listeners/dir net/listeners/socks\r\n")},
	{"fingerprint of a tor that is no relay", authed("GETINFO fingerprint\r\n")},
	{"address unknown", authed("GETINFO address\r\n")},
	{"status/version/current without a consensus", authed("GETINFO status/version/current\r\n")},
	{"ns/all without a consensus", authed("GETINFO ns/all\r\n")},
	{"accounting/enabled", authed("GETINFO accounting/enabled\r\n")},
	{"no GeoIP", authed("GETINFO ip-to-country/1.2.3.4\r\n")},
	{"a failing key and a good one", authed("GETINFO address orconn-status\r\n")},
	{"GETCONF of the relay's options", authed("GETCONF ORPort DirPort Nickname ExitPolicy SocksPort BandwidthRate BandwidthBurst RelayBandwidthRate RelayBandwidthBurst DisableDebuggerAttachment\r\n")},
	{"GETCONF in lower case", authed("GETCONF nickname socksport\r\n")},
	{"GETCONF of stem's option", authed("GETCONF __OwningControllerProcess Nickname\r\n")},
	{"GETCONF unknown", authed("GETCONF Bogus\r\n")},
	{"GETCONF known and unknown", authed("GETCONF Nickname Bogus AlsoBogus\r\n")},
	{"GETCONF without keys", authed("GETCONF\r\n")},
	{"GETCONF with extra spaces", authed("GETCONF  SocksPort   Nickname \r\n")},
	{"SETEVENTS unknown", authed("SETEVENTS BOGUS\r\n")},
	{"SETEVENTS a known and an unknown", authed("SETEVENTS ORCONN BOGUS\r\n")},
	{"SETEVENTS the relay's events then none", authed("SETEVENTS ORCONN CIRC EXTENDED\r\n", "SETEVENTS\r\n")},
	{"SETEVENTS in lower case", authed("SETEVENTS orconn circ_bw conn_bw\r\n", "SETEVENTS\r\n")},
}

// TestConformanceRelayKeys compares with tor the standard keys, GETCONF
// and SETEVENTS, where our server is set as the offline tor is.
func TestConformanceRelayKeys(t *testing.T) {
	tor := torEndpoint(t)
	ours := offlineRelay(t)
	torT, ourT := runAll(relaySessions, tor, ours)
	for i, s := range relaySessions {
		t.Run(s.name, func(t *testing.T) {
			a, b := torT[i], ourT[i]
			require.NoError(t, a.err, "tor")
			require.NoError(t, b.err, "ours")
			assert.True(t, a.equal(b), "tor and ours differ: %s\n  tor:%s\n  ours:%s", firstDifference(a, b), a, b)
		})
	}
}

// TestConformanceBWEvent compares the first BW event of tor, offline, and
// of ours, idle, byte for byte: both move no byte.
func TestConformanceBWEvent(t *testing.T) {
	tor := torEndpoint(t)
	ours := offlineRelay(t)
	first := func(ep endpoint) string {
		c := controlporttest.Dial(t, "tcp", ep.addr)
		defer c.Close()
		c.Authenticate(controlporttest.Auth{CookieFile: ep.cookiePath})
		c.Send("SETEVENTS BW\r\n")
		c.Expect("250 OK\r\n")
		r := bufio.NewReader(c)
		require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		return line
	}
	torLine, ourLine := first(tor), first(ours)
	assert.Equal(t, "650 BW 0 0\r\n", torLine)
	assert.Equal(t, torLine, ourLine)
	assert.True(t, strings.HasSuffix(ourLine, "\r\n"))
}
