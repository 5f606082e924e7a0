package metrics_test

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/metrics"
	"github.com/conninfo/conninfo/scrub"
)

// A host mounts the collector on a registry of its own (and serves it
// with promhttp.HandlerFor on its MetricsPort).
func Example() {
	reg := connstate.NewRegistry()
	for _, remote := range []string{"198.51.100.7:50000", "[2001:db8::7]:50001"} {
		c, err := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageClient,
			Network: connstate.NetworkOutside, Remote: netip.MustParseAddrPort(remote), Established: true})
		if err != nil {
			panic(err)
		}
		c.AddRead(4096)
	}
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.TestNetwork()}
	collector, err := metrics.New(metrics.Config{Conns: conns})
	if err != nil {
		panic(err)
	}
	registry := prometheus.NewRegistry()
	registry.MustRegister(collector)

	const want = `
# HELP tor_relay_connections Connections open now, by type (OR, Exit, Directory, Control), direction (initiated, received) and the address family the tier shows (ipv4, ipv6, unknown): C tor's name.
# TYPE tor_relay_connections gauge
tor_relay_connections{direction="received",family="unknown",state="opened",type="OR"} 2
`
	// The test-network tier shows no client's address: its family too is
	// unknown.
	err = testutil.GatherAndCompare(registry, strings.NewReader(want), "tor_relay_connections")
	fmt.Println(err)
	// Output: <nil>
}
