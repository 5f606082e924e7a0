package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/internal/tortest"
)

// prometheus runs Debian's prometheus on loopback, scraping targets every
// second, with a temporary configuration and data directory, until the
// test ends; it returns its HTTP API's address.
func startPrometheus(t *testing.T, targets []string) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus is not installed (Debian's package prometheus); .ci/run installs it")
	}
	port, err := tortest.FreePort()
	require.NoError(t, err)
	dir := t.TempDir()
	var quoted []string
	for _, target := range targets {
		quoted = append(quoted, strconv.Quote(target))
	}
	config := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: relaysim\n    static_configs:\n      - targets: [%s]\n", strings.Join(quoted, ", "))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		logFile.Close()
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/-/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 200*time.Millisecond, "prometheus never became ready")
	return addr
}

// query asks prometheus for an instant vector's first value at t.
func query(t *testing.T, api, q string, at time.Time) (float64, bool) {
	t.Helper()
	resp, err := http.Get("http://" + api + "/api/v1/query?query=" + url.QueryEscape(q) + "&time=" + strconv.FormatFloat(float64(at.UnixNano())/1e9, 'f', 3, 64))
	require.NoError(t, err)
	defer resp.Body.Close()
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&r))
	require.Equal(t, "success", r.Status, q)
	if len(r.Data.Result) == 0 {
		return 0, false
	}
	v, err := strconv.ParseFloat(r.Data.Result[0].Value[1].(string), 64)
	require.NoError(t, err)
	return v, true
}

// TestPrometheusScrapesThreeRelays has a real Prometheus scrape three
// relaysims in the public tier: the sum of their opened connections is
// the sum of the established connection lines of their conn/all in the
// same epoch, and the traffic's rate is positive while their traffic runs.
func TestPrometheusScrapesThreeRelays(t *testing.T) {
	if testing.Short() {
		t.Skip("a Prometheus and three relaysims for half a minute: README's test command runs it alone, without -short")
	}
	const epoch = 4 * time.Second
	var targets []string
	var relays []*syncBuffer
	for range 3 {
		out, _ := started(t, "-control", "127.0.0.1:0", "-conns", "30", "-quiet", "-auth", "null", "-epoch", epoch.String(), "-metrics", "127.0.0.1:0")
		m := regexp.MustCompile(`relaysim: metrics http://(\S+)/metrics`).FindStringSubmatch(out.String())
		require.NotNil(t, m, out.String())
		targets = append(targets, m[1])
		relays = append(relays, out)
	}
	api := startPrometheus(t, targets)
	require.Eventually(t, func() bool {
		n, ok := query(t, api, `count(up{job="relaysim"} == 1)`, time.Now())
		return ok && n == 3
	}, 30*time.Second, 500*time.Millisecond, "the three targets never came up")

	// The established connection lines of the three, read within one
	// epoch; Prometheus's samples late in that epoch are of its view.
	var want float64
	var k int64
	for attempt := 0; ; attempt++ {
		require.Less(t, attempt, 10, "never read the three within one epoch")
		k = time.Now().UnixNano() / int64(epoch)
		want = 0
		for _, out := range relays {
			c := connect(t, out.String(), &controlporttest.Auth{})
			for _, line := range connAll(t, c) {
				f := strings.Fields(line)
				if f[1] == "0" && (f[5][0] == 'I' || f[5][0] == 'O') {
					want++
				}
			}
			c.Close()
		}
		if time.Now().UnixNano()/int64(epoch) == k && time.Since(time.Unix(0, k*int64(epoch))) < epoch/2 {
			break
		}
		time.Sleep(epoch / 2)
	}
	late := time.Unix(0, (k+1)*int64(epoch)).Add(-700 * time.Millisecond)
	time.Sleep(time.Until(late.Add(2 * time.Second))) // the scrapes before it, stored
	got, ok := query(t, api, `sum(tor_relay_connections{state="opened"})`, late)
	require.True(t, ok, "no sample")
	assert.Equal(t, want, got, "sum(tor_relay_connections{state=\"opened\"}) at the epoch of conn/all")

	// The traffic moves: its rate over 20 s, once 20 s of samples are in.
	var rate float64
	require.Eventually(t, func() bool {
		rate, ok = query(t, api, `sum(rate(tor_relay_traffic_bytes[20s]))`, time.Now())
		return ok && rate > 0
	}, 60*time.Second, time.Second, "rate(tor_relay_traffic_bytes[20s]) never rose above 0")
	t.Logf("opened connections %v (conn/all %v), traffic %.0f B/s", got, want, rate)
}
