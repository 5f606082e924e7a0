package connstate_test

import (
	"fmt"
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

// TestTotalsFollowTorsRateLimit checks which connections the totals count,
// as tor's connection_is_rate_limited decides, with and without
// CountPrivate, and that closing keeps their bytes.
func TestTotalsFollowTorsRateLimit(t *testing.T) {
	type conn struct {
		cfg            connstate.ConnConfig
		read, written  uint64
		counted, relay bool // counted by default; in the relay totals when counted
		countedPrivate bool // counted with CountPrivate
	}
	in := func(u connstate.Usage, remote string) connstate.ConnConfig {
		cfg := connstate.ConnConfig{Direction: connstate.Inbound, Usage: u, Network: connstate.NetworkOutside, Established: true}
		if remote != "" {
			cfg.Remote = netip.MustParseAddrPort(remote)
		}
		return cfg
	}
	unix := in(connstate.UsageControl, "")
	unix.Unix = true
	conns := []conn{
		{cfg: relayOut("128.31.0.34:9101"), read: 1000, written: 2000, counted: true, relay: true, countedPrivate: true},
		{cfg: in(connstate.UsageRelay, "127.0.0.1:5000"), read: 30, written: 40, relay: true, countedPrivate: true},
		{cfg: in(connstate.UsageRelay, "10.1.2.3:5000"), read: 50, written: 60, relay: true, countedPrivate: true},
		{cfg: in(connstate.UsageRelay, "[::ffff:192.168.1.1]:5000"), read: 70, written: 80, relay: true, countedPrivate: true},
		{cfg: in(connstate.UsageControl, "192.0.2.1:4000"), read: 5, written: 6, counted: true, countedPrivate: true},
		{cfg: in(connstate.UsageControl, "127.0.0.1:4000"), read: 9, written: 10, countedPrivate: true},
		{cfg: in(connstate.UsageDirectory, ""), read: 7, written: 8, countedPrivate: true}, // no address: never public
		{cfg: unix, read: 11, written: 12},
		{cfg: in(connstate.UsageClient, "[2001:db8::1]:443"), read: 100, written: 200, counted: true, countedPrivate: true},
	}
	for _, private := range []bool{false, true} {
		t.Run(fmt.Sprintf("CountPrivate=%v", private), func(t *testing.T) {
			var opts []connstate.Option
			if private {
				opts = append(opts, connstate.CountPrivate())
			}
			reg := connstate.NewRegistry(opts...)
			var want connstate.Totals
			var handles []*connstate.Conn
			for _, c := range conns {
				h, err := reg.Open(c.cfg)
				require.NoError(t, err)
				h.AddRead(c.read)
				h.AddWritten(c.written)
				handles = append(handles, h)
				if counted := c.counted || private && c.countedPrivate; counted {
					want.TrafficRead += c.read
					want.TrafficWritten += c.written
					if c.relay {
						want.RelayRead += c.read
						want.RelayWritten += c.written
					}
				}
			}
			assert.Equal(t, want, reg.Totals())
			for _, h := range handles {
				require.NoError(t, h.Close())
			}
			assert.Equal(t, want, reg.Totals(), "nothing is lost when connections close")
			handles[0].AddRead(1 << 20)
			assert.Equal(t, want, reg.Totals(), "bytes after close are not counted")
			assert.Empty(t, reg.AppendEntries(nil))
		})
	}
}

func TestInternalIsTorsRule(t *testing.T) {
	for addr, internal := range map[string]bool{
		"0.0.0.0": true, "0.1.2.3": true, "10.0.0.1": true, "100.64.0.1": true, "100.127.255.255": true,
		"100.128.0.1": false, "127.0.0.1": true, "169.254.1.1": true, "172.16.0.1": true, "172.31.255.255": true,
		"172.32.0.1": false, "192.168.0.1": true, "192.169.0.1": false, "198.18.0.1": false, "8.8.8.8": false,
		"::": true, "::1": true, "::2": false, "fc00::1": true, "fdff::1": true, "fe80::1": true, "febf::1": true,
		"fec0::1": true, "feff::1": true, "ff02::1": false, "2001:db8::1": false, "::ffff:10.0.0.1": true,
		"::ffff:8.8.8.8": false,
	} {
		assert.Equal(t, internal, connstate.Internal(netip.MustParseAddr(addr)), addr)
	}
	assert.True(t, connstate.Internal(netip.Addr{}), "an unknown address")
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

func TestOriginCircuitsMarkTheirLegs(t *testing.T) {
	reg, _ := newRegistry(t)
	relay, err := reg.Open(relayOut("128.31.0.34:9101"))
	require.NoError(t, err)
	client, err := reg.Open(clientIn("198.51.100.7:4000"))
	require.NoError(t, err)
	carried, err := reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	own, err := reg.OpenCircuit(connstate.CircuitConfig{Origin: true})
	require.NoError(t, err)
	assert.False(t, carried.Origin())
	assert.True(t, own.Origin())
	assert.False(t, (*connstate.Circuit)(nil).Origin())
	_, err = carried.BindInbound(client)
	require.NoError(t, err)
	_, err = carried.BindOutbound(relay)
	require.NoError(t, err)
	_, err = own.BindOutbound(relay)
	require.NoError(t, err)

	origin := map[[2]uint64]bool{}
	for e := range reg.Entries() {
		origin[[2]uint64{e.CircID, e.ConnID}] = e.Origin
	}
	assert.Equal(t, map[[2]uint64]bool{
		{0, relay.ID()}: false, {0, client.ID()}: false, // own lines
		{carried.ID(), client.ID()}: false, {carried.ID(), relay.ID()}: false,
		{own.ID(), relay.ID()}: true,
	}, origin)
	e, ok := reg.LookupEntry(own.ID(), relay.ID())
	require.True(t, ok)
	assert.True(t, e.Origin, "LookupEntry fills the same line")

	parts, release := reg.OriginEntryPartsAt(time.Now(), 1)
	var lines [][2]uint64
	for _, p := range parts {
		for e := range p {
			lines = append(lines, [2]uint64{e.CircID, e.ConnID})
		}
	}
	release()
	assert.Equal(t, [][2]uint64{{0, relay.ID()}, {0, client.ID()}, {own.ID(), relay.ID()}}, lines, "own lines and origin legs alone")
	require.NoError(t, own.Close())
	parts, release = reg.OriginEntryPartsAt(time.Now(), 1)
	n := 0
	for _, p := range parts {
		for range p {
			n++
		}
	}
	release()
	assert.Equal(t, 2, n, "a closed origin circuit is gone")
}

func TestEntryPartsAtComputesUptimesAtTheInstant(t *testing.T) {
	reg, clk := newRegistry(t)
	start := clk.Now()
	old, err := reg.Open(clientIn("198.51.100.7:4000"))
	require.NoError(t, err)
	clk.Advance(25 * time.Second)
	young, err := reg.Open(clientIn("198.51.100.8:4000"))
	require.NoError(t, err)
	clk.Advance(5 * time.Second)

	uptimes := func(at time.Time) map[uint64]uint64 {
		parts, release := reg.EntryPartsAt(at, 1)
		defer release()
		got := map[uint64]uint64{}
		for _, p := range parts {
			for e := range p {
				got[e.ConnID] = e.Uptime
			}
		}
		return got
	}
	assert.Equal(t, map[uint64]uint64{old.ID(): 20, young.ID(): 0}, uptimes(start.Add(20*time.Second)), "young opened after the instant")
	assert.Equal(t, map[uint64]uint64{old.ID(): 30, young.ID(): 5}, uptimes(start.Add(time.Hour)), "an instant ahead of the clock counts as now")
}
