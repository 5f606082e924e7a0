package main

import (
	"io"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/metrics"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// relaysim -metrics serves the collector to loopback clients.
func TestMetricsEndpoint(t *testing.T) {
	out, _ := started(t, "-control", "127.0.0.1:0", "-conns", "20", "-quiet", "-auth", "null", "-metrics", "127.0.0.1:0")
	m := regexp.MustCompile(`relaysim: metrics (\S+)`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	// Right after start no connection may be established yet: its
	// series come with the first.
	var body []byte
	require.Eventually(t, func() bool {
		resp, err := http.Get(m[1])
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		return err == nil && resp.StatusCode == http.StatusOK && strings.Contains(string(body), "# TYPE tor_relay_connections gauge")
	}, 20*time.Second, 100*time.Millisecond, "no tor_relay_connections")
	for _, want := range []string{`tor_relay_traffic_bytes{direction="read"}`,
		`tor_relay_circuits_total{state="opened"}`, "# TYPE conninfo_connection_age_seconds histogram"} {
		assert.Contains(t, string(body), want)
	}
}

func TestMetricsPolicy(t *testing.T) {
	loopback, err := parseMetricsPolicy(defaultMetricsPolicy)
	require.NoError(t, err)
	for _, tt := range []struct {
		remote string
		want   bool
	}{
		{"127.0.0.1:5000", true},
		{"127.9.9.9:5000", true},
		{"[::1]:5000", true},
		{"[::ffff:127.0.0.1]:5000", true},
		{"198.18.0.2:5000", false},
		{"[2001:db8::1]:5000", false},
	} {
		assert.Equal(t, tt.want, admitted(net.TCPAddrFromAddrPort(netip.MustParseAddrPort(tt.remote)), loopback), tt.remote)
	}
	assert.False(t, admitted(&net.UnixAddr{Name: "/tmp/x", Net: "unix"}, loopback), "not a TCP client")
	lan, err := parseMetricsPolicy("198.18.0.0/15, 127.0.0.1/32")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("127.0.0.1/32")}, lan)
	assert.True(t, admitted(net.TCPAddrFromAddrPort(netip.MustParseAddrPort("198.19.1.1:80")), lan))
	for _, bad := range []string{"", " , ", "10.0.0.0/33", "example.org", "::ffff:127.0.0.0/104"} {
		_, err := parseMetricsPolicy(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// A client the policy does not admit is closed on at once, sent nothing;
// an admitted one is served.
func TestMetricsRefusedAtAccept(t *testing.T) {
	reg := connstate.NewRegistry()
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals}
	for _, tt := range []struct {
		policy string
		served bool
	}{{"198.18.0.0/15", false}, {defaultMetricsPolicy, true}} {
		allow, err := parseMetricsPolicy(tt.policy)
		require.NoError(t, err)
		ms, err := serveMetrics("127.0.0.1:0", allow, metrics.Config{Conns: conns})
		require.NoError(t, err)
		c, err := net.Dial("tcp", ms.l.Addr().String())
		require.NoError(t, err)
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		_, err = io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if tt.served {
			require.NoError(t, err)
		}
		reply, _ := io.ReadAll(c)
		c.Close()
		ms.close()
		if tt.served {
			assert.True(t, strings.HasPrefix(string(reply), "HTTP/1.1 200 OK"), "%.80s", reply)
			assert.Contains(t, string(reply), "tor_relay_traffic_bytes")
		} else {
			assert.Empty(t, reply, "a refused client is sent nothing")
		}
	}
}

// The hidden detector does not count the metrics server's clients.
func TestWithoutMetricsClients(t *testing.T) {
	sock := func(local, remote string) audit.Socket {
		return audit.Socket{Local: netip.MustParseAddrPort(local), Remote: netip.MustParseAddrPort(remote), Status: "ESTABLISHED"}
	}
	relay := sock("127.0.0.1:9001", "127.0.0.1:40000")
	scrape := sock("127.0.0.1:9035", "127.0.0.1:40001")
	assert.Equal(t, []audit.Socket{relay}, withoutMetricsClients([]audit.Socket{relay, scrape}, 9035))
	assert.Equal(t, []audit.Socket{relay, scrape}, withoutMetricsClients([]audit.Socket{relay, scrape}, 0), "no metrics server")
}
