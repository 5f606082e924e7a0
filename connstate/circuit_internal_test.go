package connstate

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openTest(t *testing.T, r *Registry) *Conn {
	t.Helper()
	c, err := r.Open(ConnConfig{Direction: Outbound, Usage: UsageRelay, Network: NetworkOutside})
	require.NoError(t, err)
	return c
}

func legIDs(c *Circuit) []uint64 {
	var ids []uint64
	for _, l := range c.legs {
		ids = append(ids, l.conn.id)
	}
	return ids
}

// A circuit that keeps binding short exit streams keeps an array the size
// of its open legs, not of every leg it ever had.
func TestBindDropsClosedLegs(t *testing.T) {
	r := NewRegistry()
	circ, err := r.OpenCircuit(CircuitConfig{})
	require.NoError(t, err)
	in := openTest(t, r)
	_, err = circ.BindInbound(in)
	require.NoError(t, err)
	for range 10_000 {
		c := openTest(t, r)
		_, err := circ.BindExit(c)
		require.NoError(t, err)
		require.NoError(t, c.Close())
	}
	assert.LessOrEqual(t, cap(circ.legs), 8, "legs of closed streams are dropped")
	assert.Equal(t, in.id, circ.legs[0].conn.id)
}

// Legs bound out of connection order still come out sorted, and an array a
// snapshot holds is never written within its length.
func TestBindKeepsOrderAndPublishedArrays(t *testing.T) {
	r := NewRegistry()
	conns := make([]*Conn, 6)
	for i := range conns {
		conns[i] = openTest(t, r)
	}
	circ, err := r.OpenCircuit(CircuitConfig{})
	require.NoError(t, err)
	var published [][]*Leg
	var copies [][]*Leg
	for _, i := range []int{3, 4, 0, 5, 1, 2} {
		_, err := circ.BindExit(conns[i])
		require.NoError(t, err)
		published = append(published, circ.legs)
		copies = append(copies, slices.Clone(circ.legs))
	}
	assert.Equal(t, []uint64{1, 2, 3, 4, 5, 6}, legIDs(circ))
	for i := range published {
		assert.Equal(t, copies[i], published[i], "the array published after bind %d changed", i)
	}
}
