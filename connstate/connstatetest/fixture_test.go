package connstatetest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
)

const fixtureDir = "fixtures"

func TestLoadEveryFixture(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(fixtureDir, "*.conns"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(paths), 7)
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			f, err := connstatetest.ParseFixture(bytes.NewReader(raw))
			require.NoError(t, err)
			reg, _, err := connstatetest.LoadFile(path)
			require.NoError(t, err)

			open := 0
			for _, c := range f.Conns {
				if !c.Closed {
					open++
				}
			}
			conns, circs := reg.Counts()
			assert.Equal(t, open, conns)
			assert.Equal(t, len(f.Circuits), circs)

			// Every open connection shows with its declared counters and age.
			byID := map[uint64]connstatetest.Conn{}
			for _, c := range f.Conns {
				byID[c.ID] = c
			}
			for _, e := range reg.AppendEntries(nil) {
				if e.CircID != 0 {
					continue
				}
				c := byID[e.ConnID]
				assert.False(t, c.Closed)
				assert.Equal(t, c.Flags, e.Flags)
				assert.Equal(t, c.Read, e.Read)
				assert.Equal(t, c.Written, e.Written)
				assert.Equal(t, uint64(c.Age/time.Second), e.Uptime)
			}
		})
	}
}

func TestWriteToRoundTrips(t *testing.T) {
	f := connstatetest.BusyRelay(42, 500)
	var buf bytes.Buffer
	n, err := f.WriteTo(&buf)
	require.NoError(t, err)
	assert.Equal(t, int64(buf.Len()), n)
	again, err := connstatetest.ParseFixture(&buf)
	require.NoError(t, err)
	assert.Equal(t, f, again)
}

func TestBusyRelayIsReproducible(t *testing.T) {
	a := connstatetest.BusyRelay(7, 10000)
	b := connstatetest.BusyRelay(7, 10000)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, connstatetest.BusyRelay(8, 10000))
	reg, _, err := a.Build()
	require.NoError(t, err)
	conns, circs := reg.Counts()
	assert.Equal(t, 10000, conns)
	assert.Equal(t, 20000, circs)
	entries := reg.AppendEntries(nil)
	assert.Greater(t, len(entries), 45000)
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.Flags.String()] = true
	}
	for _, want := range []string{"IRt", "iRt", "ORT", "IRT", "oRt", "ORt", "IDt", "IXt"} {
		assert.True(t, seen[want], "the mix has %s", want)
	}
}

func TestParseFixtureErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"unknown declaration", "wire 1 IRt", `line 1: unknown declaration "wire"`},
		{"missing flags", "conn 1", "want conn ID FLAGS"},
		{"zero id", "conn 0 IRt", "want a decimal ID from 1"},
		{"bad flags", "conn 1 IRx", "invalid TYPE_FLAGS"},
		{"long flags", "conn 1 IRtZ", "three TYPE_FLAGS characters"},
		{"fp needs T", "conn 1 IRt fp=9695DFC35FFEB861329B9F1AB04C46397020CE31", "needs network T"},
		{"bad fp", "conn 1 IRT fp=XYZ", "invalid relay fingerprint"},
		{"bad remote", "\n\nconn 1 IRt remote=1.2.3.4", "line 3: remote="},
		{"bad port", "conn 1 IRt lport=70000", "lport="},
		{"bad count", "conn 1 IRt read=-5", "read="},
		{"bad age", "conn 1 IRt age=1.5s", "age="},
		{"negative age", "conn 1 IRt age=-1h", "age="},
		{"unknown attribute", "conn 1 IRt colour=red", `unknown attribute "colour"`},
		{"attribute twice", "conn 1 IRt read=1 read=2", `"read" given twice`},
		{"closed with value", "conn 1 IRt closed=yes", "closed takes no value"},
		{"circ args", "circ", "want circ ID"},
		{"circ twice", "circ 4\ncirc 4", "line 2: circuit 4 declared twice"},
		{"leg before circ", "leg 4 in 1", "before its circ line"},
		{"leg role", "circ 4\nleg 4 sideways 1", `role "sideways"`},
		{"leg args", "circ 4\nleg 4 in", "want leg CIRC ROLE CONN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := connstatetest.ParseFixture(strings.NewReader(tt.text))
			require.Error(t, err)
			assert.ErrorIs(t, err, connstatetest.ErrFixture)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"duplicate conn", "conn 1 IRt\nconn 1 ORt", "connection 1 declared twice"},
		{"leg on undeclared conn", "circ 1\nleg 1 in 9", "undeclared connection 9"},
		{"two inbound legs", "conn 1 IRt\nconn 2 IRt\ncirc 1\nleg 1 in 1\nleg 1 in 2", "leg already bound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := connstatetest.Load(strings.NewReader(tt.text))
			require.Error(t, err)
			assert.ErrorIs(t, err, connstatetest.ErrFixture)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	_, _, err := connstatetest.LoadFile(filepath.Join(fixtureDir, "no-such.conns"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestClockAgesConnections(t *testing.T) {
	reg, clk, err := connstatetest.Load(strings.NewReader("conn 5 IRt age=1h\nconn 6 oRt age=3"))
	require.NoError(t, err)
	e, ok := reg.LookupEntry(0, 5)
	require.True(t, ok)
	assert.Equal(t, uint64(3600), e.Uptime)
	clk.Advance(90 * time.Second)
	clk.Advance(-time.Hour) // ignored: a Clock never goes back
	e, _ = reg.LookupEntry(0, 5)
	assert.Equal(t, uint64(3690), e.Uptime)
	e, _ = reg.LookupEntry(0, 6)
	assert.Equal(t, uint64(93), e.Uptime)
	assert.Equal(t, connstatetest.Epoch().Add(time.Hour+90*time.Second), clk.Now())
}

func TestClosedConnectionsCountInTotals(t *testing.T) {
	reg, _, err := connstatetest.Load(strings.NewReader("conn 1 IRT fp=9695DFC35FFEB861329B9F1AB04C46397020CE31 remote=128.31.0.34:9101 read=10 written=20\nconn 2 IRt remote=198.51.100.1:1 read=5 written=7 closed"))
	require.NoError(t, err)
	assert.Equal(t, connstate.Totals{RelayRead: 15, RelayWritten: 27, TrafficRead: 15, TrafficWritten: 27}, reg.Totals())
	assert.Len(t, reg.AppendEntries(nil), 1)
}

func TestClockTimers(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	var fired []time.Duration
	record := func() { fired = append(fired, clk.Now().Sub(connstatetest.Epoch())) }
	clk.AfterFunc(3*time.Second, record)
	stop := clk.AfterFunc(2*time.Second, func() { t.Error("a stopped timer fired") })
	clk.AfterFunc(time.Second, func() {
		record()
		clk.AfterFunc(time.Second, record) // set from a timer: due at 2 s, within this Advance
	})
	assert.True(t, stop())
	assert.False(t, stop(), "stopping twice")
	assert.Equal(t, 2, clk.Timers())
	clk.Advance(2500 * time.Millisecond)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second}, fired, "in order, each at its instant")
	assert.Equal(t, 2500*time.Millisecond, clk.Now().Sub(connstatetest.Epoch()))
	clk.Advance(time.Second)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, fired)
	assert.Zero(t, clk.Timers())
}

// The embedded fixtures are the files in fixtures/, and load by name.
func TestEmbeddedFixtures(t *testing.T) {
	names := connstatetest.FixtureNames()
	assert.Equal(t, []string{"bridge", "client", "empty", "exit", "guard", "hs", "middle"}, names)
	for _, name := range names {
		fromFS, err := connstatetest.ReadNamed(name)
		require.NoError(t, err, name)
		fromFile, err := connstatetest.ReadFile(filepath.Join(fixtureDir, name+".conns"))
		require.NoError(t, err, name)
		assert.Equal(t, fromFile, fromFS, name)
	}
	reg, _, err := connstatetest.LoadNamed("guard")
	require.NoError(t, err)
	conns, circuits := reg.Counts()
	assert.Equal(t, 22, conns, "23 declared, one closed")
	assert.Equal(t, 18, circuits)
	_, err = connstatetest.ReadNamed("nosuch")
	assert.ErrorContains(t, err, `no fixture "nosuch"`)
	_, err = connstatetest.ReadNamed("../fixture")
	assert.Error(t, err, "only the embedded ones")
}

// Open returns the handles, so that a test can move the fixture's state.
func TestOpenReturnsHandles(t *testing.T) {
	fx, err := connstatetest.ReadNamed("guard")
	require.NoError(t, err)
	l, err := fx.Open()
	require.NoError(t, err)
	require.Len(t, l.Conns, len(fx.Conns))
	require.Len(t, l.Circuits, len(fx.Circuits))
	c := l.Conns[10]
	require.NotNil(t, c)
	before := c.Read()
	c.AddRead(1000)
	e, ok := l.Registry.LookupEntry(0, 10)
	require.True(t, ok)
	assert.Equal(t, before+1000, e.Read, "the handle is the registry's connection")
	leg := l.Legs[[2]uint64{1000, 10}]
	require.NotNil(t, leg)
	leg.AddWritten(7)
	e, ok = l.Registry.LookupEntry(1000, 10)
	require.True(t, ok)
	assert.Equal(t, uint64(306690+7), e.Written)
	assert.True(t, l.Conns[31].Closed(), "a closed declaration's handle is closed")
	require.NoError(t, l.Circuits[1000].Close())
	_, ok = l.Registry.LookupEntry(1000, 10)
	assert.False(t, ok)
}

func TestGoldens(t *testing.T) {
	for _, name := range connstatetest.FixtureNames() {
		for _, tier := range []string{"public", "testnet", "unscrubbed"} {
			b, err := connstatetest.Golden(name, tier)
			require.NoError(t, err, "%s %s", name, tier)
			assert.True(t, bytes.HasPrefix(b, []byte("250")) && bytes.HasSuffix(b, []byte("250 OK\r\n")), "%s.%s: %q", name, tier, b)
		}
	}
	_, err := connstatetest.Golden("guard", "secret")
	assert.ErrorContains(t, err, "no golden")
	_, err = connstatetest.Golden("../fixtures/guard", "public")
	assert.Error(t, err)
}
