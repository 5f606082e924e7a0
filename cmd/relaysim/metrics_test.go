package main

import (
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

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
		{"not an address", false},
	} {
		assert.Equal(t, tt.want, admitted(tt.remote, loopback), tt.remote)
	}
	lan, err := parseMetricsPolicy("198.18.0.0/15, 127.0.0.1/32")
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("127.0.0.1/32")}, lan)
	assert.True(t, admitted("198.19.1.1:80", lan))
	for _, bad := range []string{"", " , ", "10.0.0.0/33", "example.org"} {
		_, err := parseMetricsPolicy(bad)
		assert.Error(t, err, "%q", bad)
	}
}
