package getinfo_test

// The attacks of the privacy review (F1 to F6), each run against a relay
// served by newAttackTarget. Each reports what it recovered; the tests
// require it to be defeated wherever attackTiers says the tier defends
// against it, and to succeed elsewhere, so that an attack that no longer
// works against anything cannot pass for a defence.
//
// This file uses only what every version of the library has had (the
// registry, the fake clock, Mux.Answer), so that it can be run against an
// older tree beside an attack_target_test.go of that tree's own.

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
)

const cell = 514

// attackRelay is a target: its registry, on a fake clock, served by mux;
// shown is the ID the target shows for a registry ID (the attacker finds
// its own connections' lines, and the victim's is the one it studies).
type attackRelay struct {
	reg   *connstate.Registry
	clk   *connstatetest.Clock
	mux   *getinfo.Mux
	shown func(id uint64) uint64
}

// key is conn/0/<the ID c is shown as>.
func (a *attackRelay) key(c *connstate.Conn) string {
	return "conn/0/" + strconv.FormatUint(a.shown(c.ID()), 10)
}

func (a *attackRelay) open(t *testing.T, cfg connstate.ConnConfig) *connstate.Conn {
	t.Helper()
	c, err := a.reg.Open(cfg)
	require.NoError(t, err)
	return c
}

func (a *attackRelay) circuit(t *testing.T, in, out *connstate.Conn) (*connstate.Leg, *connstate.Leg) {
	t.Helper()
	circ, err := a.reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	li, err := circ.BindInbound(in)
	require.NoError(t, err)
	lo, err := circ.BindOutbound(out)
	require.NoError(t, err)
	return li, lo
}

// get answers key, or "" if it is unknown.
func (a *attackRelay) get(key string) string {
	v, err := a.mux.Answer(nil, key)
	if err != nil {
		return ""
	}
	return string(v)
}

func (a *attackRelay) number(t *testing.T, key string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(a.get(key), 10, 64)
	require.NoError(t, err, key)
	return n
}

// fields splits an entry line; nil for "".
func fields(line string) []string { return strings.Fields(line) }

// lines returns conn/all's lines, split into fields.
func (a *attackRelay) lines() [][]string {
	var out [][]string
	for _, l := range strings.Split(a.get("conn/all"), "\n") {
		if f := fields(l); len(f) >= 9 {
			out = append(out, f)
		}
	}
	return out
}

var (
	fpRelayA  = connstate.Fingerprint{0xA1, 19: 0x01}
	fpRelayB  = connstate.Fingerprint{0xB2, 19: 0x02}
	fpBridge  = connstate.Fingerprint{0xB7, 19: 0x03}
	relayAddr = netip.MustParseAddrPort("192.0.2.10:9001")   // fpRelayA's published ORPort
	relayBOR  = netip.MustParseAddrPort("192.0.2.20:443")    // fpRelayB's
	bridgeAt  = netip.MustParseAddrPort("198.51.100.50:443") // a bridge: listed nowhere
)

// attackListing is the consensus of every target: relays A and B.
var attackListing = map[connstate.Fingerprint][]netip.AddrPort{
	fpRelayA: {relayAddr},
	fpRelayB: {relayBOR},
}

func clientAt(remote string) connstate.ConnConfig {
	return connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort(remote), LocalPort: 9001, Established: true}
}

func relayTo(fp connstate.Fingerprint, remote netip.AddrPort) connstate.ConnConfig {
	return connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor,
		Fingerprint: fp, Remote: remote, LocalPort: 50001, Established: true}
}

// F1: conn/all maps each relayed circuit from a client connection to a
// named next relay. Recovered: how many of 10 circuits it maps.
func attackCircuitMap(t *testing.T, a *attackRelay) int {
	relay := a.open(t, relayTo(fpRelayA, relayAddr))
	for i := range 10 {
		client := a.open(t, clientAt("203.0.113."+strconv.Itoa(10+i)+":40000"))
		a.circuit(t, client, relay)
	}
	a.clk.Advance(10 * time.Second)
	flagsOf := map[string]string{}
	orID := map[string]string{}
	byCirc := map[string][]string{}
	for _, f := range a.lines() {
		if f[1] == "0" {
			flagsOf[f[0]], orID[f[0]] = f[5], f[2]
		} else {
			byCirc[f[1]] = append(byCirc[f[1]], f[0])
		}
	}
	mapped := 0
	for _, conns := range byCirc {
		var client, named bool
		for _, c := range conns {
			client = client || flagsOf[c] == "IRt"
			named = named || flagsOf[c] == "ORT" && orID[c] != "0"
		}
		if client && named {
			mapped++
		}
	}
	return mapped
}

// F2: the exact line of a relay connection, differenced across two
// readings, gives the bytes of the one circuit active between them.
// Recovered: the difference, to compare with the circuit's 7 cells.
func attackRelayLineDifference(t *testing.T, a *attackRelay) int64 {
	relay := a.open(t, relayTo(fpRelayA, relayAddr))
	client := a.open(t, clientAt("203.0.113.5:40000"))
	relay.AddRead(123456789)
	in, out := a.circuit(t, client, relay)
	a.clk.Advance(10 * time.Second)
	readRelay := func() int64 {
		f := fields(a.get(a.key(relay)))
		require.Len(t, f, 9)
		n, err := strconv.ParseInt(f[6], 10, 64)
		require.NoError(t, err)
		return n
	}
	before := readRelay()
	for range 7 {
		relay.AddRead(cell)
		out.AddRead(cell)
		client.AddWritten(cell)
		in.AddWritten(cell)
	}
	a.clk.Advance(10 * time.Second)
	return readRelay() - before
}

// F3: the exact totals, less the shown lines, give a scrubbed client's
// bytes. Recovered: the difference, to compare with its 1337 bytes.
func attackTotalsDifference(t *testing.T, a *attackRelay) int64 {
	a.open(t, relayTo(fpRelayA, relayAddr)).AddRead(987654321)
	client := a.open(t, clientAt("203.0.113.6:40000"))
	a.clk.Advance(10 * time.Second)
	before := a.number(t, "relay/read-total")
	client.AddRead(1337)
	a.clk.Advance(10 * time.Second)
	return a.number(t, "relay/read-total") - before
}

// F4: comparing relay/read-total with traffic/read tells whether a
// scrubbed peer is on loopback. Recovered: whether the difference of
// their deltas tells a loopback client from a public one, each moving
// 1 MiB in an epoch.
func attackLoopbackBit(t *testing.T, newTarget func() *attackRelay) bool {
	gap := func(remote string) int64 {
		a := newTarget()
		client := a.open(t, clientAt(remote))
		a.clk.Advance(10 * time.Second)
		relay, traffic := a.number(t, "relay/read-total"), a.number(t, "traffic/read")
		client.AddRead(1 << 20)
		a.clk.Advance(10 * time.Second)
		return (a.number(t, "relay/read-total") - relay) - (a.number(t, "traffic/read") - traffic)
	}
	return gap("127.0.0.1:40000") != gap("203.0.113.7:40000")
}

// F5: polling every millisecond, UPTIME's tick dates a connection's
// establishment. Recovered: the error of the estimate.
func attackUptimeTick(t *testing.T, a *attackRelay) time.Duration {
	start := a.clk.Now()
	a.clk.Advance(3217 * time.Millisecond) // established at a secret instant
	established := a.clk.Now()
	c := a.open(t, clientAt("203.0.113.8:40000"))
	key := a.key(c)
	last := ""
	for a.clk.Now().Sub(start) < 30*time.Second {
		a.clk.Advance(time.Millisecond)
		f := fields(a.get(key))
		if len(f) < 9 {
			continue
		}
		if last != "" && f[8] != last {
			up, err := strconv.ParseInt(f[8], 10, 64)
			require.NoError(t, err)
			guess := a.clk.Now().Add(-time.Duration(up) * time.Second) // the tick came up seconds after it
			return absDuration(guess.Sub(established))
		}
		last = f[8]
	}
	return time.Hour // never ticked
}

// F5, the other half: polling a line every millisecond dates a burst of
// cells. Recovered: the error of the estimate.
func attackBurstTiming(t *testing.T, a *attackRelay) time.Duration {
	c := a.open(t, clientAt("203.0.113.9:40000"))
	key := a.key(c)
	a.clk.Advance(10 * time.Second)
	first := a.get(key)
	var burst time.Time
	for i := 0; a.clk.Now().Sub(connstatetest.Epoch()) < 60*time.Second; i++ {
		a.clk.Advance(time.Millisecond)
		if i == 4321 { // the secret instant
			burst = a.clk.Now()
			c.AddRead(1 << 20)
		}
		if !burst.IsZero() && a.get(key) != first {
			return absDuration(a.clk.Now().Sub(burst))
		}
	}
	return time.Hour
}

// F6: a peer with a key no consensus lists (a bridge), a peer claiming a
// listed relay's fingerprint from elsewhere, and a listed relay's
// ephemeral source port. Recovered: those of the three addresses and
// ports that conn/all shows.
func attackClaimedPeers(t *testing.T, a *attackRelay) []string {
	a.open(t, relayTo(fpBridge, bridgeAt))
	claim := clientAt("198.51.100.66:40066")
	claim.Network, claim.Fingerprint = connstate.NetworkTor, fpRelayB
	a.open(t, claim)
	in := clientAt("192.0.2.10:51234") // relay A connecting to us from a source port
	in.Network, in.Fingerprint = connstate.NetworkTor, fpRelayA
	a.open(t, in)
	a.clk.Advance(10 * time.Second)
	all := a.get("conn/all")
	var shown []string
	for _, secret := range []string{bridgeAt.String(), "198.51.100.66", ":51234"} {
		if strings.Contains(all, secret) {
			shown = append(shown, secret)
		}
	}
	return shown
}

// The review's calibration: an attacker who adds bytes of its own to a
// relay link's line (cells on a circuit of its own through that link)
// finds, by bisection over epochs, where the line's rounding steps, then
// holds the counter one byte below a step and reads whether a victim's
// single cell (514 bytes) crossed the link in each epoch. It knows
// nothing of the rounding but that readings are multiples of g. Recovered:
// the fraction of 100 epochs in which it told the victim's cell right.
func attackCalibration(t *testing.T, a *attackRelay, g int64) float64 {
	link := a.open(t, relayTo(fpRelayA, relayAddr))
	link.AddRead(123456789) // what the link carried before
	key := a.key(link)
	read := func() int64 {
		a.clk.Advance(10 * time.Second)
		f := fields(a.get(key))
		require.Len(t, f, 9)
		n, err := strconv.ParseInt(f[6], 10, 64)
		require.NoError(t, err)
		return n / g // which step the reading is on
	}
	// The reading is g·floor((c+S)/g) for an unknown c and the attacker's
	// sum S: each reading q narrows c to [q·g−S, (q+1)·g−S).
	var sum int64
	q := read()
	lo, hi := q*g, q*g+g // c's interval
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		k := (sum+mid)/g + 1 // the next step past the sum that splits the interval at mid
		add := k*g - mid - sum
		link.AddRead(uint64(add))
		sum += add
		if q = read(); (q+1)*g-sum <= hi && (q+1)*g-sum > lo { // c < (q+1)·g − sum
			hi = min(hi, (q+1)*g-sum)
		}
		lo = max(lo, q*g-sum)
		if lo >= hi { // the readings contradict each other: guess again
			hi = lo + 1
		}
	}
	c := lo
	right := 0
	rng := uint64(42)
	for range 100 {
		k := (c+sum)/g + 1 // hold one byte below the next step
		add := k*g - 1 - c - sum
		link.AddRead(uint64(add))
		sum += add
		rng = rng*6364136223846793005 + 1442695040888963407
		victim := rng>>63 == 1
		if victim {
			link.AddRead(cell)
		}
		stepped := read() >= k
		if stepped == victim {
			right++
		}
		if stepped {
			sum += cell // what the attacker believes the victim added
		}
	}
	return float64(right) / 100
}

// The review's markers: connections the attacker opens at known instants,
// every 100 ms through an epoch, take IDs in order, so that the IDs of
// ten victims' connections, opened at secret instants among them, date
// each to 100 ms; and the gaps between IDs count the connections that
// opened and closed unseen. Recovered: the victims' mean dating error,
// and whether the unseen connections were counted right.
func attackMarkers(t *testing.T, a *attackRelay) (meanErr time.Duration, countedUnseen bool) {
	type marker struct {
		id uint64
		at time.Duration
	}
	var markers []marker
	victims := map[uint64]time.Duration{}
	start := a.clk.Now()
	secret := []time.Duration{310, 1234, 2020, 3217, 4444, 5050, 6789, 7001, 8123, 9400} // ms
	unseen := 0
	for ms := 50; ms < 10000; ms += 100 {
		at := time.Duration(ms) * time.Millisecond
		a.clk.Set(start.Add(at))
		m := a.open(t, clientAt("203.0.113.200:40000"))
		markers = append(markers, marker{a.shown(m.ID()), at})
		for _, s := range secret {
			if s*time.Millisecond > at && s*time.Millisecond <= at+100*time.Millisecond {
				a.clk.Set(start.Add(s * time.Millisecond))
				v := a.open(t, clientAt("198.51.100.33:40000"))
				victims[v.ID()] = s * time.Millisecond
			}
		}
		if ms%1000 == 50 { // now and then a connection that comes and goes within the epoch
			c := a.open(t, clientAt("198.51.100.34:40000"))
			require.NoError(t, c.Close())
			unseen++
		}
	}
	a.clk.Set(start.Add(9990 * time.Millisecond))
	a.clk.Advance(10 * time.Millisecond) // the instant
	markerAt := map[uint64]time.Duration{}
	for _, m := range markers {
		markerAt[m.id] = m.at
	}
	var ids []uint64
	var others []uint64 // lines that are not markers: the victims
	for _, f := range a.lines() {
		id, err := strconv.ParseUint(f[0], 10, 64)
		require.NoError(t, err)
		ids = append(ids, id)
		if _, ok := markerAt[id]; !ok {
			others = append(others, id)
		}
	}
	require.Len(t, others, len(victims))
	// Each victim dated after the last marker below its ID.
	truth := make([]time.Duration, 0, len(victims))
	for _, s := range victims {
		truth = append(truth, s)
	}
	slices.Sort(truth)
	slices.Sort(others) // in ID order, which is opening order if IDs are
	var sum time.Duration
	for i, v := range others {
		guess := time.Duration(0)
		for _, m := range markers {
			if m.id < v && m.at > guess {
				guess = m.at
			}
		}
		sum += absDuration(guess + 50*time.Millisecond - truth[i])
	}
	slices.Sort(ids)
	gaps := int(ids[len(ids)-1]-ids[0]+1) - len(ids)
	return sum / time.Duration(len(others)), gaps == unseen
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func TestAttacks(t *testing.T) {
	for _, tier := range attackTiers() {
		t.Run(tier.name, func(t *testing.T) {
			target := func() *attackRelay { return newAttackTarget(t, tier.name, attackListing) }
			check := func(attack string, defeated bool, format string, args ...any) {
				t.Helper()
				what := fmt.Sprintf(format, args...)
				if tier.defends(attack) {
					require.True(t, defeated, "%s: the %s tier must defeat it: %s", attack, tier.name, what)
				} else {
					require.False(t, defeated, "%s: the attack must work against the %s tier: %s", attack, tier.name, what)
				}
			}
			mapped := attackCircuitMap(t, target())
			check("F1", mapped == 0, "%d of 10 circuits mapped from client to relay", mapped)

			lineDiff := attackRelayLineDifference(t, target())
			check("F2", lineDiff != 7*cell, "the relay line's difference is %d, the circuit's 7 cells %d", lineDiff, 7*cell)

			totalsDiff := attackTotalsDifference(t, target())
			check("F3", totalsDiff != 1337, "the totals' difference is %d, the client's bytes 1337", totalsDiff)

			tells := attackLoopbackBit(t, target)
			check("F4", !tells, "the totals tell loopback from public: %v", tells)

			tickErr := attackUptimeTick(t, target())
			check("F5 uptime", tickErr >= time.Second, "establishment dated within %v", tickErr)

			burstErr := attackBurstTiming(t, target())
			check("F5 burst", burstErr >= time.Second, "burst dated within %v", burstErr)

			shown := attackClaimedPeers(t, target())
			check("F6", len(shown) == 0, "shown: %v", shown)

			markerErr, counted := attackMarkers(t, target())
			check("markers", markerErr >= 500*time.Millisecond && !counted, "victims dated within %v on average; unseen connections counted: %v", markerErr, counted)

			rate := attackCalibration(t, target(), tier.granularity)
			check("calibration", rate < 0.75, "a victim's cell told right in %.0f%% of epochs", 100*rate)
			t.Logf("%s: F1 %d/10 circuits mapped; F2 difference %d (truth 3598); F3 difference %d (truth 1337); F4 loopback told %v; "+
				"F5 establishment error %v, burst error %v; F6 shown %v; markers date victims within %v, count the unseen %v; "+
				"calibration told a cell right %.0f%%",
				tier.name, mapped, lineDiff, totalsDiff, tells, tickErr, burstErr, shown, markerErr, counted, 100*rate)
		})
	}
}
