package connstate_test

import (
	"iter"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
)

var (
	fpA = mustFP("9695DFC35FFEB861329B9F1AB04C46397020CE31")
	fpB = mustFP("847B1F850344D7876491A54892F904934E4EB85D")
)

func mustFP(s string) connstate.Fingerprint {
	fp, err := connstate.ParseFingerprint(s)
	if err != nil {
		panic(err)
	}
	return fp
}

func newRegistry(t *testing.T) (*connstate.Registry, *connstatetest.Clock) {
	t.Helper()
	clk := connstatetest.NewClock(connstatetest.Epoch())
	return connstate.NewRegistry(connstate.WithClock(clk)), clk
}

func relayOut(remote string) connstate.ConnConfig {
	return connstate.ConnConfig{
		Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor,
		Fingerprint: fpA, Remote: netip.MustParseAddrPort(remote), LocalPort: 51622,
	}
}

func clientIn(remote string) connstate.ConnConfig {
	return connstate.ConnConfig{
		Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort(remote), LocalPort: 9001, Established: true,
	}
}

func TestOpenValidates(t *testing.T) {
	reg, _ := newRegistry(t)
	good := relayOut("128.31.0.34:9101")
	tests := []struct {
		name string
		edit func(*connstate.ConnConfig)
	}{
		{"zero direction", func(c *connstate.ConnConfig) { c.Direction = 0 }},
		{"bad direction", func(c *connstate.ConnConfig) { c.Direction = 9 }},
		{"zero usage", func(c *connstate.ConnConfig) { c.Usage = 0 }},
		{"bad usage", func(c *connstate.ConnConfig) { c.Usage = 6 }},
		{"zero network", func(c *connstate.ConnConfig) { c.Network = 0 }},
		{"fingerprint outside Tor", func(c *connstate.ConnConfig) { c.Network = connstate.NetworkOutside }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			c, err := reg.Open(cfg)
			assert.ErrorIs(t, err, connstate.ErrInvalid)
			assert.Nil(t, c)
		})
	}
	n, _ := reg.Counts()
	assert.Zero(t, n, "failed opens register nothing")
}

func TestIDsIncreaseAndReplay(t *testing.T) {
	reg, _ := newRegistry(t)
	a, err := reg.Open(relayOut("128.31.0.34:9101"))
	require.NoError(t, err)
	assert.Equal(t, uint64(1), a.ID())
	require.NoError(t, a.Close())
	b, err := reg.Open(relayOut("128.31.0.34:9101"))
	require.NoError(t, err)
	assert.Equal(t, uint64(2), b.ID(), "IDs are never reused")

	cfg := relayOut("128.31.0.34:9101")
	cfg.ID = 17
	c, err := reg.Open(cfg)
	require.NoError(t, err)
	assert.Equal(t, uint64(17), c.ID())
	cfg.ID = 17
	_, err = reg.Open(cfg)
	assert.ErrorIs(t, err, connstate.ErrIDOrder)
	cfg.ID = 3
	_, err = reg.Open(cfg)
	assert.ErrorIs(t, err, connstate.ErrIDOrder, "an ID below one issued would break the order")
	for _, id := range []uint64{connstate.MaxExplicitID + 1, 1<<64 - 1} {
		cfg.ID = id
		_, err = reg.Open(cfg)
		assert.ErrorIs(t, err, connstate.ErrInvalid, "ID %d would leave too few IDs to issue", id)
		_, err = reg.OpenCircuit(connstate.CircuitConfig{ID: id})
		assert.ErrorIs(t, err, connstate.ErrInvalid, "circuit ID %d", id)
	}
	cfg.ID = connstate.MaxExplicitID
	_, err = reg.Open(cfg)
	require.NoError(t, err)
	cfg.ID = 0
	next, err := reg.Open(cfg)
	require.NoError(t, err, "the largest explicit ID still leaves IDs to issue")
	assert.Equal(t, uint64(connstate.MaxExplicitID+1), next.ID())

	circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), circ.ID())
	_, err = reg.OpenCircuit(connstate.CircuitConfig{ID: 1})
	assert.ErrorIs(t, err, connstate.ErrIDOrder)
}

func TestRemoteIsNormalised(t *testing.T) {
	reg, _ := newRegistry(t)
	cfg := clientIn("[::ffff:192.0.2.1]:443")
	c, err := reg.Open(cfg)
	require.NoError(t, err)
	assert.Equal(t, netip.MustParseAddrPort("192.0.2.1:443"), c.Remote())

	cfg.Remote = netip.MustParseAddrPort("[fe80::1%eth0]:443")
	c, err = reg.Open(cfg)
	require.NoError(t, err)
	assert.Equal(t, netip.MustParseAddrPort("[fe80::1]:443"), c.Remote(), "a zone could hold any byte; it is dropped")
}

func TestMisuseIsAnErrorNeverAPanic(t *testing.T) {
	reg, _ := newRegistry(t)
	other, _ := newRegistry(t)
	conn, err := reg.Open(relayOut("128.31.0.34:9101"))
	require.NoError(t, err)
	foreign, err := other.Open(relayOut("128.31.0.34:9101"))
	require.NoError(t, err)
	circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)

	_, err = circ.BindInbound(foreign)
	assert.ErrorIs(t, err, connstate.ErrForeign)
	_, err = circ.BindInbound(nil)
	assert.ErrorIs(t, err, connstate.ErrNil)

	_, err = circ.BindInbound(conn)
	require.NoError(t, err)
	_, err = circ.BindOutbound(conn)
	assert.ErrorIs(t, err, connstate.ErrLegBound, "one connection once per circuit")
	second, err := reg.Open(relayOut("86.59.21.38:443"))
	require.NoError(t, err)
	_, err = circ.BindInbound(second)
	assert.ErrorIs(t, err, connstate.ErrLegBound, "a second inbound leg")
	_, err = circ.BindOutbound(second)
	require.NoError(t, err)
	third, err := reg.Open(relayOut("86.59.21.39:443"))
	require.NoError(t, err)
	_, err = circ.BindOutbound(third)
	assert.ErrorIs(t, err, connstate.ErrLegBound, "a second outbound leg")

	require.NoError(t, third.Close())
	assert.ErrorIs(t, third.Close(), connstate.ErrClosed)
	_, err = circ.BindExit(third)
	assert.ErrorIs(t, err, connstate.ErrClosed, "binding a closed connection")
	assert.ErrorIs(t, third.MarkEstablished(), connstate.ErrClosed)
	assert.ErrorIs(t, third.SetFingerprint(fpB), connstate.ErrClosed)
	assert.ErrorIs(t, third.SetNotRelay(), connstate.ErrClosed)
	assert.ErrorIs(t, conn.SetFingerprint(connstate.Fingerprint{}), connstate.ErrInvalid)

	require.NoError(t, circ.Close())
	assert.ErrorIs(t, circ.Close(), connstate.ErrClosed)
	_, err = circ.BindExit(second)
	assert.ErrorIs(t, err, connstate.ErrClosed)

	var nc *connstate.Conn
	var ncirc *connstate.Circuit
	var nl *connstate.Leg
	assert.NotPanics(t, func() {
		nc.AddRead(1)
		nc.AddWritten(1)
		nl.AddRead(1)
		nl.AddWritten(1)
		assert.ErrorIs(t, nc.Close(), connstate.ErrNil)
		assert.ErrorIs(t, nc.MarkEstablished(), connstate.ErrNil)
		assert.ErrorIs(t, ncirc.Close(), connstate.ErrNil)
		_, err := ncirc.BindExit(conn)
		assert.ErrorIs(t, err, connstate.ErrNil)
		assert.Zero(t, nc.ID()+nc.Read()+nc.Written()+nl.Read()+nl.Written()+ncirc.ID())
		assert.True(t, nc.Closed())
		assert.True(t, ncirc.Closed())
		assert.Nil(t, nl.Conn())
	})
	_, err = circ.Bind(conn, 0)
	assert.ErrorIs(t, err, connstate.ErrInvalid, "a zero role")
	_, err = circ.Bind(conn, connstate.RoleExit+1)
	assert.ErrorIs(t, err, connstate.ErrInvalid, "an unnamed role")
}

// Values that no Registry made, a nil *Registry included, answer errors
// and empty results: nothing dereferences a nil pointer.
func TestZeroValuesAreErrorsNotPanics(t *testing.T) {
	reg, _ := newRegistry(t)
	live, err := reg.Open(relayOut("128.31.0.34:9101"))
	require.NoError(t, err)
	liveCirc, err := reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)

	for name, r := range map[string]*connstate.Registry{"nil": nil, "zero": new(connstate.Registry)} {
		t.Run(name+" Registry", func(t *testing.T) {
			require.NotPanics(t, func() {
				c, err := r.Open(relayOut("128.31.0.34:9101"))
				assert.ErrorIs(t, err, connstate.ErrNil)
				assert.Nil(t, c)
				circ, err := r.OpenCircuit(connstate.CircuitConfig{})
				assert.ErrorIs(t, err, connstate.ErrNil)
				assert.Nil(t, circ)
				assert.Zero(t, r.Totals())
				n, m := r.Counts()
				assert.Zero(t, n+m)
				assert.Empty(t, r.AppendEntries(nil))
				for range r.Entries() {
					t.Error("an entry from an empty registry")
				}
				parts, release := r.EntryParts(4)
				for _, p := range parts {
					for range p {
						t.Error("an entry from an empty registry's part")
					}
				}
				release()
				_, ok := r.LookupEntry(0, 1)
				assert.False(t, ok)
			})
		})
	}
	t.Run("zero Conn", func(t *testing.T) {
		var c connstate.Conn
		require.NotPanics(t, func() {
			c.AddRead(1)
			c.AddWritten(1)
			assert.ErrorIs(t, c.MarkEstablished(), connstate.ErrNil)
			assert.ErrorIs(t, c.SetFingerprint(fpA), connstate.ErrNil)
			assert.ErrorIs(t, c.SetNotRelay(), connstate.ErrNil)
			assert.ErrorIs(t, c.Close(), connstate.ErrNil)
			assert.True(t, c.Closed(), "no registry holds it")
			assert.Zero(t, c.Flags())
			_, err := liveCirc.BindExit(&c)
			assert.ErrorIs(t, err, connstate.ErrNil)
		})
	})
	t.Run("zero Circuit", func(t *testing.T) {
		var c connstate.Circuit
		require.NotPanics(t, func() {
			_, err := c.BindInbound(live)
			assert.ErrorIs(t, err, connstate.ErrNil)
			assert.ErrorIs(t, c.Close(), connstate.ErrNil)
			assert.True(t, c.Closed())
		})
	})
	t.Run("zero Leg", func(t *testing.T) {
		var l connstate.Leg
		require.NotPanics(t, func() {
			l.AddRead(1)
			l.AddWritten(1)
			assert.Nil(t, l.Conn())
			assert.Nil(t, l.Circuit())
			assert.Zero(t, l.Role())
		})
	})
	n, _ := reg.Counts()
	assert.Equal(t, 1, n, "the real registry is untouched")
}

// EntryParts' parts may be ranged twice, left early, or ranged after
// release, without disturbing each other or the snapshots after them.
func TestEntryPartsMisuse(t *testing.T) {
	reg, _, err := connstatetest.BusyRelay(1, 2000).Build()
	require.NoError(t, err)
	want := reg.AppendEntries(nil)
	require.Greater(t, len(want), 3*connstate.MinPart, "enough lines for several parts")
	collect := func(parts []iter.Seq[*connstate.Entry]) []connstate.Entry {
		var got []connstate.Entry
		for _, p := range parts {
			for e := range p {
				got = append(got, *e)
			}
		}
		return got
	}

	parts, release := reg.EntryParts(3)
	require.Len(t, parts, 3)
	var first []connstate.Entry
	for e := range parts[0] {
		first = append(first, *e)
	}
	var again []connstate.Entry
	for e := range parts[0] {
		again = append(again, *e)
	}
	assert.Equal(t, first, again, "a part ranged twice yields its lines twice")
	for range parts[1] {
		break
	}
	assert.Equal(t, want, collect(parts), "after a part ranged twice and one left early")

	// A second snapshot while the first is held, and one after it is released.
	other, releaseOther := reg.EntryParts(2)
	assert.Equal(t, want, collect(other))
	release()
	release() // twice is harmless
	for _, p := range parts {
		for range p {
			t.Fatal("a released part yields nothing")
		}
	}
	assert.Equal(t, want, collect(other), "releasing one snapshot leaves another alone")
	releaseOther()

	later, releaseLater := reg.EntryParts(3)
	defer releaseLater()
	assert.Equal(t, want, collect(later), "the next snapshot, on the scratch space given back")
	for range parts[2] {
		t.Fatal("a released part stays empty when its scratch serves a new snapshot")
	}
}

func TestSnapshotOrderAndLegs(t *testing.T) {
	reg, clk := newRegistry(t)
	guard, err := reg.Open(relayOut("128.31.0.34:9101"))
	require.NoError(t, err)
	client, err := reg.Open(clientIn("198.51.100.7:50000"))
	require.NoError(t, err)
	exit, err := reg.Open(connstate.ConnConfig{
		Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("203.0.113.9:443"), LocalPort: 40000,
	})
	require.NoError(t, err)

	c1, err := reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	c2, err := reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	// Bind out of ID order: the snapshot is still sorted by connection ID.
	out, err := c2.BindOutbound(guard)
	require.NoError(t, err)
	in2, err := c2.BindInbound(client)
	require.NoError(t, err)
	ex, err := c1.BindExit(exit)
	require.NoError(t, err)
	in1, err := c1.BindInbound(client)
	require.NoError(t, err)

	guard.AddRead(100)
	guard.AddWritten(200)
	out.AddRead(10)
	in2.AddWritten(20)
	ex.AddRead(3)
	in1.AddRead(4)
	clk.Advance(90 * time.Second)
	require.NoError(t, exit.MarkEstablished())
	clk.Advance(10 * time.Second)

	got := reg.AppendEntries(nil)
	type key struct{ circ, conn uint64 }
	var keys []key
	for _, e := range got {
		keys = append(keys, key{e.CircID, e.ConnID})
	}
	assert.Equal(t, []key{{0, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3}, {2, 1}, {2, 2}}, keys)

	assert.Equal(t, connstate.Entry{
		ConnID: 1, Fingerprint: fpA, Remote: netip.MustParseAddrPort("128.31.0.34:9101"), LocalPort: 51622,
		Flags: connstate.Flags{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor},
		Read:  100, Written: 200, Uptime: 100,
	}, got[0], "an unestablished connection's uptime counts from the attempt")
	assert.Equal(t, uint64(10), got[2].Uptime, "an established connection's uptime counts from establishment")
	assert.True(t, got[2].Flags.Established)
	assert.Equal(t, uint64(10), got[5].Read, "a leg line carries the circuit's bytes")
	assert.Equal(t, uint64(20), got[6].Written)

	e, ok := reg.LookupEntry(2, 1)
	require.True(t, ok)
	assert.Equal(t, got[5], e)
	e, ok = reg.LookupEntry(0, 3)
	require.True(t, ok)
	assert.Equal(t, got[2], e)
	for _, k := range []key{{0, 4}, {3, 1}, {1, 1}, {0, 0}} {
		_, ok := reg.LookupEntry(k.circ, k.conn)
		assert.False(t, ok, "lookup %v", k)
	}

	// Closing a connection hides its line and its legs; closing a circuit hides its legs.
	require.NoError(t, exit.Close())
	require.NoError(t, c2.Close())
	keys = keys[:0]
	for _, e := range reg.AppendEntries(got[:0]) {
		keys = append(keys, key{e.CircID, e.ConnID})
	}
	assert.Equal(t, []key{{0, 1}, {0, 2}, {1, 2}}, keys)
	_, ok = reg.LookupEntry(1, 3)
	assert.False(t, ok)
}

func TestFingerprintLifecycle(t *testing.T) {
	reg, _ := newRegistry(t)
	cfg := clientIn("193.23.244.244:443")
	c, err := reg.Open(cfg)
	require.NoError(t, err)
	assert.Equal(t, "IRt", c.Flags().String())

	require.NoError(t, c.SetFingerprint(fpB))
	assert.Equal(t, "IRT", c.Flags().String())
	assert.Equal(t, fpB, c.Fingerprint())

	require.NoError(t, c.SetNotRelay())
	assert.Equal(t, "IRt", c.Flags().String())
	assert.True(t, c.Fingerprint().IsZero())
}

func TestTotalsKeepClosedBytes(t *testing.T) {
	reg, _ := newRegistry(t)
	relay, err := reg.Open(relayOut("128.31.0.34:9101"))
	require.NoError(t, err)
	loop, err := reg.Open(clientIn("127.0.0.1:5000"))
	require.NoError(t, err)
	ctl, err := reg.Open(connstate.ConnConfig{
		Direction: connstate.Inbound, Usage: connstate.UsageControl, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("192.0.2.1:4000"), Established: true,
	})
	require.NoError(t, err)
	dir, err := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageDirectory, Network: connstate.NetworkOutside})
	require.NoError(t, err)

	relay.AddRead(1000)
	relay.AddWritten(2000)
	loop.AddRead(30)
	loop.AddWritten(40)
	ctl.AddRead(5)
	ctl.AddWritten(6)
	dir.AddRead(7)
	dir.AddWritten(8)
	want := connstate.Totals{RelayRead: 1030, RelayWritten: 2040, TrafficRead: 1007, TrafficWritten: 2008}
	assert.Equal(t, want, reg.Totals())

	for _, c := range []*connstate.Conn{relay, loop, ctl, dir} {
		require.NoError(t, c.Close())
	}
	assert.Equal(t, want, reg.Totals(), "nothing is lost when connections close")
	relay.AddRead(1 << 20)
	assert.Equal(t, want, reg.Totals(), "bytes after close are not counted")
	assert.Empty(t, reg.AppendEntries(nil))
}

func TestCounterAddsDoNotAllocate(t *testing.T) {
	reg, _ := newRegistry(t)
	c, err := reg.Open(relayOut("128.31.0.34:9101"))
	require.NoError(t, err)
	circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	leg, err := circ.BindOutbound(c)
	require.NoError(t, err)
	allocs := testing.AllocsPerRun(1000, func() {
		c.AddRead(514)
		c.AddWritten(514)
		leg.AddRead(509)
		leg.AddWritten(509)
	})
	assert.Zero(t, allocs)
}

func TestWarmSnapshotDoesNotAllocate(t *testing.T) {
	f := connstatetest.BusyRelay(1, 2000)
	reg, _, err := f.Build()
	require.NoError(t, err)
	buf := reg.AppendEntries(nil)
	require.Greater(t, len(buf), 8000)
	allocs := testing.AllocsPerRun(20, func() {
		buf = reg.AppendEntries(buf[:0])
	})
	assert.Zero(t, allocs)
}

// TestConcurrentUse runs counting, churn and snapshots together, checking
// that snapshots stay sorted and counters never go back; run it with -race.
func TestConcurrentUse(t *testing.T) {
	reg, clk := newRegistry(t)
	const workers, rounds = 4, 300
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		prev := map[[2]uint64][2]uint64{}
		var snap []connstate.Entry
		for {
			select {
			case <-stop:
				return
			default:
			}
			snap = reg.AppendEntries(snap[:0])
			for i, e := range snap {
				if i > 0 {
					p := snap[i-1]
					if p.CircID > e.CircID || p.CircID == e.CircID && p.ConnID >= e.ConnID {
						t.Errorf("snapshot out of order: %d/%d after %d/%d", e.CircID, e.ConnID, p.CircID, p.ConnID)
						return
					}
				}
				k := [2]uint64{e.CircID, e.ConnID}
				if old, ok := prev[k]; ok && (e.Read < old[0] || e.Written < old[1]) {
					t.Errorf("counter went back on %v", k)
					return
				}
				prev[k] = [2]uint64{e.Read, e.Written}
			}
		}
	}()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				c, err := reg.Open(relayOut("128.31.0.34:9101"))
				if !assert.NoError(t, err) {
					return
				}
				circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
				if !assert.NoError(t, err) {
					return
				}
				leg, err := circ.BindInbound(c)
				if !assert.NoError(t, err) {
					return
				}
				c.AddRead(uint64(i))
				leg.AddWritten(uint64(w + 1))
				assert.NoError(t, c.SetNotRelay())
				assert.NoError(t, c.SetFingerprint(fpB))
				clk.Advance(time.Millisecond)
				if i%2 == 0 {
					assert.NoError(t, circ.Close())
					assert.NoError(t, c.Close())
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-readerDone

	conns, circs := reg.Counts()
	assert.Equal(t, workers*rounds/2, conns)
	assert.Equal(t, workers*rounds/2, circs)
	assert.Len(t, reg.AppendEntries(nil), conns+circs)
	var sum uint64
	for i := range rounds {
		sum += uint64(i)
	}
	assert.Equal(t, workers*sum, reg.Totals().RelayRead, "open plus closed bytes")
}
