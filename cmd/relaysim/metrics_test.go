package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/controlport/controlporttest"
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
// an admitted one is served; past metricsConns at once, one more is
// closed on too.
func TestMetricsRefusedAtAccept(t *testing.T) {
	reg := connstate.NewRegistry()
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals}
	serve := func(policy string) *metricsServer {
		allow, err := parseMetricsPolicy(policy)
		require.NoError(t, err)
		ms, err := newMetricsServer("127.0.0.1:0", allow, metrics.Config{Conns: conns})
		require.NoError(t, err)
		ms.serve()
		t.Cleanup(ms.close)
		return ms
	}
	dial := func(ms *metricsServer) net.Conn {
		c, err := net.Dial("tcp", ms.l.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		require.NoError(t, c.SetDeadline(time.Now().Add(10*time.Second)))
		return c
	}
	// closedOn reads c to its end: closed by the server, not timed out.
	closedOn := func(c net.Conn) {
		t.Helper()
		start := time.Now()
		reply, err := io.ReadAll(c)
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server kept the connection open")
		assert.Empty(t, reply, "a refused client is sent nothing")
		assert.Less(t, time.Since(start), 5*time.Second)
	}
	const get = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"

	closedOn(dial(serve("198.18.0.0/15")))

	ms := serve(defaultMetricsPolicy)
	var held []net.Conn
	for range metricsConns {
		c := dial(ms)
		_, err := io.WriteString(c, get)
		require.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Contains(t, string(body), "tor_relay_traffic_bytes")
		held = append(held, c) // kept alive
	}
	closedOn(dial(ms))
	held[0].Close()
	require.Eventually(t, func() bool {
		c := dial(ms)
		defer c.Close()
		if _, err := io.WriteString(c, get); err != nil {
			return false
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "a place freed by a close is taken again")
}

// The hidden detector does not count the metrics server's connections,
// and only them: a socket on the same port at another address, or with
// another peer, still counts.
func TestWithoutMetricsClients(t *testing.T) {
	reg := connstate.NewRegistry()
	ms, err := newMetricsServer("127.0.0.1:0", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, metrics.Config{Conns: &getinfo.Conns{Source: reg}})
	require.NoError(t, err)
	ms.serve()
	defer ms.close()
	c, err := net.Dial("tcp", ms.l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	server := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	client := c.LocalAddr().(*net.TCPAddr).AddrPort()
	scrape := audit.Socket{Local: server, Remote: client, Status: "ESTABLISHED"}
	require.Eventually(t, func() bool { return ms.l.serves(scrape) }, 5*time.Second, 10*time.Millisecond, "accepted")
	other := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), server.Port())
	sameport := audit.Socket{Local: other, Remote: client, Status: "ESTABLISHED"}
	otherPeer := audit.Socket{Local: server, Remote: netip.MustParseAddrPort("127.0.0.1:1"), Status: "ESTABLISHED"}
	relay := audit.Socket{Local: netip.MustParseAddrPort("127.0.0.1:9001"), Remote: client, Status: "ESTABLISHED"}
	all := []audit.Socket{relay, scrape, sameport, otherPeer}
	assert.Equal(t, []audit.Socket{relay, sameport, otherPeer}, withoutMetricsClients(slices.Clone(all), ms))
	assert.Equal(t, all, withoutMetricsClients(slices.Clone(all), nil), "no metrics server")
	c.Close()
	require.Eventually(t, func() bool { return !ms.l.serves(scrape) }, 5*time.Second, 10*time.Millisecond, "forgotten once closed")
}

// End to end: with the scenario's 12 hidden connections and six
// scrapers' kept-alive ones, the hidden detector counts the 12. The
// scrapers are another process (this test binary again, as
// holdScrapes), so that only the server's ends are relaysim's.
func TestScrapersAreNotHidden(t *testing.T) {
	out, _ := started(t, "-control", "127.0.0.1:0", "-conns", "20", "-quiet", "-auth", "null", "-policy", "unscrubbed",
		"-scenario", "hidden", "-metrics", "127.0.0.1:0")
	m := regexp.MustCompile(`relaysim: metrics http://(\S+)/metrics`).FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	self, err := os.Executable()
	require.NoError(t, err)
	scrapers := exec.Command(self)
	scrapers.Env = append(os.Environ(), scrapersEnv+"="+m[1])
	stdin, err := scrapers.StdinPipe()
	require.NoError(t, err)
	stdout, err := scrapers.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, scrapers.Start())
	defer func() { stdin.Close(); scrapers.Wait() }()
	ready, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "scraped 6\n", ready)

	ctl := connect(t, out.String(), &controlporttest.Auth{})
	// The client fails the test from the test's goroutine only: polled
	// here rather than in assert.Eventually's.
	var findings string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		if findings = ctl.GetInfo("audit/findings")[0]; strings.Contains(findings, "hidden warning - - 12 connection(s)") {
			break
		}
	}
	assert.Contains(t, findings, "hidden warning - - 12 connection(s)")
}

// scrapersEnv makes the test binary holdScrapes, at the address it holds.
const scrapersEnv = "RELAYSIM_TEST_SCRAPERS"

// holdScrapes scrapes addr on six connections, says so, and keeps them
// open until its standard input ends.
func holdScrapes(addr string) int {
	for range 6 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			return 1
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	fmt.Println("scraped 6")
	io.Copy(io.Discard, os.Stdin)
	return 0
}
