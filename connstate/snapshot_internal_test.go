package connstate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// cut splits any snapshot into runs of positions that cover it in order,
// each within one circuit's legs of its share of the lines.
func TestSnapshotCut(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := &snapshot{conns: make([]*Conn, rapid.IntRange(0, 50).Draw(t, "conns"))}
		widest := 1
		for _, w := range rapid.SliceOfN(rapid.IntRange(1, 40), 0, 60).Draw(t, "legs") {
			s.circs = append(s.circs, circuitLegs{legs: make([]*Leg, w)})
			s.legs += w
			widest = max(widest, w)
		}
		n := rapid.IntRange(1, 12).Draw(t, "n")
		cuts := s.cut(n)
		require.Len(t, cuts, n+1)
		assert.Equal(t, 0, cuts[0])
		assert.Equal(t, s.positions(), cuts[n])
		total := s.lines()
		for i := range n {
			require.LessOrEqual(t, cuts[i], cuts[i+1], "run %d goes backwards", i)
			lines := 0
			for p := cuts[i]; p < cuts[i+1]; p++ {
				lines += s.linesAt(p)
			}
			assert.InDelta(t, float64(total)/float64(n), float64(lines), float64(widest+1), "run %d of %d: %d lines of %d", i, n, lines, total)
		}
	})
}

// The parts of a snapshot, ranged in turn, yield what Entries yields, for
// any number of parts.
func TestEntryPartsJoinToEntries(t *testing.T) {
	r := NewRegistry(WithClock(stoppedClock{time.Unix(1_700_000_000, 0)}))
	var conns []*Conn
	for range 3 * MinPart {
		conns = append(conns, openTest(t, r))
	}
	for i := 0; i+2 < len(conns); i += 3 {
		circ, err := r.OpenCircuit(CircuitConfig{})
		require.NoError(t, err)
		_, err = circ.BindInbound(conns[i])
		require.NoError(t, err)
		_, err = circ.BindOutbound(conns[i+1])
		require.NoError(t, err)
		if i%9 == 0 {
			_, err = circ.BindExit(conns[i+2])
			require.NoError(t, err)
		}
	}
	require.NoError(t, conns[7].Close()) // its legs stay in the circuits' arrays, unseen
	want := r.AppendEntries(nil)
	at := r.clock.Now()
	for _, n := range []int{1, 2, 3, 5, 8} {
		parts, release := r.EntryPartsAt(at, n)
		assert.Len(t, parts, min(n, len(want)/MinPart), "parts asked: %d", n)
		var got []Entry
		for _, p := range parts {
			for e := range p {
				got = append(got, *e)
			}
		}
		release()
		assert.Equal(t, want, got, "parts asked: %d", n)
	}
}

// stoppedClock always reads the same instant: both ways of walking see the
// same uptimes.
type stoppedClock struct{ t time.Time }

func (c stoppedClock) Now() time.Time { return c.t }
