package scrub_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/scrub"
)

// cellBytes is what one cell adds to a connection's count: tor's 514-byte
// cell (TLS framing adds more, which only helps).
const cellBytes = 514

// watermarkBits measures how much one reading of a line tells an attacker
// who controls whether a signal of cells cells is added to it during an
// epoch: the mutual information, in bits, between the attacker's bit W
// (signal or none, equally likely) and the difference of the two rounded
// readings around the epoch, over trials with the line's other bytes
// drawn at random. Readings go through policy.Apply, the code that
// answers.
func watermarkBits(policy scrub.Policy, cells, trials int, rng *rand.Rand) float64 {
	g := policy.Granularity()
	joint := map[[2]uint64]int{} // (W, shown delta) -> count
	line := func(read uint64) uint64 {
		e := connstate.Entry{ConnID: 1, Read: read, Uptime: 60,
			Flags: connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside}}
		shown, _ := policy.Apply(e)
		return shown.Read
	}
	for range trials {
		w := rng.Uint64N(2)
		before := rng.Uint64N(1000 * g)                        // whatever the line had: any phase against the grid
		background := rng.Uint64N(uint64(cells+1)) * cellBytes // the epoch's other cells, up to as many
		after := before + background + w*uint64(cells)*cellBytes
		joint[[2]uint64{w, line(after) - line(before)}]++
	}
	return mutualInformation(joint, trials)
}

// mutualInformation computes I(W; D) from joint counts.
func mutualInformation(joint map[[2]uint64]int, n int) float64 {
	pw, pd := map[uint64]float64{}, map[uint64]float64{}
	for k, c := range joint {
		pw[k[0]] += float64(c) / float64(n)
		pd[k[1]] += float64(c) / float64(n)
	}
	var mi float64
	for k, c := range joint {
		p := float64(c) / float64(n)
		mi += p * math.Log2(p/(pw[k[0]]*pd[k[1]]))
	}
	return math.Max(mi, 0)
}

// differenceError measures the differencing attacks of the review (F2,
// F3): the attacker reads a line or a total before and after an epoch in
// which only one circuit's or one client's bytes moved, and takes the
// difference as their count. It returns the fraction of trials in which
// the difference equals the true count, and the mean absolute error.
func differenceError(policy scrub.Policy, trials int, rng *rand.Rand) (exact, meanErr float64) {
	g := policy.Granularity()
	hits, errSum := 0, 0.0
	for range trials {
		before := rng.Uint64N(1000 * g)
		moved := (1 + rng.Uint64N(200)) * cellBytes // one circuit: 1 to 200 cells
		got := scrub.RoundHalfUp(before+moved, g) - scrub.RoundHalfUp(before, g)
		if got == moved {
			hits++
		}
		errSum += math.Abs(float64(got) - float64(moved))
	}
	return float64(hits) / float64(trials), errSum / float64(trials)
}

// TestGranularityAnalysis is the analysis behind PublicRound, the figures
// SECURITY.md quotes: run it with -v to print them. For each granularity
// it measures the bits one reading reveals about a signal of 1, 10, 100
// (a SENDME window) and 1000 cells, and how well differencing two readings
// recovers one circuit's bytes. It then checks the chosen granularity
// against its targets: a SENDME window's signal tells under 0.05 bit per
// reading and a single cell under 0.001, where half the granularity would
// not: the chosen one is the smallest power of two that does. (The trials
// are drawn from a fixed seed, so the figures are the same on every run.)
func TestGranularityAnalysis(t *testing.T) {
	const trials = 200_000
	rng := rand.New(rand.NewPCG(10, 10))
	var table strings.Builder
	fmt.Fprintf(&table, "%-10s %-10s %-10s %-10s %-10s %-12s %s\n", "round", "1 cell", "10 cells", "100 cells", "1000 cells", "F2/F3 exact", "mean error")
	results := map[uint64][4]float64{}
	for _, g := range []uint64{1, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 128 << 10, 256 << 10, 1 << 20} {
		p := scrub.Public(nil)
		p.Round = g
		var bits [4]float64
		for i, cells := range []int{1, 10, 100, 1000} {
			bits[i] = watermarkBits(p, cells, trials, rng)
		}
		results[g] = bits
		exact, meanErr := differenceError(p, trials, rng)
		fmt.Fprintf(&table, "%-10d %-10.4f %-10.4f %-10.4f %-10.4f %-12.4f %.0f B\n", g, bits[0], bits[1], bits[2], bits[3], exact, meanErr)
	}
	t.Logf("bits per reading about a signal of N cells, and differencing one circuit's bytes (%d trials each):\n%s", trials, table.String())

	chosen, half := results[scrub.PublicRound], results[scrub.PublicRound/2]
	assert.Less(t, chosen[0], 0.001, "one cell")
	assert.Less(t, chosen[2], 0.05, "a SENDME window")
	assert.GreaterOrEqual(t, half[2], 0.05, "half the granularity would do: choose it")
	assert.Greater(t, results[1<<10][0], 0.1, "1 KiB rounding, the test network's, leaks a cell: the measure is not blind")
}
