package getinfo_test

import (
	"io"
	"testing"

	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
)

// BenchmarkConnAll answers GETINFO conn/all over the busy fixture's 100,000
// entries, end to end: snapshot, order, scrub, format and reply encoding
// into io.Discard (target: at most 10 ms, allocations not growing with the
// entry count once warm).
func BenchmarkConnAll(b *testing.B) {
	for _, conns := range []int{2000, 20000} {
		reg, _, err := connstatetest.BusyRelay(1, conns).Build()
		if err != nil {
			b.Fatal(err)
		}
		m := getinfo.NewMux()
		(&getinfo.Conns{Source: reg}).Register(m)
		keys := []string{"conn/all"}
		entries := len(reg.AppendEntries(nil))
		b.Run(map[int]string{2000: "10k", 20000: "100k"}[conns], func(b *testing.B) {
			var rw getinfo.ReplyWriter                            // one per connection, as controlport keeps
			if err := rw.Write(io.Discard, m, keys); err != nil { // warm: buffers grown
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := rw.Write(io.Discard, m, keys); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(entries), "entries")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(entries), "ns/entry")
		})
	}
}
