package format_test

import (
	"net/netip"
	"testing"

	"github.com/conninfo/conninfo/connstate/connstatetest"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/scrub"
)

// BenchmarkScrubFormatEntry scrubs and formats one entry line, as conn/all
// does for each of its lines (target: at most 50 ns, 0 allocations).
func BenchmarkScrubFormatEntry(b *testing.B) {
	entries := map[string]connstate.Entry{
		"relay-v4": {ConnID: 17, CircID: 1041, Fingerprint: moria1, Remote: netip.MustParseAddrPort("128.31.0.34:9101"), LocalPort: 51622,
			Flags: flags("ORT"), Read: 1048576, Written: 524288, Uptime: 3600},
		"relay-v6": {ConnID: 4711, CircID: 88123, Fingerprint: moria1, Remote: netip.MustParseAddrPort("[2001:858:2:2:aabb:0:563b:1526]:443"), LocalPort: 51622,
			Flags: flags("ORT"), Read: 981234567, Written: 12345678, Uptime: 86399},
		"client": {ConnID: 23, CircID: 1041, Remote: netip.MustParseAddrPort("198.51.100.7:50312"), LocalPort: 9001,
			Flags: flags("IRt"), Read: 3072, Written: 1024, Uptime: 42},
	}
	policy := scrub.TestNetwork()
	for name, e := range entries {
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				shown := e
				policy.Scrub(&shown)
				buf = format.AppendEntry(buf[:0], &shown)
			}
		})
	}
}

// BenchmarkScrubFormatBusy scrubs and formats every line of the busy
// fixture, 100,000 entries of its real mix; ns/line is the cost of one.
func BenchmarkScrubFormatBusy(b *testing.B) {
	reg, _, err := connstatetest.BusyRelay(1, 20000).Build()
	if err != nil {
		b.Fatal(err)
	}
	entries := reg.AppendEntries(nil)
	work := make([]connstate.Entry, len(entries))
	policy := scrub.TestNetwork()
	buf := make([]byte, 0, 16<<20)
	b.ReportAllocs()
	var elapsed int64
	for b.Loop() {
		b.StopTimer()
		copy(work, entries) // scrubbing is in place
		b.StartTimer()
		buf = buf[:0]
		for i := range work {
			policy.Scrub(&work[i])
			buf = format.AppendEntry(buf, &work[i])
			buf = append(buf, '\n')
		}
	}
	elapsed = b.Elapsed().Nanoseconds()
	b.ReportMetric(float64(elapsed)/float64(b.N)/float64(len(entries)), "ns/line")
}

// BenchmarkParseBusy parses (AppendParsed) every line of the busy fixture's conn/all in
// the test-network tier; ns/line is the cost of one.
func BenchmarkParseBusy(b *testing.B) {
	reg, _, err := connstatetest.BusyRelay(1, 4000).Build()
	if err != nil {
		b.Fatal(err)
	}
	policy := scrub.TestNetwork()
	var lines [][]byte
	for e := range reg.Entries() {
		shown := *e
		policy.Scrub(&shown)
		lines = append(lines, format.AppendEntry(nil, &shown))
	}
	entries := make([]connstate.Entry, 0, len(lines))
	b.ReportAllocs()
	for b.Loop() {
		entries = entries[:0]
		for _, l := range lines {
			if entries, err = format.AppendParsed(entries, l); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(lines)), "ns/line")
}
