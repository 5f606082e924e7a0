package getinfo_test

import (
	"io"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// BenchmarkConnAll answers GETINFO conn/all over the busy fixture's 100,000
// entries, end to end into io.Discard, in each way it can be served:
//
//   - testnet: live, as every conn/all was before the tiers: snapshot,
//     scrub, format and streaming into the reply (target: at most 5 ms
//     on the shuffled heap, allocations not growing with the entry count
//     once warm);
//   - testnet-shuffled: the same on the fixture built by BuildShuffled,
//     whose objects lie spread over the heap as a live relay's do;
//   - public: within an epoch, the answer every controller gets: the
//     epoch's reply, encoded once when its view was taken;
//   - public-new-epoch: each answer in an epoch of its own, so that each
//     pays for taking the view: what the timer does once an epoch, and
//     never more than a live answer costs.
func BenchmarkConnAll(b *testing.B) {
	for _, conns := range []int{2000, 20000} {
		fx := connstatetest.BusyRelay(1, conns)
		for _, tier := range []string{"testnet", "testnet-shuffled", "public", "public-new-epoch"} {
			build := fx.Build
			if tier == "testnet-shuffled" {
				if conns < 20000 {
					continue
				}
				build = func() (*connstate.Registry, *connstatetest.Clock, error) { return fx.BuildShuffled(1) }
			}
			reg, clk, err := build()
			if err != nil {
				b.Fatal(err)
			}
			policy := scrub.Public(fx.Relays())
			if strings.HasPrefix(tier, "testnet") {
				policy = scrub.TestNetwork()
			}
			m := getinfo.NewMux()
			(&getinfo.Conns{Source: reg, Policy: policy}).Register(m)
			keys := []string{"conn/all"}
			entries := len(reg.AppendEntries(nil))
			b.Run(map[int]string{2000: "10k", 20000: "100k"}[conns]+"/"+tier, func(b *testing.B) {
				var rw getinfo.ReplyWriter                            // one per connection, as controlport keeps
				if err := rw.Write(io.Discard, m, keys); err != nil { // warm: buffers grown
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if tier == "public-new-epoch" {
						clk.Advance(scrub.DefaultEpoch) // the timer takes the next view
					}
					if err := rw.Write(io.Discard, m, keys); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(entries), "entries")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(entries), "ns/entry")
			})
		}
	}
}

// BenchmarkOpenCloseDuringReadTotal opens and closes a connection while a
// goroutine answers relay/read-total in a loop over 100,000 connections,
// as a controller polling it would. p99-us is the 99th percentile of one
// open and close in microseconds (target: at most 50).
func BenchmarkOpenCloseDuringReadTotal(b *testing.B) {
	reg := connstate.NewRegistry()
	cfg := connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside, Established: true}
	for i := range 100_000 {
		cfg.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 443)
		c, err := reg.Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		c.AddRead(uint64(i))
	}
	m := getinfo.NewMux()
	(&getinfo.Conns{Totals: reg.Totals, Policy: scrub.TestNetwork()}).Register(m) // live: every answer walks
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var answers atomic.Int64
	wg.Go(func() {
		var buf []byte
		for {
			select {
			case <-stop:
				return
			default:
			}
			var err error
			if buf, err = m.Answer(buf[:0], "relay/read-total"); err != nil {
				b.Error(err)
				return
			}
			answers.Add(1)
		}
	})
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		c, err := reg.Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-us")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-us")
	b.ReportMetric(float64(answers.Load()), "answers")
}
