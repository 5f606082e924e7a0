package connstate_test

import (
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strconv"
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

// interleave runs bare and real alternately in chunks, so that both see
// the same noise, and returns real's time over bare's.
func interleave(bare, real func(n int)) float64 {
	const rounds, chunk = 40, 1 << 14
	var tb, tr time.Duration
	for range rounds {
		t0 := time.Now()
		bare(chunk)
		tb += time.Since(t0)
		t0 = time.Now()
		real(chunk)
		tr += time.Since(t0)
	}
	return float64(tr) / float64(tb)
}

// BenchmarkConnAddRead is the hot path: one atomic add on a held *Conn.
// x-atomic is its cost over a bare atomic.Uint64.Add in the same run
// (target: at most 1.2).
func BenchmarkConnAddRead(b *testing.B) {
	reg := connstate.NewRegistry()
	c, err := reg.Open(relayOut("128.31.0.34:9101"))
	if err != nil {
		b.Fatal(err)
	}
	var bare atomic.Uint64
	b.ReportAllocs()
	for b.Loop() {
		c.AddRead(514)
	}
	b.ReportMetric(interleave(
		func(n int) {
			for range n {
				bare.Add(514)
			}
		},
		func(n int) {
			for range n {
				c.AddRead(514)
			}
		}), "x-atomic")
}

// BenchmarkLegAddWritten is the hot path of a circuit's cell counter.
func BenchmarkLegAddWritten(b *testing.B) {
	reg := connstate.NewRegistry()
	c, err := reg.Open(relayOut("128.31.0.34:9101"))
	if err != nil {
		b.Fatal(err)
	}
	circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
	if err != nil {
		b.Fatal(err)
	}
	leg, err := circ.BindOutbound(c)
	if err != nil {
		b.Fatal(err)
	}
	var bare atomic.Uint64
	b.ReportAllocs()
	for b.Loop() {
		leg.AddWritten(514)
	}
	b.ReportMetric(interleave(
		func(n int) {
			for range n {
				bare.Add(514)
			}
		},
		func(n int) {
			for range n {
				leg.AddWritten(514)
			}
		}), "x-atomic")
}

// BenchmarkParallelAdd counts on distinct connections from every P at
// once, connections opened one after another so that they sit side by side
// in memory. speedup is the parallel throughput over one goroutine's (target
// at GOMAXPROCS=2: at least 1.7, which false sharing would prevent), with
// load1, the machine's load it ran under; cpu-efficiency is the CPU time
// of an add alone over that of an add in parallel, which another
// process's load does not change (target: at least 0.85; false sharing
// brings it far lower).
func BenchmarkParallelAdd(b *testing.B) {
	reg := connstate.NewRegistry()
	p := runtime.GOMAXPROCS(0)
	conns := make([]*connstate.Conn, p)
	circ, _ := reg.OpenCircuit(connstate.CircuitConfig{})
	legs := make([]*connstate.Leg, p)
	for i := range conns {
		c, err := reg.Open(relayOut("128.31.0.34:9101"))
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		if i < 2 {
			if i == 0 {
				legs[i], _ = circ.BindInbound(c)
			} else {
				legs[i], _ = circ.BindOutbound(c)
			}
		}
	}
	var next atomic.Int32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		c := conns[int(next.Add(1)-1)%p]
		for pb.Next() {
			c.AddRead(514)
		}
	})
	b.StopTimer()
	const ops = 1 << 24
	run := func(g int, add func(i int)) time.Duration {
		var wg sync.WaitGroup
		start := time.Now()
		for i := range g {
			wg.Go(func() {
				for range ops {
					add(i)
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	// The wall-clock speedup needs the other CPUs free; the CPU time per
	// add does not: false sharing makes each add cost more CPU whatever
	// else runs, so cpu-efficiency (one goroutine's CPU per add over the
	// parallel run's, 1 at best) is what load cannot hide. load1 says what
	// the speedup ran under.
	measure := func(add func(i int)) (speedup, efficiency float64) {
		cpu0, ok := processCPU()
		one := run(1, add)
		cpu1, _ := processCPU()
		all := run(p, add)
		cpu2, _ := processCPU()
		speedup = (float64(p*ops) / all.Seconds()) / (float64(ops) / one.Seconds())
		if ok && cpu2 > cpu1 {
			efficiency = (float64(cpu1-cpu0) / ops) / (float64(cpu2-cpu1) / float64(p*ops))
		}
		return speedup, efficiency
	}
	if load, ok := loadAverage(); ok {
		b.ReportMetric(load, "load1")
	}
	speedup, efficiency := measure(func(i int) { conns[i].AddRead(514) })
	b.ReportMetric(speedup, "speedup")
	if efficiency > 0 {
		b.ReportMetric(efficiency, "cpu-efficiency")
	}
	if p <= 2 {
		speedup, efficiency := measure(func(i int) { legs[i].AddRead(514) })
		b.ReportMetric(speedup, "speedup-legs")
		if efficiency > 0 {
			b.ReportMetric(efficiency, "cpu-efficiency-legs")
		}
	}
}

// loadAverage returns the machine's load over the last minute, where
// /proc tells it.
func loadAverage() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	load, err := strconv.ParseFloat(f[0], 64)
	return load, err == nil
}

// BenchmarkSnapshot lists the busy fixture's 100,000 entries: 20,000
// connections and two legs for each of their 40,000 circuits.
func BenchmarkSnapshot(b *testing.B) {
	fx := connstatetest.BusyRelay(1, 20000)
	for _, heap := range []string{"ordered", "shuffled"} {
		build := fx.Build
		if heap == "shuffled" {
			build = func() (*connstate.Registry, *connstatetest.Clock, error) { return fx.BuildShuffled(1) }
		}
		reg, _, err := build()
		if err != nil {
			b.Fatal(err)
		}
		b.Run(heap, func(b *testing.B) {
			buf := reg.AppendEntries(nil)
			b.ReportAllocs()
			for b.Loop() {
				buf = reg.AppendEntries(buf[:0])
			}
			b.ReportMetric(float64(len(buf)), "entries")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(buf)), "ns/entry")
		})
	}
}

// BenchmarkChurnDuringSnapshot opens and closes a connection, and binds and
// closes a circuit, while another goroutine lists 100,000 entries in a
// loop. p99-us is the 99th percentile of one open-bind-close round in
// microseconds (target: at most 1000).
func BenchmarkChurnDuringSnapshot(b *testing.B) {
	reg, _, err := connstatetest.BusyRelay(1, 20000).Build()
	if err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var snapshots atomic.Int64
	wg.Go(func() {
		var buf []connstate.Entry
		for {
			select {
			case <-stop:
				return
			default:
			}
			buf = reg.AppendEntries(buf[:0])
			snapshots.Add(1)
		}
	})
	cfg := relayOut("128.31.0.34:9101")
	var lat []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		c, err := reg.Open(cfg)
		if err != nil {
			b.Fatal(err)
		}
		circ, _ := reg.OpenCircuit(connstate.CircuitConfig{})
		if _, err := circ.BindInbound(c); err != nil {
			b.Fatal(err)
		}
		circ.Close()
		c.Close()
		lat = append(lat, time.Since(t0))
	}
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-us")
	b.ReportMetric(float64(lat[len(lat)-1].Nanoseconds())/1e3, "max-us")
	b.ReportMetric(float64(snapshots.Load()), "snapshots")
}

// BenchmarkMemory opens 1,000,000 connections with fingerprints and a
// circuit with two legs for every two of them, and reports the heap they
// take (targets: at most 256 bytes per connection, 128 per leg); then it
// answers their conn/all of 2,000,000 lines twice, live, through one
// controller's ReplyWriter, and reports what the second reply allocated
// and what stayed on the heap after it (target: at most a 256 KiB chunk
// and a constant per formatting worker, whatever the reply's size, and
// at most 1 MiB kept by the controller's writer).
func BenchmarkMemory(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		var before, mid, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		reg := connstate.NewRegistry()
		conns := make([]*connstate.Conn, n)
		cfg := relayOut("128.31.0.34:9101")
		for i := range conns {
			cfg.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 443)
			c, err := reg.Open(cfg)
			if err != nil {
				b.Fatal(err)
			}
			conns[i] = c
		}
		runtime.GC()
		runtime.ReadMemStats(&mid)
		for i := 0; i < n; i += 2 {
			circ, _ := reg.OpenCircuit(connstate.CircuitConfig{})
			circ.BindInbound(conns[i])
			circ.BindOutbound(conns[i+1])
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		// The conns slice is the benchmark's, not the registry's.
		perConn := float64(mid.HeapAlloc-before.HeapAlloc-uint64(n*8)) / n
		perLeg := float64(after.HeapAlloc-mid.HeapAlloc) / n
		b.ReportMetric(perConn, "B/conn")
		b.ReportMetric(perLeg, "B/leg")

		m := getinfo.NewMux()
		(&getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}).Register(m)
		var rw getinfo.ReplyWriter
		var sent countingWriter
		var cold, warm, replied runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&cold)
		if err := rw.Write(&sent, m, []string{"conn/all"}); err != nil { // the first: the snapshot's scratch space grows
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&warm)
		if err := rw.Write(&sent, m, []string{"conn/all"}); err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&replied)
		allocated := replied.TotalAlloc - warm.TotalAlloc
		runtime.GC()
		runtime.ReadMemStats(&replied)
		b.ReportMetric(float64(sent.n/2), "reply-bytes")
		b.ReportMetric(float64(allocated), "B-alloc/reply")
		b.ReportMetric(float64(int64(replied.HeapAlloc)-int64(warm.HeapAlloc)), "B-kept/reply")
		// The registry keeps the snapshot's scratch (the pointers of the
		// lines, copied under its lock) for the next one: per line, not
		// per reply.
		b.ReportMetric(float64(int64(warm.HeapAlloc)-int64(cold.HeapAlloc))/float64(2*n), "B-scratch/line")
		runtime.KeepAlive(&rw)
		runtime.KeepAlive(conns)
		runtime.KeepAlive(reg)
	}
}

// countingWriter counts what is written to it.
type countingWriter struct{ n int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// BenchmarkBindExitLegs binds 16,000 exit streams to one circuit, as an
// exit's long-lived circuit collects them. ms-total is the time of all the
// binds (target: at most 50), max-bind-us the slowest one.
func BenchmarkBindExitLegs(b *testing.B) {
	const n = 16_000
	for b.Loop() {
		b.StopTimer()
		reg := connstate.NewRegistry()
		conns := make([]*connstate.Conn, n)
		for i := range conns {
			c, err := reg.Open(relayOut("128.31.0.34:9101"))
			if err != nil {
				b.Fatal(err)
			}
			conns[i] = c
		}
		circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var worst time.Duration
		start := time.Now()
		for _, c := range conns {
			t0 := time.Now()
			if _, err := circ.BindExit(c); err != nil {
				b.Fatal(err)
			}
			worst = max(worst, time.Since(t0))
		}
		b.ReportMetric(float64(time.Since(start).Nanoseconds())/1e6, "ms-total")
		b.ReportMetric(float64(worst.Nanoseconds())/1e3, "max-bind-us")
	}
}
