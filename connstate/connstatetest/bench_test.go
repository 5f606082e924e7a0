package connstatetest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/conninfo/conninfo/connstate/connstatetest"
)

// BenchmarkLoadWideCircuit loads a fixture of 20,000 exit connections, all
// legs of one circuit: parse and build (target: at most 100 ms).
func BenchmarkLoadWideCircuit(b *testing.B) {
	var sb strings.Builder
	const n = 20_000
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "conn %d ORt remote=203.0.113.10:443 lport=%d read=10 written=10 age=5\n", i, 1024+i)
	}
	sb.WriteString("circ 1\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "leg 1 exit %d read=1 written=1\n", i)
	}
	text := sb.String()
	b.ReportAllocs()
	for b.Loop() {
		reg, _, err := connstatetest.Load(strings.NewReader(text))
		if err != nil {
			b.Fatal(err)
		}
		if conns, _ := reg.Counts(); conns != n {
			b.Fatalf("%d connections loaded, want %d", conns, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/load")
}
