package metrics_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/scrub"
)

// exported returns the series names the collector exports: every
// description's (those with no series now too), a histogram's _bucket,
// _sum and _count by its gathering, and Prometheus's up.
func exported(t *testing.T) map[string]bool {
	r := newRelay(t, scrub.Public(nil), 300)
	names := map[string]bool{"up": true}
	descs := make(chan *prometheus.Desc, 64)
	r.col.Describe(descs)
	close(descs)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		m := fqName.FindStringSubmatch(d.String())
		require.NotNil(t, m, d.String())
		names[m[1]] = true
	}
	fams, err := r.reg.Gather()
	require.NoError(t, err)
	for _, f := range fams {
		require.True(t, names[f.GetName()], "%s gathered, not described", f.GetName())
		if f.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				names[f.GetName()+s] = true
			}
		}
	}
	require.True(t, names["conninfo_audit_findings"])
	return names
}

// strings returns every string in a JSON document under the keys given.
func stringsUnder(v any, keys map[string]bool, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && keys[k] {
				*out = append(*out, s)
			}
			stringsUnder(x, keys, out)
		}
	case []any:
		for _, x := range v {
			stringsUnder(x, keys, out)
		}
	}
}

// Every query of the dashboard names only metrics the collector exports
// (an identifier before '{', and every tor_ or conninfo_ name anywhere).
func TestDashboardNamesOnlyExportedMetrics(t *testing.T) {
	names := exported(t)
	b, err := os.ReadFile("dashboards/conninfo-relays.json")
	require.NoError(t, err)
	var doc any
	require.NoError(t, json.Unmarshal(b, &doc), "the dashboard is JSON")
	var queries []string
	stringsUnder(doc, map[string]bool{"expr": true, "query": true}, &queries)
	require.GreaterOrEqual(t, len(queries), 7, "a query a panel, and the instance variable's")
	selector := regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)
	ours := regexp.MustCompile(`\b(?:tor|conninfo)_[a-zA-Z0-9_]+`)
	for _, q := range queries {
		if q == "prometheus" {
			continue // the datasource variable's type
		}
		found := 0
		for _, m := range selector.FindAllStringSubmatch(q, -1) {
			found++
			assert.True(t, names[m[1]], "%q names %s, which the collector does not export", q, m[1])
		}
		for _, m := range ours.FindAllString(q, -1) {
			assert.True(t, names[m], "%q names %s, which the collector does not export", q, m)
		}
		assert.Positive(t, found, "%q selects no metric", q)
	}
}

// The example configuration is one promtool accepts.
func TestExamplePrometheusConfig(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool is not installed (Debian's package prometheus); .ci/run installs it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, promtool, "check", "config", "dashboards/prometheus.yml").CombinedOutput()
	assert.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "SUCCESS")
}
