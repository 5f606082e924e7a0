package metrics_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/metrics"
	"github.com/conninfo/conninfo/scrub"
)

// relay is a busy fixture relay under a tier, with its collector on a
// registry of its own.
type relay struct {
	clk   *connstatetest.Clock
	mux   *getinfo.Mux
	conns *getinfo.Conns
	reg   *prometheus.Registry
	col   *metrics.Collector
}

func newRelay(t testing.TB, policy scrub.Policy, conns int) *relay {
	return newRelayAudited(t, policy, conns, true)
}

// newRelayAudited is newRelay with or without the relay's own audit.
func newRelayAudited(t testing.TB, policy scrub.Policy, conns int, audited bool) *relay {
	t.Helper()
	f := connstatetest.BusyRelay(11, conns)
	if policy.Tier() == scrub.TierPublic {
		policy = scrub.Public(f.Relays())
	}
	reg, clk, err := f.Build()
	require.NoError(t, err)
	c := &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: policy, Seeds: func() uint64 { return 5 }}
	mux := getinfo.NewMux()
	c.Register(mux)
	cfg := metrics.Config{Conns: c}
	if audited {
		findings := &audit.Findings{Registry: reg, Conns: c}
		findings.Register(mux)
		t.Cleanup(findings.Close)
		cfg.Findings = findings.Lines
	}
	col, err := metrics.New(cfg)
	require.NoError(t, err)
	pr := prometheus.NewRegistry()
	require.NoError(t, pr.Register(col))
	return &relay{clk: clk, mux: mux, conns: c, reg: pr, col: col}
}

func (r *relay) get(t testing.TB, key string) string {
	v, err := r.mux.AppendInfo(nil, key)
	require.NoError(t, err)
	return string(v)
}

// series returns each sample of family name by its labels, "k=v,k=v".
func series(t testing.TB, fams []*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			if m.GetHistogram() != nil {
				v = float64(m.GetHistogram().GetSampleCount())
			}
			out[strings.Join(labels, ",")] = v
		}
	}
	return out
}

// The metrics add up to what conn/all and traffic/* answer at the same
// instant, read here with strings.Fields, apart from the package's parser.
func TestMetricsAddUpToConnAll(t *testing.T) {
	for _, policy := range []scrub.Policy{scrub.Public(nil), scrub.TestNetwork()} {
		t.Run(policy.Tier().String(), func(t *testing.T) {
			r := newRelay(t, policy, 500)
			all := r.get(t, "conn/all")
			fams, err := r.reg.Gather()
			require.NoError(t, err)

			byType := map[string]float64{}
			flags := map[string]float64{}
			circs := map[string]bool{}
			var opened, bytesRead float64
			for _, l := range strings.Split(all, "\n") {
				f := strings.Fields(l)
				require.Len(t, f, 9, l)
				if f[1] != "0" {
					circs[f[1]] = true
					continue
				}
				flags[f[5]]++
				read, err := strconv.ParseFloat(f[6], 64)
				require.NoError(t, err)
				bytesRead += read
				if f[5][0] == 'I' || f[5][0] == 'O' {
					opened++
					byType[f[5][:1]]++
				}
			}
			conns := series(t, fams, "tor_relay_connections")
			var sum float64
			var received float64
			for k, v := range conns {
				sum += v
				if strings.Contains(k, "direction=received") {
					received += v
				}
			}
			assert.Equal(t, opened, sum, "tor_relay_connections: the established lines")
			assert.Equal(t, byType["I"], received, "received: the inbound ones")
			assert.Equal(t, flags, func() map[string]float64 {
				out := map[string]float64{}
				for k, v := range series(t, fams, "conninfo_connections") {
					out[strings.TrimPrefix(k, "type_flags=")] = v
				}
				return out
			}())
			var usageRead float64
			for k, v := range series(t, fams, "conninfo_connection_bytes") {
				if strings.Contains(k, "direction=read") {
					usageRead += v
				}
			}
			assert.Equal(t, bytesRead, usageRead, "the lines' READ, by usage")
			assert.Equal(t, float64(len(circs)), series(t, fams, "tor_relay_circuits_total")["state=opened"])
			tr, err := strconv.ParseFloat(r.get(t, "traffic/read"), 64)
			require.NoError(t, err)
			assert.Equal(t, tr, series(t, fams, "tor_relay_traffic_bytes")["direction=read"])
			var lines float64
			for _, v := range flags {
				lines += v
			}
			assert.Equal(t, lines, series(t, fams, "conninfo_connection_age_seconds")[""], "the histogram counts every connection line")
		})
	}
}

// No label says more than a class: every label value is one of a closed
// set, or a TYPE_FLAGS class; in the public tier every byte count is a
// multiple of the granularity and every age of the epoch.
func TestMetricsSayOnlyClasses(t *testing.T) {
	r := newRelay(t, scrub.Public(nil), 500)
	fams, err := r.reg.Gather()
	require.NoError(t, err)
	allowed := map[string]*regexp.Regexp{
		"type":       regexp.MustCompile(`^(OR|Exit|Directory|Control)$`),
		"direction":  regexp.MustCompile(`^(initiated|received|read|written)$`),
		"state":      regexp.MustCompile(`^(opened|created)$`),
		"family":     regexp.MustCompile(`^(ipv4|ipv6|unknown)$`),
		"type_flags": regexp.MustCompile(`^[IiOo][CRXHD][Tt]$`),
		"usage":      regexp.MustCompile(`^(client|relay|control|hidden-service|directory)$`),
		"detector":   regexp.MustCompile(`^[a-z-]+$`),
		"severity":   regexp.MustCompile(`^(info|warning|critical)$`),
	}
	g := float64(scrub.Public(nil).Granularity())
	for _, f := range fams {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				re, ok := allowed[l.GetName()]
				require.True(t, ok, "%s has a label %q", f.GetName(), l.GetName())
				assert.Regexp(t, re, l.GetValue(), "%s{%s}", f.GetName(), l.GetName())
			}
		}
		switch f.GetName() {
		case "conninfo_connection_bytes", "tor_relay_traffic_bytes":
			for _, m := range f.GetMetric() {
				v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
				assert.Zero(t, int64(v)%int64(g), "%s: %v is not a multiple of %v", f.GetName(), v, g)
			}
		case "conninfo_connection_age_seconds":
			sum := f.GetMetric()[0].GetHistogram().GetSampleSum()
			assert.Zero(t, int64(sum)%10, "ages of whole epochs: %v", sum)
		}
	}
	// Within an epoch a scrape says the same, however often.
	r.clk.Advance(3 * time.Second)
	again, err := r.reg.Gather()
	require.NoError(t, err)
	assert.Equal(t, series(t, fams, "tor_relay_connections"), series(t, again, "tor_relay_connections"))
}

// promtool, from Debian's prometheus, finds nothing wrong with the
// exposition but the two names kept from C tor for its dashboards.
func TestPromtoolChecksTheExposition(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian's package prometheus); .ci/run installs it")
	}
	r := newRelay(t, scrub.Public(nil), 200)
	srv := httptest.NewServer(promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(string(body))
	out, _ := cmd.CombinedOutput()
	var problems []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" {
			problems = append(problems, l)
		}
	}
	sort.Strings(problems)
	assert.Equal(t, []string{
		`tor_relay_circuits_total non-counter metrics should not have "_total" suffix`,
		`tor_relay_traffic_bytes counter metrics should have "_total" suffix`,
	}, problems, "promtool:\n%s", out)
}

// tor_relay_connections_total counts every connection opened, closed
// ones too, by family, in the unscrubbed tier only: the scrubbing tiers
// export none, since it counts connections no reply of theirs shows.
func TestConnectionsCreated(t *testing.T) {
	f := connstatetest.BusyRelay(11, 300)
	for _, tt := range []struct {
		policy  scrub.Policy
		exports bool
	}{{scrub.Public(f.Relays()), false}, {scrub.TestNetwork(), false}, {scrub.Unscrubbed(), true}} {
		t.Run(tt.policy.Tier().String(), func(t *testing.T) {
			r := newRelay(t, tt.policy, 300)
			fams, err := r.reg.Gather()
			require.NoError(t, err)
			created := series(t, fams, "tor_relay_connections_total")
			if !tt.exports {
				assert.Empty(t, created)
				return
			}
			var sum float64
			for k, v := range created {
				sum += v
				assert.Contains(t, k, "state=created")
			}
			assert.Equal(t, float64(len(f.Conns)), sum, "every connection the fixture opened, closed ones too")
			assert.True(t, slices.ContainsFunc(slices.Collect(maps.Keys(created)), func(k string) bool { return strings.Contains(k, "family=ipv6") }))
			assert.True(t, slices.ContainsFunc(slices.Collect(maps.Keys(created)), func(k string) bool { return strings.Contains(k, "family=ipv4") }))
		})
	}
}

// A scrape in the public tier is answered as a question asked then is:
// at an instant whose timer has not yet run, from the last view, so that
// when a scraper asks cannot tell it more than a GETINFO does.
func TestScrapeNeverTakesAView(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch()) // on the grid
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	open := func() {
		_, err := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay,
			Network: connstate.NetworkTor, Remote: netip.MustParseAddrPort("203.0.113.7:50000"), Established: true})
		require.NoError(t, err)
	}
	open()
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.Public(nil)}
	col, err := metrics.New(metrics.Config{Conns: conns})
	require.NoError(t, err)
	pr := prometheus.NewRegistry()
	require.NoError(t, pr.Register(col))
	opened := func() float64 {
		fams, err := pr.Gather()
		require.NoError(t, err)
		var n float64
		for _, v := range series(t, fams, "tor_relay_connections") {
			n += v
		}
		return n
	}
	require.Equal(t, 1.0, opened())
	open()
	clk.Set(connstatetest.Epoch().Add(scrub.Public(nil).EpochLength() + time.Millisecond)) // past the instant; the timer has not run
	assert.Equal(t, 1.0, opened(), "the last view, while the timer is due")
	clk.Advance(time.Nanosecond) // the timer runs
	assert.Equal(t, 2.0, opened(), "then the new one")
}

// A findings line that is not one, or names a detector that is not
// UTF-8, is left out; the scrape goes on.
func TestFindingsNotReadAreLeftOut(t *testing.T) {
	conns := &getinfo.Conns{Source: connstate.NewRegistry(), Policy: scrub.Unscrubbed()}
	col, err := metrics.New(metrics.Config{Conns: conns, Findings: func() []string {
		return []string{"asymmetric warning - 7 one way", "not a finding", "asym\xffmetric warning - - bad"}
	}})
	require.NoError(t, err)
	pr := prometheus.NewRegistry()
	require.NoError(t, pr.Register(col))
	fams, err := pr.Gather()
	require.NoError(t, err, "the scrape goes on")
	assert.Equal(t, map[string]float64{"detector=asymmetric,severity=warning": 1}, series(t, fams, "conninfo_audit_findings"))
}
