package getinfo_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/oracle"
	"github.com/conninfo/conninfo/scrub"
)

// epochRelay is a registry on a fake clock standing at an instant of the
// 10 s grid, served under the public tier with its totals.
type epochRelay struct {
	reg    *connstate.Registry
	clk    *connstatetest.Clock
	mux    *getinfo.Mux
	client *connstate.Conn
}

func newEpochRelay(t *testing.T) *epochRelay {
	t.Helper()
	return newEpochRelaySeeds(t, func() uint64 { return epochSeed })
}

// freshSeeds draws the pseudonyms' keys as epochSeed, and a new rounding
// seed for every view, as serving does.
func freshSeeds() func() uint64 {
	n := uint64(0)
	return func() uint64 {
		if n++; n <= 2 {
			return epochSeed
		}
		return n * 0x9E3779B97F4A7C15
	}
}

func newEpochRelaySeeds(t *testing.T, seeds func() uint64) *epochRelay {
	t.Helper()
	clk := connstatetest.NewClock(connstatetest.Epoch()) // on the grid
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	client, err := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay,
		Network: connstate.NetworkOutside, Remote: netip.MustParseAddrPort("203.0.113.7:50000"), Established: true})
	require.NoError(t, err)
	m := getinfo.NewMux()
	(&getinfo.Conns{Source: reg, Totals: reg.Totals, Seeds: seeds}).Register(m)
	return &epochRelay{reg: reg, clk: clk, mux: m, client: client}
}

// epochSeed fixes the public tier's secrets, so that the tests know the
// pseudonyms its IDs are shown as.
const epochSeed = 1

// shown is the ID the public tier shows for registry ID id.
func shown(id uint64) string {
	return strconv.FormatUint(oracle.Pseudonym(epochSeed, epochSeed, id), 10)
}

var epochKeys = []string{"conn/all", "conn/0/" + shown(1), "relay/read-total", "info/relay/read-total", "traffic/read", "traffic/written"}

// answers asks every key of the family once, in one reply.
func (r *epochRelay) answers(t *testing.T) string {
	t.Helper()
	return reply(t, r.mux, epochKeys...)
}

func TestEpochAnswersAreIdenticalWithinAnEpoch(t *testing.T) {
	r := newEpochRelay(t)
	r.client.AddRead(3 << 20)
	r.clk.Advance(time.Second)
	first := r.answers(t)
	assert.Contains(t, first, "250-conn/0/"+shown(1)+"="+shown(1)+" 0 0 0 0 IRt 3145728 0 0\r\n", "the first question takes the view at once, dated at the epoch's instant")

	// Bytes, a new connection, a circuit and time within the epoch change nothing.
	r.client.AddRead(5 << 20)
	c, err := r.reg.Open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside})
	require.NoError(t, err)
	c.AddWritten(1 << 30)
	for r.clk.Now().Sub(connstatetest.Epoch()) < 9900*time.Millisecond {
		r.clk.Advance(100 * time.Millisecond)
		assert.Equal(t, first, r.answers(t))
	}
	_, err = r.mux.Answer(nil, "conn/0/"+shown(2))
	assert.ErrorIs(t, err, getinfo.ErrUnrecognized, "a connection opened during the epoch is not in its view")

	// The next instant: everything moves at once.
	r.clk.Advance(100 * time.Millisecond)
	next := r.answers(t)
	assert.NotEqual(t, first, next)
	assert.Contains(t, next, "250-conn/0/"+shown(1)+"="+shown(1)+" 0 0 0 0 IRt 8388608 0 10\r\n")
	assert.Contains(t, next, shown(2)+" 0 0 0 0 oRt 0 1073741824 0\r\n", "the new connection, dated at the instant")
	assert.Contains(t, next, "250-traffic/written=0\r\n", "no address: not rate limited, in no total")
	assert.Contains(t, next, "250-traffic/read=8388608\r\n")
}

// The snapshot of an epoch is taken at its instant by a timer, not when a
// controller first asks: bytes counted after the instant wait for the
// next one, whenever the question comes.
func TestEpochSnapshotIsTakenAtTheInstant(t *testing.T) {
	r := newEpochRelay(t)
	r.answers(t) // a controller is asking: the timer runs
	require.Equal(t, 1, r.clk.Timers())
	r.client.AddRead(1 << 20)
	r.clk.Advance(10 * time.Second) // the instant: the timer takes the view
	r.client.AddRead(7 << 20)       // after it
	r.clk.Advance(5 * time.Second)
	got, err := r.mux.Answer(nil, "conn/0/"+shown(1))
	require.NoError(t, err)
	assert.Equal(t, shown(1)+" 0 0 0 0 IRt 1048576 0 10", string(got), "the bytes of the instant, not of the question")
}

// Without questions the timer stops after six epochs, and lets the view
// go; the first question after that takes one at once.
func TestEpochsStopWhenNobodyAsks(t *testing.T) {
	r := newEpochRelay(t)
	r.answers(t)
	for range 6 {
		r.clk.Advance(10 * time.Second)
		assert.Equal(t, 1, r.clk.Timers(), "still taking snapshots")
	}
	r.clk.Advance(10 * time.Second)
	assert.Zero(t, r.clk.Timers(), "idle: no timer")
	r.client.AddRead(1 << 20)
	r.clk.Advance(3 * time.Second)
	got, err := r.mux.Answer(nil, "conn/0/"+shown(1))
	require.NoError(t, err)
	assert.Equal(t, shown(1)+" 0 0 0 0 IRt 1048576 0 70", string(got), "taken now, dated at the epoch's instant")
	assert.Equal(t, 1, r.clk.Timers(), "and the timer runs again")
}

// conn/<circ>/<conn> answers exactly the lines of conn/all, found in the
// epoch's text, and nothing else.
func TestEpochLookupIsConnAllsLine(t *testing.T) {
	fx := connstatetest.BusyRelay(7, 3000)
	reg, clk, err := fx.Build()
	require.NoError(t, err)
	onGrid(clk, scrub.DefaultEpoch)
	h := &getinfo.Conns{Source: reg, Policy: scrub.Public(fx.Relays())}
	all, err := h.AppendInfo(nil, "conn/all")
	require.NoError(t, err)
	lines := strings.Split(string(all), "\n")
	require.Greater(t, len(lines), 3000)
	origin := 0
	for _, line := range lines {
		var conn, circ uint64
		_, err := fmt.Sscanf(line, "%d %d", &conn, &circ)
		require.NoError(t, err, line)
		if circ != 0 {
			origin++
		}
		got, err := h.AppendInfo(nil, fmt.Sprintf("conn/%d/%d", circ, conn))
		require.NoError(t, err, line)
		assert.Equal(t, line, string(got))
	}
	assert.Positive(t, origin, "origin legs are shown")
	for _, e := range reg.AppendEntries(nil) {
		if e.CircID != 0 && !e.Origin {
			_, err := h.AppendInfo(nil, fmt.Sprintf("conn/%d/%d", e.CircID, e.ConnID))
			assert.ErrorIs(t, err, getinfo.ErrUnrecognized, "a carried leg is not a line")
		}
	}
	for _, key := range []string{"conn/0/0", "conn/0/999999", "conn/18446744073709551615/1", "conn/1/1"} {
		_, err := h.AppendInfo(nil, key)
		assert.ErrorIs(t, err, getinfo.ErrUnrecognized, key)
	}
}

// With rounding offsets drawn afresh each epoch, a count that barely moves
// must still never be shown lower than before: lines and totals only go
// up, and stay within one step of the truth.
func TestEpochCountsNeverGoBack(t *testing.T) {
	r := newEpochRelaySeeds(t, freshSeeds())
	var lastLine, lastTotal uint64
	var truth uint64
	for range 200 {
		r.client.AddRead(1000) // far less than a step per epoch
		truth += 1000
		r.clk.Advance(10 * time.Second)
		line, err := r.mux.Answer(nil, "conn/0/"+shown(1))
		require.NoError(t, err)
		f := strings.Fields(string(line))
		require.Len(t, f, 9)
		shown, err := strconv.ParseUint(f[6], 10, 64)
		require.NoError(t, err)
		total, err := r.mux.Answer(nil, "traffic/read")
		require.NoError(t, err)
		shownTotal, err := strconv.ParseUint(string(total), 10, 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, shown, lastLine, "READ went back")
		require.GreaterOrEqual(t, shownTotal, lastTotal, "traffic/read went back")
		require.GreaterOrEqual(t, shown, truth/scrub.PublicRound*scrub.PublicRound, "below the floor")
		require.Less(t, shown, truth+scrub.PublicRound, "a step above")
		lastLine, lastTotal = shown, shownTotal
	}
	assert.Positive(t, lastLine, "the line did move")
}

// A question at an instant whose timer has not yet fired is answered from
// the last view, not made to wait while one is taken.
func TestEpochQuestionNeverWaitsForTheTimer(t *testing.T) {
	r := newEpochRelay(t)
	first := r.answers(t)
	r.client.AddRead(1 << 20)
	r.clk.Set(connstatetest.Epoch().Add(10*time.Second + time.Millisecond)) // past the instant; the timer has not run
	assert.Equal(t, first, r.answers(t), "the last view, while the timer is due")
	r.clk.Advance(time.Nanosecond) // the timer runs
	assert.NotEqual(t, first, r.answers(t), "then the new one")
}

// The ratchet remembers through quiet spells: a question once a spell
// never sees a count lower than the last, so that a count that does not
// move cannot be averaged out of spells' fresh offsets.
func TestEpochRatchetSurvivesQuietSpells(t *testing.T) {
	r := newEpochRelaySeeds(t, freshSeeds())
	r.client.AddRead(5*scrub.PublicRound + scrub.PublicRound/2) // never moves again
	var last uint64
	for spell := range 60 {
		line, err := r.mux.Answer(nil, "conn/0/"+shown(1))
		require.NoError(t, err)
		f := strings.Fields(string(line))
		require.Len(t, f, 9)
		n, err := strconv.ParseUint(f[6], 10, 64)
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, last, "spell %d: READ went back", spell)
		last = n
		r.clk.Advance(80 * time.Second) // longer than the six epochs the timer waits
		require.Zero(t, r.clk.Timers(), "a quiet spell")
	}
	assert.Equal(t, uint64(6*scrub.PublicRound), last, "the ceiling, where it sticks")
}
