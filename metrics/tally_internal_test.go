package metrics

import (
	"testing"

	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// BenchmarkTally adds up the public-tier view of a relay with 100,000
// connections: the part of a scrape that is the collector's.
func BenchmarkTally(b *testing.B) {
	f := connstatetest.BusyRelay(11, 100000)
	reg, _, err := f.Build()
	if err != nil {
		b.Fatal(err)
	}
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.Public(f.Relays())}
	c, err := New(Config{Conns: conns})
	if err != nil {
		b.Fatal(err)
	}
	shown := conns.Show(true)
	b.ReportAllocs()
	for b.Loop() {
		c.epoch = -1
		c.tally(shown)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/tally")
}
