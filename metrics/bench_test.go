package metrics_test

import (
	"runtime"
	"testing"
	"time"

	"github.com/conninfo/conninfo/scrub"
)

// BenchmarkScrape gathers the metrics of a relay with 100,000
// connections, in the public tier, each round a new epoch (so that the
// collector adds up the view's lines every time; the view itself is the
// Conns', taken at the epoch's instant for every controller, outside the
// timing) and in the test-network tier, live. Target: 10 ms.
func BenchmarkScrape(b *testing.B) {
	for _, policy := range []scrub.Policy{scrub.Public(nil), scrub.TestNetwork()} {
		b.Run(policy.Tier().String(), func(b *testing.B) {
			r := newRelayAudited(b, policy, 100000, false) // the audit's own cost is audit's
			runtime.GC()
			public := policy.Tier() == scrub.TierPublic
			b.ReportAllocs()
			for b.Loop() {
				if public {
					b.StopTimer()
					r.clk.Advance(10 * time.Second)
					r.conns.Show(true) // the epoch's view, as its timer takes it
					runtime.GC()       // its garbage, not the scrape's
					b.StartTimer()
				}
				if _, err := r.reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/scrape")
		})
	}
}
