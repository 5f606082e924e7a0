package connstate_test

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
)

// stressConn is a connection held by the stress test, with the bytes the
// test added to it while it was open: what the registry's totals must hold.
type stressConn struct {
	c       *connstate.Conn
	relay   bool // rate limited, usage relay: counts in Totals.Relay*
	traffic bool // rate limited (a public address): counts in Totals.Traffic*

	// Adders hold mu for reading while they add, the closer for writing
	// while it closes, so that every byte counted here was added before
	// the close, and every byte added after it is known not to count.
	mu     sync.RWMutex
	closed bool

	read, written atomic.Uint64
}

// stressTotals are the bytes the workers added, as the registry should count them.
type stressTotals struct {
	relayRead, relayWritten, trafficRead, trafficWritten atomic.Uint64
}

func (s *stressTotals) load() connstate.Totals {
	return connstate.Totals{
		RelayRead: s.relayRead.Load(), RelayWritten: s.relayWritten.Load(),
		TrafficRead: s.trafficRead.Load(), TrafficWritten: s.trafficWritten.Load(),
	}
}

// add adds bytes to the connection, and counts them unless it is closed.
func (s *stressConn) add(tot *stressTotals, r, w uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.c.AddRead(r)
	s.c.AddWritten(w)
	if s.closed {
		return // a documented no-op: counted nowhere
	}
	s.read.Add(r)
	s.written.Add(w)
	if s.relay {
		tot.relayRead.Add(r)
		tot.relayWritten.Add(w)
	}
	if s.traffic {
		tot.trafficRead.Add(r)
		tot.trafficWritten.Add(w)
	}
}

func (s *stressConn) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return s.c.Close()
}

// stressPool is what the workers share.
type stressPool struct {
	mu    sync.Mutex
	base  []*stressConn // opened before the run, never closed: enough lines for EntryParts to split
	conns []*stressConn // opened during the run, still open: the churners close them
	circs []*connstate.Circuit
	legs  []*connstate.Leg // a ring of recently bound legs
	next  int              // where the ring is written next
	all   []*stressConn    // every connection ever opened
}

const stressLegRing = 2048

func (p *stressPool) addLeg(l *connstate.Leg) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.legs) < stressLegRing {
		p.legs = append(p.legs, l)
		return
	}
	p.legs[p.next] = l
	p.next = (p.next + 1) % stressLegRing
}

// anyConn returns a random held connection, open or recently closed.
func (p *stressPool) anyConn(rng *rand.Rand) *stressConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.conns) > 0 && rng.IntN(2) == 0 {
		return p.conns[rng.IntN(len(p.conns))]
	}
	return p.base[rng.IntN(len(p.base))]
}

// sample copies up to n random connections and legs.
func (p *stressPool) sample(rng *rand.Rand, n int) ([]*stressConn, []*connstate.Leg) {
	p.mu.Lock()
	defer p.mu.Unlock()
	conns := make([]*stressConn, 0, n)
	legs := make([]*connstate.Leg, 0, n)
	for range n {
		if len(p.conns) > 0 && rng.IntN(2) == 0 {
			conns = append(conns, p.conns[rng.IntN(len(p.conns))])
		} else {
			conns = append(conns, p.base[rng.IntN(len(p.base))])
		}
		if len(p.legs) > 0 {
			legs = append(legs, p.legs[rng.IntN(len(p.legs))])
		}
	}
	return conns, legs
}

// stressConfig draws a connection's configuration.
func stressConfig(rng *rand.Rand) (cfg connstate.ConnConfig, relay, traffic bool) {
	cfg = connstate.ConnConfig{
		Direction:   connstate.Direction(1 + rng.IntN(2)),
		Usage:       connstate.Usage(1 + rng.IntN(5)),
		Network:     connstate.Network(1 + rng.IntN(2)),
		Established: rng.IntN(2) == 0,
		LocalPort:   uint16(rng.IntN(65536)),
	}
	if cfg.Network == connstate.NetworkTor && rng.IntN(2) == 0 {
		cfg.Fingerprint = fpA
	}
	public := false // loopback and unknown addresses are not rate limited, so not counted
	switch rng.IntN(5) {
	case 0:
		cfg.Remote, public = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 51, 100, byte(rng.IntN(256))}), uint16(rng.IntN(65536))), true
	case 1:
		cfg.Remote, public = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(rng.IntN(256))}), uint16(rng.IntN(65536))), true
	case 2:
		cfg.Remote = netip.MustParseAddrPort("127.0.0.1:9051")
	case 3:
		cfg.Remote = netip.MustParseAddrPort("[::ffff:127.0.0.2]:9051")
	}
	return cfg, public && cfg.Usage == connstate.UsageRelay, public
}

type stressKey struct{ circ, conn uint64 }

// stressCheckSnapshot checks one snapshot: sorted by (CircID, ConnID) with no
// duplicate, every leg's connection with its own line, valid fields,
// uptimes within the clock's reach, and no counter below its value in
// prev, the same goroutine's previous snapshot. It fills cur with this
// snapshot's counters.
func stressCheckSnapshot(snap []connstate.Entry, prev, cur map[stressKey][2]uint64, maxUptime uint64) error {
	clear(cur)
	conns := 0 // snap[:conns] are the connections' own lines, sorted by ConnID
	for i := range snap {
		e := &snap[i]
		if i > 0 {
			p := &snap[i-1]
			if c := cmp.Or(cmp.Compare(p.CircID, e.CircID), cmp.Compare(p.ConnID, e.ConnID)); c >= 0 {
				return fmt.Errorf("line %d/%d after %d/%d: not sorted, or a duplicate", e.CircID, e.ConnID, p.CircID, p.ConnID)
			}
		}
		if e.ConnID == 0 || !e.Flags.Valid() {
			return fmt.Errorf("line %d/%d: connection ID 0 or invalid flags %v", e.CircID, e.ConnID, e.Flags)
		}
		if e.Uptime > maxUptime {
			return fmt.Errorf("line %d/%d: uptime %d s beyond the clock's %d s", e.CircID, e.ConnID, e.Uptime, maxUptime)
		}
		if e.CircID == 0 {
			conns = i + 1
		} else if !stressHasConnLine(snap[:conns], e.ConnID) {
			return fmt.Errorf("leg line %d/%d without its connection's own line", e.CircID, e.ConnID)
		}
		k := stressKey{e.CircID, e.ConnID}
		if old, ok := prev[k]; ok && (e.Read < old[0] || e.Written < old[1]) {
			return fmt.Errorf("line %d/%d: counters went back from %v to [%d %d]", e.CircID, e.ConnID, old, e.Read, e.Written)
		}
		cur[k] = [2]uint64{e.Read, e.Written}
	}
	return nil
}

func stressHasConnLine(conns []connstate.Entry, id uint64) bool {
	lo, hi := 0, len(conns)
	for lo < hi {
		mid := (lo + hi) / 2
		switch {
		case conns[mid].ConnID == id:
			return true
		case conns[mid].ConnID < id:
			lo = mid + 1
		default:
			hi = mid
		}
	}
	return false
}

// TestStress runs counting, churn and every kind of snapshot together for
// 10 s (1 s with -short), checking each snapshot as it is taken, then
// that the totals hold exactly the bytes added before each close. Run it
// with -race; goleak (main_test.go) checks that nothing is left running.
func TestStress(t *testing.T) {
	d := 10 * time.Second
	if testing.Short() {
		d = time.Second
	}
	st := newStress(t)
	st.adders(3)
	st.churners(2)
	st.clock()
	st.snapshotReaders()
	st.lookups()
	st.totals(2)

	time.Sleep(d)
	close(st.stop)
	st.wg.Wait()
	require.False(t, t.Failed())
	t.Logf("%d snapshots checked, %d of them in several parts; %d connections opened", st.snapshots.Load(), st.multipart.Load(), len(st.pool.all))
	assert.Positive(t, st.multipart.Load(), "EntryParts never split the snapshot")
	st.checkEnd()
}

// stress is one run of TestStress: the registry, what the workers share,
// and the workers' goroutines.
type stress struct {
	t         *testing.T
	reg       *connstate.Registry
	clk       *connstatetest.Clock
	pool      *stressPool
	tot       stressTotals
	stop      chan struct{}
	wg        sync.WaitGroup
	multipart atomic.Int64 // EntryParts calls that made two parts or more
	snapshots atomic.Int64
}

// A base of lines large enough for EntryParts to make several parts.
const stressBaseConns, stressBaseCircs = 5000, 1000

func newStress(t *testing.T) *stress {
	reg, clk := newRegistry(t)
	st := &stress{t: t, reg: reg, clk: clk, pool: &stressPool{}, stop: make(chan struct{})}
	setup := rand.New(rand.NewPCG(1, 1))
	for range stressBaseConns {
		cfg, relay, traffic := stressConfig(setup)
		c, err := reg.Open(cfg)
		require.NoError(t, err)
		s := &stressConn{c: c, relay: relay, traffic: traffic}
		st.pool.base = append(st.pool.base, s)
		st.pool.all = append(st.pool.all, s)
	}
	for i := range stressBaseCircs {
		circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
		require.NoError(t, err)
		in, err := circ.BindInbound(st.pool.base[2*i].c)
		require.NoError(t, err)
		out, err := circ.BindOutbound(st.pool.base[2*i+1].c)
		require.NoError(t, err)
		st.pool.legs = append(st.pool.legs, in, out)
	}
	require.Greater(t, len(reg.AppendEntries(nil)), 2*connstate.MinPart)
	return st
}

func (st *stress) maxUptime() uint64 {
	return uint64(st.clk.Now().Sub(connstatetest.Epoch()) / time.Second)
}

func (st *stress) stopped() bool {
	select {
	case <-st.stop:
		return true
	default:
		return false
	}
}

// each runs f in a loop on its own goroutine until the end, or until it
// returns an error, reported once.
func (st *stress) each(name string, seed uint64, f func(rng *rand.Rand) error) {
	st.wg.Go(func() {
		rng := rand.New(rand.NewPCG(seed, 2))
		for !st.stopped() {
			if err := f(rng); err != nil {
				st.t.Errorf("%s: %v", name, err)
				return
			}
		}
	})
}

// adders count bytes on held connections and legs, a batch at a time.
func (st *stress) adders(n int) {
	for i := range n {
		st.each("adder", uint64(10+i), func(rng *rand.Rand) error {
			conns, legs := st.pool.sample(rng, 16)
			defer runtime.Gosched()
			for range 16 {
				for _, s := range conns {
					s.add(&st.tot, uint64(rng.IntN(1500)), uint64(rng.IntN(1500)))
				}
				for _, l := range legs {
					l.AddRead(uint64(rng.IntN(512)))
					l.AddWritten(uint64(rng.IntN(512)))
				}
			}
			return nil
		})
	}
}

// churners open and close connections and circuits, bind legs, and change
// flags.
func (st *stress) churners(n int) {
	reg, pool := st.reg, st.pool
	for i := range n {
		st.each("churner", uint64(20+i), func(rng *rand.Rand) error {
			switch op := rng.IntN(12); {
			case op < 3:
				pool.mu.Lock()
				full := len(pool.conns) >= 400
				pool.mu.Unlock()
				if full {
					return stressCloseConn(pool, rng)
				}
				cfg, relay, traffic := stressConfig(rng)
				c, err := reg.Open(cfg)
				if err != nil {
					return err
				}
				s := &stressConn{c: c, relay: relay, traffic: traffic}
				pool.mu.Lock()
				pool.conns = append(pool.conns, s)
				pool.all = append(pool.all, s)
				pool.mu.Unlock()
			case op < 5:
				return stressCloseConn(pool, rng)
			case op < 6:
				pool.mu.Lock()
				full := len(pool.circs) >= 200
				pool.mu.Unlock()
				if full {
					return stressCloseCirc(pool, rng)
				}
				circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
				if err != nil {
					return err
				}
				pool.mu.Lock()
				pool.circs = append(pool.circs, circ)
				pool.mu.Unlock()
			case op < 7:
				return stressCloseCirc(pool, rng)
			case op < 10:
				pool.mu.Lock()
				var circ *connstate.Circuit
				if len(pool.circs) > 0 {
					circ = pool.circs[rng.IntN(len(pool.circs))]
				}
				pool.mu.Unlock()
				if circ == nil {
					return nil
				}
				s := pool.anyConn(rng)
				bind := []func(*connstate.Conn) (*connstate.Leg, error){circ.BindInbound, circ.BindOutbound, circ.BindExit}[rng.IntN(3)]
				l, err := bind(s.c)
				switch {
				case err == nil:
					pool.addLeg(l)
				case !errors.Is(err, connstate.ErrLegBound) && !errors.Is(err, connstate.ErrClosed):
					return fmt.Errorf("bind: %w", err)
				}
			default:
				s := pool.anyConn(rng)
				var err error
				switch rng.IntN(3) {
				case 0:
					err = s.c.MarkEstablished()
				case 1:
					err = s.c.SetFingerprint(fpB)
				case 2:
					err = s.c.SetNotRelay()
				}
				if err != nil && !errors.Is(err, connstate.ErrClosed) {
					return err
				}
			}
			return nil
		})
	}

}

// clock moves the fake clock on.
func (st *stress) clock() {
	st.each("clock", 30, func(rng *rand.Rand) error {
		st.clk.Advance(time.Duration(rng.IntN(100)) * time.Millisecond)
		time.Sleep(time.Millisecond)
		return nil
	})
}

// snapshotReader takes snapshots in a loop with take, each checked against
// the same goroutine's previous one.
func (st *stress) snapshotReader(name string, seed uint64, take func(rng *rand.Rand, buf []connstate.Entry) ([]connstate.Entry, error)) {
	prev, cur := map[stressKey][2]uint64{}, map[stressKey][2]uint64{}
	var buf []connstate.Entry
	st.each(name, seed, func(rng *rand.Rand) error {
		var err error
		buf, err = take(rng, buf[:0])
		if err != nil {
			return err
		}
		if err := stressCheckSnapshot(buf, prev, cur, st.maxUptime()); err != nil {
			return err
		}
		prev, cur = cur, prev
		st.snapshots.Add(1)
		return nil
	})
}

// snapshotReaders read conn/all's entries through every snapshot path.
func (st *stress) snapshotReaders() {
	reg := st.reg
	st.snapshotReader("Entries", 40, func(_ *rand.Rand, buf []connstate.Entry) ([]connstate.Entry, error) {
		for e := range reg.Entries() {
			buf = append(buf, *e)
		}
		return buf, nil
	})
	st.snapshotReader("AppendEntries", 41, func(_ *rand.Rand, buf []connstate.Entry) ([]connstate.Entry, error) {
		return reg.AppendEntries(buf), nil
	})
	for i := range 2 {
		st.snapshotReader("EntryParts", uint64(42+i), func(rng *rand.Rand, buf []connstate.Entry) ([]connstate.Entry, error) {
			n := 1 + rng.IntN(8)
			if rng.IntN(8) == 0 {
				// A part may be left early, ranged twice, or never: the
				// scratch space is given back at release.
				parts, release := reg.EntryParts(n)
				for _, part := range parts {
					for range part {
						break
					}
				}
				for range parts[0] {
				}
				release()
			}
			parts, release := reg.EntryParts(n)
			defer release()
			if len(parts) < 1 || len(parts) > n {
				return nil, fmt.Errorf("EntryParts(%d) made %d parts", n, len(parts))
			}
			if len(parts) > 1 {
				st.multipart.Add(1)
			}
			got := make([][]connstate.Entry, len(parts))
			var pwg sync.WaitGroup
			for j, part := range parts {
				pwg.Go(func() { got[j] = stressCollect(part) })
			}
			pwg.Wait()
			for _, g := range got {
				buf = append(buf, g...)
			}
			return buf, nil
		})
	}
}

// lookups check single lines: a found line is at least what was added
// before it, and never goes back; a missing one belongs to a closed
// connection or circuit.
func (st *stress) lookups() {
	reg, pool := st.reg, st.pool
	seen := map[stressKey][2]uint64{}
	st.each("LookupEntry", 50, func(rng *rand.Rand) error {
		conns, legs := pool.sample(rng, 8)
		for _, s := range conns {
			read, written := s.read.Load(), s.written.Load()
			e, ok := reg.LookupEntry(0, s.c.ID())
			if err := stressCheckLookup(seen, e, ok, 0, s.c.ID(), read, written, s.c.Closed()); err != nil {
				return err
			}
		}
		for _, l := range legs {
			read, written := l.Read(), l.Written()
			e, ok := reg.LookupEntry(l.Circuit().ID(), l.Conn().ID())
			gone := l.Circuit().Closed() || l.Conn().Closed()
			if err := stressCheckLookup(seen, e, ok, l.Circuit().ID(), l.Conn().ID(), read, written, gone); err != nil {
				return err
			}
		}
		return nil
	})

}

// totals checks, on n goroutines at once, that Totals never goes down and
// holds at least every byte counted before; with several, closes meet more
// than one walk.
func (st *stress) totals(n int) {
	for i := range n {
		var lastTotals connstate.Totals
		st.each("Totals", uint64(60+i), func(_ *rand.Rand) error {
			counted := st.tot.load()
			got := st.reg.Totals()
			for _, f := range []struct {
				name               string
				got, counted, last uint64
			}{
				{"RelayRead", got.RelayRead, counted.RelayRead, lastTotals.RelayRead},
				{"RelayWritten", got.RelayWritten, counted.RelayWritten, lastTotals.RelayWritten},
				{"TrafficRead", got.TrafficRead, counted.TrafficRead, lastTotals.TrafficRead},
				{"TrafficWritten", got.TrafficWritten, counted.TrafficWritten, lastTotals.TrafficWritten},
			} {
				if f.got < f.counted || f.got < f.last {
					return fmt.Errorf("%s %d: below the %d counted before, or the %d of the previous call", f.name, f.got, f.counted, f.last)
				}
			}
			lastTotals = got
			time.Sleep(100 * time.Microsecond)
			return nil
		})
	}

}

// checkEnd checks the registry once every worker has stopped: the totals
// hold exactly the bytes added while each connection was open, open
// connections show exactly their bytes, and closed ones do not show.
func (st *stress) checkEnd() {
	t, reg, pool := st.t, st.reg, st.pool
	// The totals hold exactly the bytes added while each connection was open.
	var want connstate.Totals
	openConns := 0
	for _, s := range pool.all {
		if s.relay {
			want.RelayRead += s.read.Load()
			want.RelayWritten += s.written.Load()
		}
		if s.traffic {
			want.TrafficRead += s.read.Load()
			want.TrafficWritten += s.written.Load()
		}
		if !s.closed {
			openConns++
		}
	}
	assert.Equal(t, want, reg.Totals())
	assert.Equal(t, st.tot.load(), want)

	// Open connections show exactly the bytes added; closed ones do not show.
	conns, circs := reg.Counts()
	assert.Equal(t, openConns, conns)
	assert.Equal(t, len(pool.circs)+stressBaseCircs, circs)
	byID := map[uint64]connstate.Entry{}
	final := reg.AppendEntries(nil)
	require.NoError(t, stressCheckSnapshot(final, nil, map[stressKey][2]uint64{}, st.maxUptime()))
	for _, e := range final {
		if e.CircID == 0 {
			byID[e.ConnID] = e
		}
	}
	assert.Len(t, byID, openConns)
	for _, s := range pool.all {
		e, ok := byID[s.c.ID()]
		if assert.Equal(t, !s.closed, ok, "connection %d", s.c.ID()) && ok {
			assert.Equal(t, [2]uint64{s.read.Load(), s.written.Load()}, [2]uint64{e.Read, e.Written}, "connection %d", s.c.ID())
		}
	}
}

func stressCollect(seq iter.Seq[*connstate.Entry]) []connstate.Entry {
	var out []connstate.Entry
	for e := range seq {
		out = append(out, *e)
	}
	return out
}

// stressCheckLookup checks what LookupEntry(circ, conn) returned: a found line
// is that line, with counters at least read and written (loaded before the
// lookup) and at least those of the previous lookup; a line is missing
// only if gone (its connection or circuit closed).
func stressCheckLookup(seen map[stressKey][2]uint64, e connstate.Entry, ok bool, circ, conn, read, written uint64, gone bool) error {
	k := stressKey{circ, conn}
	if !ok {
		if !gone {
			return fmt.Errorf("LookupEntry(%d, %d): no line, but the connection and circuit are open", circ, conn)
		}
		delete(seen, k)
		return nil
	}
	switch {
	case e.CircID != circ || e.ConnID != conn:
		return fmt.Errorf("LookupEntry(%d, %d) gave line %d/%d", circ, conn, e.CircID, e.ConnID)
	case e.Read < read || e.Written < written:
		return fmt.Errorf("LookupEntry(%d, %d): [%d %d] below the [%d %d] added before", circ, conn, e.Read, e.Written, read, written)
	case !e.Flags.Valid():
		return fmt.Errorf("LookupEntry(%d, %d): invalid flags %v", circ, conn, e.Flags)
	}
	if old, found := seen[k]; found && (e.Read < old[0] || e.Written < old[1]) {
		return fmt.Errorf("LookupEntry(%d, %d): counters went back from %v to [%d %d]", circ, conn, old, e.Read, e.Written)
	}
	seen[k] = [2]uint64{e.Read, e.Written}
	return nil
}

// stressCloseConn closes a random connection opened during the run.
func stressCloseConn(pool *stressPool, rng *rand.Rand) error {
	pool.mu.Lock()
	if len(pool.conns) == 0 {
		pool.mu.Unlock()
		return nil
	}
	i := rng.IntN(len(pool.conns))
	s := pool.conns[i]
	pool.conns[i] = pool.conns[len(pool.conns)-1]
	pool.conns = pool.conns[:len(pool.conns)-1]
	pool.mu.Unlock()
	return s.close()
}

// stressCloseCirc closes a random circuit opened during the run.
func stressCloseCirc(pool *stressPool, rng *rand.Rand) error {
	pool.mu.Lock()
	if len(pool.circs) == 0 {
		pool.mu.Unlock()
		return nil
	}
	i := rng.IntN(len(pool.circs))
	c := pool.circs[i]
	pool.circs[i] = pool.circs[len(pool.circs)-1]
	pool.circs = pool.circs[:len(pool.circs)-1]
	pool.mu.Unlock()
	return c.Close()
}
