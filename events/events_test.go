package events_test

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/events"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// relay is a registry on a fake clock at an instant of the 10 s grid,
// with a publisher of its events under a policy.
type relay struct {
	reg *connstate.Registry
	clk *connstatetest.Clock
	mux *getinfo.Mux
	pub *events.Publisher
}

func newRelay(t *testing.T, policy scrub.Policy) *relay {
	t.Helper()
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: policy, Seeds: func() uint64 { return 42 }}
	mux := getinfo.NewMux()
	conns.Register(mux)
	(&getinfo.Status{Conns: conns, Nicknames: nicknames{peerFP: "peerRelay"}}).Register(mux)
	pub, err := events.New(events.Config{Conns: conns, Nicknames: nicknames{peerFP: "peerRelay"}})
	require.NoError(t, err)
	pub.Register(mux)
	t.Cleanup(pub.Close)
	return &relay{reg: reg, clk: clk, mux: mux, pub: pub}
}

func (r *relay) open(t *testing.T, cfg connstate.ConnConfig) *connstate.Conn {
	t.Helper()
	c, err := r.reg.Open(cfg)
	require.NoError(t, err)
	return c
}

// get answers one key from the mux.
func (r *relay) get(t *testing.T, key string) string {
	t.Helper()
	v, err := r.mux.AppendInfo(nil, key)
	require.NoError(t, err, key)
	return string(v)
}

// lines returns and empties what sub has queued, a line each.
func lines(sub *events.Subscription) []string {
	b := string(sub.AppendPending(nil))
	if b == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(b, "\r\n"), "\r\n")
}

var peerFP = connstate.Fingerprint{0x96, 0xA3, 0x30, 0x9E, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}

type nicknames map[connstate.Fingerprint]string

func (n nicknames) Nickname(fp connstate.Fingerprint) (string, bool) {
	nick, ok := n[fp]
	return nick, ok
}

// listed is a consensus of one relay, peerFP at 198.51.100.9:9001.
type listed struct{}

func (listed) LookupRelay(fp connstate.Fingerprint, addr netip.Addr) (netip.AddrPort, bool) {
	if fp != peerFP {
		return netip.AddrPort{}, false
	}
	if addr == netip.MustParseAddr("198.51.100.9") {
		return netip.MustParseAddrPort("198.51.100.9:9001"), true
	}
	return netip.AddrPort{}, true
}

var client = connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside,
	Remote: netip.MustParseAddrPort("203.0.113.7:50000"), LocalPort: 9001, Established: true}

// In the test-network tier BW is each second's growth of traffic/*, live.
func TestBWTestNetwork(t *testing.T) {
	r := newRelay(t, scrub.TestNetwork())
	c := r.open(t, client)
	sub := r.pub.Subscribe()
	defer sub.Close()
	sub.Set(events.BW)
	r.clk.Advance(time.Second) // the baseline
	assert.Empty(t, lines(sub))
	var want []string
	for i, n := range []uint64{0, 1000, 498, 65536, 7} {
		c.AddRead(n)
		c.AddWritten(uint64(i))
		r.clk.Advance(time.Second)
		want = append(want, "650 BW "+strconv.FormatUint(n, 10)+" "+strconv.Itoa(i))
	}
	assert.Equal(t, want, lines(sub))
	assert.Equal(t, "0,0 1000,1 498,2 65536,3 7,4", r.get(t, "bw-event-cache"))
	assert.Equal(t, strconv.Itoa(1000+498+65536+7), r.get(t, "traffic/read"))
}

// In the public tier BW hands out each epoch's growth of the rounded
// totals over the next epoch's seconds: the events add up to traffic/read
// exactly, and no second says when within the epoch bytes moved.
func TestBWPublicAddsUp(t *testing.T) {
	r := newRelay(t, scrub.Public(listed{}))
	c := r.open(t, client)
	sub := r.pub.Subscribe()
	defer sub.Close()
	sub.Set(events.BW)
	start, err := strconv.ParseUint(r.get(t, "traffic/read"), 10, 64)
	require.NoError(t, err)
	var sum uint64
	var values []uint64
	for s := range 60 {
		if s%10 == 3 {
			c.AddRead(700 << 10) // all of an epoch's bytes in one second
		}
		r.clk.Advance(time.Second)
		for _, l := range lines(sub) {
			f := strings.Fields(l)
			require.Len(t, f, 4, l)
			n, err := strconv.ParseUint(f[2], 10, 64)
			require.NoError(t, err)
			sum += n
			values = append(values, n)
		}
	}
	require.Len(t, values, 59, "one a second after the baseline")
	shown, err := strconv.ParseUint(r.get(t, "traffic/read"), 10, 64)
	require.NoError(t, err)
	// After 60 s the views of epochs 1..6 are taken; the growth up to the
	// view of epoch 5 has been handed out in full, epoch 6's has begun.
	assert.LessOrEqual(t, sum, shown-start)
	// values[j] is the tick at second j+2; the views change at 10, 20, ...
	for i := 8; i+10 <= len(values); i += 10 {
		w := values[i : i+10]
		for _, v := range w {
			assert.LessOrEqual(t, w[0]-v, uint64(1), "an epoch's seconds differ by at most a byte: %v", w)
		}
	}
	r.clk.Advance(10 * time.Second)
	for _, l := range lines(sub) {
		n, _ := strconv.ParseUint(strings.Fields(l)[2], 10, 64)
		sum += n
	}
	assert.Equal(t, shown-start, sum, "the events add up to traffic/read's growth")
}

func TestORCONNTestNetwork(t *testing.T) {
	r := newRelay(t, scrub.TestNetwork())
	sub := r.pub.Subscribe()
	defer sub.Close()
	sub.Set(events.ORCONN | events.BW)
	r.clk.Advance(time.Second)
	assert.Empty(t, lines(sub))

	in := r.open(t, client) // 1: a client's address is never shown, even here
	out := r.open(t, connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor,
		Fingerprint: peerFP, Remote: netip.MustParseAddrPort("198.51.100.9:9001"), LocalPort: 40000}) // 2
	r.open(t, connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("192.0.2.80:80"), Established: true}) // 3: an exit stream
	r.open(t, connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageControl, Network: connstate.NetworkOutside, Established: true}) // 4
	r.clk.Advance(time.Second)
	assert.Equal(t, []string{
		"650 BW 0 0",
		"650 ORCONN 0 NEW ID=1",
		"650 ORCONN 0 CONNECTED ID=1",
		"650 ORCONN $96A3309E0102030405060708090A0B0C0D0E0F10~peerRelay LAUNCHED ID=2",
	}, lines(sub))

	circ, err := r.reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	_, err = circ.BindInbound(in)
	require.NoError(t, err)
	require.NoError(t, out.MarkEstablished())
	r.clk.Advance(time.Second)
	assert.Equal(t, []string{"650 BW 0 0", "650 ORCONN $96A3309E0102030405060708090A0B0C0D0E0F10~peerRelay CONNECTED ID=2"}, lines(sub))

	require.NoError(t, in.Close())
	r.clk.Advance(time.Second)
	assert.Equal(t, []string{"650 BW 0 0", "650 ORCONN 0 CLOSED NCIRCS=1 ID=1"}, lines(sub))

	sub.Set(events.ORCONN)
	never := r.open(t, connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor, Fingerprint: peerFP})
	r.clk.Advance(time.Second)
	require.NoError(t, never.Close())
	r.clk.Advance(time.Second)
	assert.Equal(t, []string{
		"650 ORCONN $96A3309E0102030405060708090A0B0C0D0E0F10~peerRelay LAUNCHED ID=5",
		"650 ORCONN $96A3309E0102030405060708090A0B0C0D0E0F10~peerRelay FAILED ID=5",
	}, lines(sub))
}

// In the public tier ORCONN follows the epoch's views: IDs are conn/all's
// pseudonyms, a client is "0", a listed relay is named, and nothing is
// reported between two views.
func TestORCONNPublic(t *testing.T) {
	r := newRelay(t, scrub.Public(listed{}))
	sub := r.pub.Subscribe()
	defer sub.Close()
	sub.Set(events.ORCONN)
	r.clk.Advance(time.Second)
	r.open(t, client)
	r.open(t, connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor,
		Fingerprint: peerFP, Remote: netip.MustParseAddrPort("198.51.100.9:9001"), LocalPort: 40000, Established: true})
	for range 8 {
		r.clk.Advance(time.Second)
		assert.Empty(t, lines(sub), "no event before the next view")
	}
	r.clk.Advance(time.Second) // the view of epoch 1
	got := lines(sub)
	require.Len(t, got, 4, "%q", got)
	all := r.get(t, "conn/all")
	ids := map[string]string{} // pseudonym: the line's OR_ID
	for _, l := range strings.Split(all, "\n") {
		f := strings.Fields(l)
		ids[f[0]] = f[2]
	}
	for _, l := range got {
		f := strings.Fields(l)
		require.Len(t, f, 5, l)
		id := strings.TrimPrefix(f[4], "ID=")
		or, ok := ids[id]
		require.True(t, ok, "ID %s of %q is not in conn/all:\n%s", id, l, all)
		if or == "0" {
			assert.Equal(t, "0", f[2], "an unlisted peer is not named: %q", l)
		} else {
			assert.Equal(t, "$"+or+"~peerRelay", f[2], l)
		}
		assert.NotContains(t, l, "203.0.113.7", "no client address")
	}
}

// A subscription that is not taken from loses the newer events, and
// holds no more than its queue.
func TestQueueBound(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	pub, err := events.New(events.Config{Conns: &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.TestNetwork()}, QueueLen: 3})
	require.NoError(t, err)
	defer pub.Close()
	sub := pub.Subscribe()
	defer sub.Close()
	sub.Set(events.BW)
	for range 10 {
		clk.Advance(time.Second)
	}
	assert.Len(t, lines(sub), 3)
	assert.Equal(t, uint64(6), sub.Lost())
	clk.Advance(time.Second)
	assert.Len(t, lines(sub), 1, "room again once taken")
}

// The ticks run only while a subscription asks for an event they make.
func TestTicksStop(t *testing.T) {
	r := newRelay(t, scrub.TestNetwork())
	assert.Equal(t, 0, r.clk.Timers())
	sub := r.pub.Subscribe()
	sub.Set(events.BW)
	assert.Equal(t, 1, r.clk.Timers())
	sub.Set(events.Set(0))
	r.clk.Advance(time.Second)
	assert.Equal(t, 0, r.clk.Timers(), "no subscription wants a tick")
	sub.Set(events.BW)
	assert.Equal(t, 1, r.clk.Timers())
	sub.Close()
	r.clk.Advance(time.Second)
	assert.Equal(t, 0, r.clk.Timers())
}

func TestParseSet(t *testing.T) {
	set, bad := events.ParseSet([]string{"bw", "ORCONN", "EXTENDED", "authdir_newdescs", "circ_bw"})
	assert.Empty(t, bad)
	assert.Equal(t, "ORCONN BW CIRC_BW", set.String())
	_, bad = events.ParseSet([]string{"BW", "BOGUS", "X"})
	assert.Equal(t, "BOGUS", bad)
	_, bad = events.ParseSet([]string{"ſtream"}) // tor folds ASCII only
	assert.Equal(t, "ſtream", bad)
}

func TestNewErrors(t *testing.T) {
	_, err := events.New(events.Config{})
	assert.ErrorIs(t, err, events.ErrConfig)
	_, err = events.New(events.Config{Conns: &getinfo.Conns{}, QueueLen: -1})
	assert.ErrorIs(t, err, events.ErrConfig)
}

// As in tor, the cache fills only while a per-second event is asked for.
func TestCacheFillsWithPerSecondEvents(t *testing.T) {
	r := newRelay(t, scrub.TestNetwork())
	sub := r.pub.Subscribe()
	defer sub.Close()
	sub.Set(events.ORCONN)
	for range 3 {
		r.clk.Advance(time.Second)
	}
	assert.Empty(t, r.get(t, "bw-event-cache"), "ORCONN is not a per-second event")
	stream, bad := events.ParseSet([]string{"STREAM_BW"})
	require.Empty(t, bad)
	sub.Set(stream) // never sent here, but per-second in tor
	for range 3 {
		r.clk.Advance(time.Second)
	}
	assert.Equal(t, "0,0 0,0 0,0", r.get(t, "bw-event-cache"), "a second each: the ticks were running already")
	assert.Empty(t, lines(sub))
}

// openOrigin opens one of the relay's own circuits through out.
func openOrigin(t *testing.T, r *relay, out *connstate.Conn) (*connstate.Circuit, *connstate.Leg) {
	t.Helper()
	circ, err := r.reg.OpenCircuit(connstate.CircuitConfig{Origin: true, Purpose: "TESTING"})
	require.NoError(t, err)
	leg, err := circ.BindOutbound(out)
	require.NoError(t, err)
	return circ, leg
}

func TestCIRCAndBandwidthTestNetwork(t *testing.T) {
	r := newRelay(t, scrub.TestNetwork())
	out := r.open(t, connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor,
		Fingerprint: peerFP, Remote: netip.MustParseAddrPort("198.51.100.9:9001"), LocalPort: 40000, Established: true}) // 1
	dir := r.open(t, connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageDirectory, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("203.0.113.9:5000"), Established: true}) // 2
	sub := r.pub.Subscribe()
	defer sub.Close()
	set, bad := events.ParseSet([]string{"CIRC", "CIRC_BW", "CONN_BW"})
	require.Empty(t, bad)
	sub.Set(set)
	r.clk.Advance(time.Second) // the baseline
	circ, leg := openOrigin(t, r, out)
	r.clk.Advance(time.Second)
	created := connstatetest.Epoch().Add(time.Second).UTC().Format("2006-01-02T15:04:05.000000")
	assert.Equal(t, []string{
		"650 CIRC 1 LAUNCHED PURPOSE=TESTING TIME_CREATED=" + created,
		"650 CIRC 1 BUILT $96A3309E0102030405060708090A0B0C0D0E0F10~peerRelay PURPOSE=TESTING TIME_CREATED=" + created,
	}, lines(sub))
	leg.AddRead(1024)
	leg.AddWritten(2048)
	out.AddRead(2048)
	dir.AddWritten(3000)
	r.clk.Advance(time.Second)
	now := connstatetest.Epoch().Add(3 * time.Second).UTC().Format("2006-01-02T15:04:05.000000")
	assert.Equal(t, []string{
		"650 CIRC_BW ID=1 READ=1024 WRITTEN=2048 TIME=" + now,
		"650 CONN_BW ID=1 TYPE=OR READ=2048 WRITTEN=0",
		"650 CONN_BW ID=2 TYPE=DIR READ=0 WRITTEN=3072", // the test-network tier rounds a scrubbed line to 1 KiB
	}, lines(sub))
	r.clk.Advance(time.Second)
	assert.Empty(t, lines(sub), "nothing moved")
	require.NoError(t, circ.Close())
	r.clk.Advance(time.Second)
	assert.Equal(t, []string{"650 CIRC 1 CLOSED $96A3309E0102030405060708090A0B0C0D0E0F10~peerRelay PURPOSE=TESTING TIME_CREATED=" + created + " REASON=NONE"}, lines(sub))
	status, err := r.mux.AppendInfo(nil, "circuit-status")
	require.NoError(t, err)
	assert.Empty(t, string(status))
}

// In the public tier CIRC's IDs are conn/all's circuit pseudonyms, its
// time of creation the first view's instant, CIRC_BW hands out the legs'
// rounded growth over the epoch, and there is no CONN_BW.
func TestCIRCPublic(t *testing.T) {
	r := newRelay(t, scrub.Public(listed{}))
	out := r.open(t, connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor,
		Fingerprint: peerFP, Remote: netip.MustParseAddrPort("198.51.100.9:9001"), LocalPort: 40000, Established: true})
	sub := r.pub.Subscribe()
	defer sub.Close()
	set, _ := events.ParseSet([]string{"CIRC", "CIRC_BW", "CONN_BW"})
	sub.Set(set)
	r.clk.Advance(time.Second)
	_, leg := openOrigin(t, r, out)
	leg.AddRead(3 << 20)
	out.AddRead(3 << 20)
	var got []string
	for range 19 {
		r.clk.Advance(time.Second)
		got = append(got, lines(sub)...)
	}
	all := r.get(t, "conn/all")
	var circID string
	for _, l := range strings.Split(all, "\n") {
		if f := strings.Fields(l); f[1] != "0" {
			circID = f[1]
		}
	}
	require.NotEmpty(t, circID, all)
	epoch1 := connstatetest.Epoch().Add(10 * time.Second).UTC().Format("2006-01-02T15:04:05.000000")
	require.GreaterOrEqual(t, len(got), 2, "%q", got)
	assert.Equal(t, "650 CIRC "+circID+" LAUNCHED PURPOSE=TESTING TIME_CREATED="+epoch1, got[0])
	assert.Equal(t, "650 CIRC "+circID+" BUILT $96A3309E0102030405060708090A0B0C0D0E0F10~peerRelay PURPOSE=TESTING TIME_CREATED="+epoch1, got[1])
	var read uint64
	for _, l := range got[2:] {
		require.True(t, strings.HasPrefix(l, "650 CIRC_BW ID="+circID+" "), "only CIRC_BW, no CONN_BW: %q", l)
		f := strings.Fields(l)
		n, err := strconv.ParseUint(strings.TrimPrefix(f[3], "READ="), 10, 64)
		require.NoError(t, err)
		read += n
	}
	assert.Zero(t, read, "the circuit's bytes came before its first view: never reported")

	legRead := func() uint64 {
		for _, l := range strings.Split(r.get(t, "conn/all"), "\n") {
			if f := strings.Fields(l); f[1] == circID {
				n, err := strconv.ParseUint(f[6], 10, 64)
				require.NoError(t, err)
				return n
			}
		}
		t.Fatal("no leg line")
		return 0
	}
	before := legRead() // the view of epoch 1, at 19 s
	leg.AddRead(5 << 20)
	for range 21 { // the views of epochs 2 and 3, and epoch 3's seconds handed out
		r.clk.Advance(time.Second)
		for _, l := range lines(sub) {
			require.True(t, strings.HasPrefix(l, "650 CIRC_BW ID="+circID+" "), l)
			n, _ := strconv.ParseUint(strings.TrimPrefix(strings.Fields(l)[3], "READ="), 10, 64)
			read += n
		}
	}
	assert.Equal(t, legRead()-before, read, "CIRC_BW adds up to the leg's growth in conn/all")
	assert.Positive(t, read)
}

// everything is all a controller of the public tier sees over a minute:
// the events of every kind, bw-event-cache, orconn-status and
// circuit-status, with activity at second at of the third epoch and, if
// fleeting, a connection and an own circuit that live only inside it.
func everything(t *testing.T, at time.Duration, fleeting bool) []string {
	t.Helper()
	r := newRelay(t, scrub.Public(listed{}))
	c := r.open(t, client)
	out := r.open(t, connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor,
		Fingerprint: peerFP, Remote: netip.MustParseAddrPort("198.51.100.9:9001"), LocalPort: 40000, Established: true})
	_, leg := openOrigin(t, r, out)
	sub := r.pub.Subscribe()
	defer sub.Close()
	set, _ := events.ParseSet([]string{"BW", "ORCONN", "CIRC", "CIRC_BW", "CONN_BW"})
	sub.Set(set)
	var seen []string
	r.clk.Advance(20*time.Second + at)
	seen = append(seen, lines(sub)...)
	c.AddRead(700 << 10)
	leg.AddRead(600 << 10)
	out.AddRead(600 << 10)
	r.open(t, client)
	_, _ = openOrigin(t, r, out)
	if fleeting {
		f := r.open(t, connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor,
			Fingerprint: peerFP, Remote: netip.MustParseAddrPort("198.51.100.9:9001"), LocalPort: 40001, Established: true})
		fc, fl := openOrigin(t, r, f)
		fl.AddRead(1 << 20)
		r.clk.Advance(29*time.Second + 500*time.Millisecond - 20*time.Second - at)
		require.NoError(t, fc.Close())
		require.NoError(t, f.Close())
	}
	for r.clk.Now().Before(connstatetest.Epoch().Add(time.Minute)) {
		r.clk.Advance(time.Second)
		seen = append(seen, lines(sub)...)
	}
	return append(seen, r.get(t, "bw-event-cache"), r.get(t, "orconn-status"), r.get(t, "circuit-status"))
}

// In the public tier nothing a controller sees tells when within an epoch
// bytes moved or connections and circuits opened, nor that a connection
// and a circuit came and went inside one.
func TestEventsSayNothingWithinAnEpoch(t *testing.T) {
	want := everything(t, time.Second, false)
	require.Greater(t, len(want), 60, "a minute's events")
	for _, at := range []time.Duration{5 * time.Second, 9*time.Second + 900*time.Millisecond} {
		assert.Equal(t, want, everything(t, at, false), "activity at %v into the epoch", at)
	}
	for _, at := range []time.Duration{time.Second, 5 * time.Second} {
		assert.Equal(t, want, everything(t, at, true), "a fleeting connection and circuit, from %v", at)
	}
}

// Asking for CIRC_BW in the middle of an epoch, the ticks already running
// for BW, starts its counts from that view and goes on across the next.
func TestLinesAskedForMidEpoch(t *testing.T) {
	for _, policy := range []scrub.Policy{scrub.Public(listed{}), scrub.TestNetwork()} {
		r := newRelay(t, policy)
		out := r.open(t, connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor,
			Fingerprint: peerFP, Remote: netip.MustParseAddrPort("198.51.100.9:9001"), LocalPort: 40000, Established: true})
		_, leg := openOrigin(t, r, out)
		sub := r.pub.Subscribe()
		sub.Set(events.BW)
		r.clk.Advance(3 * time.Second)
		set, _ := events.ParseSet([]string{"BW", "CIRC_BW", "CONN_BW"})
		sub.Set(set)
		r.clk.Advance(2 * time.Second)
		leg.AddRead(1 << 20)
		r.clk.Advance(30 * time.Second) // across views
		var bw int
		for _, l := range lines(sub) {
			if strings.HasPrefix(l, "650 CIRC_BW ") {
				bw++
			}
		}
		assert.Positive(t, bw, "%v: CIRC_BW for the leg's bytes", policy)
		sub.Close()
	}
}

// CONNINFO_AUDIT sends each finding of the relay's own audit as it
// appears, exactly as audit/findings answers it: in the public tier once
// an epoch, with pseudonyms, no carried circuit and no byte count.
func TestAuditEvents(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.Public(nil), Seeds: func() uint64 { return 42 }}
	mux := getinfo.NewMux()
	conns.Register(mux)
	findings := &audit.Findings{Registry: reg, Conns: conns, Setup: func() audit.State { return audit.State{Exit: true, RejectPrivate: true} }}
	findings.Register(mux)
	pub, err := events.New(events.Config{Conns: conns, Findings: findings.Lines})
	require.NoError(t, err)
	t.Cleanup(pub.Close)
	sub := pub.Subscribe()
	defer sub.Close()
	set, bad := events.ParseSet([]string{"conninfo_audit"}) // any case, as tor's names
	require.Empty(t, bad, "SETEVENTS accepts it")
	sub.Set(set)
	clk.Advance(10 * time.Second)
	assert.Empty(t, lines(sub), "nothing found")

	// A carried circuit moving 16 MiB one way, to a private address.
	in, err := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("203.0.113.7:50000"), Established: true})
	require.NoError(t, err)
	out, err := reg.Open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("10.1.2.3:80"), Established: true})
	require.NoError(t, err)
	circ, err := reg.OpenCircuit(connstate.CircuitConfig{})
	require.NoError(t, err)
	leg, err := circ.BindInbound(in)
	require.NoError(t, err)
	_, err = circ.BindExit(out)
	require.NoError(t, err)
	leg.AddWritten(16 << 20)
	for range 9 {
		clk.Advance(time.Second)
		assert.Empty(t, lines(sub), "not before the next epoch's view")
	}
	clk.Advance(time.Second)
	got := lines(sub)
	v, err := mux.AppendInfo(nil, audit.FindingsKey)
	require.NoError(t, err)
	var want []string
	for _, l := range strings.Split(string(v), "\n") {
		want = append(want, "650 CONNINFO_AUDIT "+l)
	}
	require.Len(t, want, 2, "asymmetric and private-exit")
	assert.Equal(t, want, got)
	for _, l := range got {
		for _, secret := range []string{"16777216", "10.1.2.3", "203.0.113.7"} {
			assert.NotContains(t, l, secret)
		}
	}
	clk.Advance(10 * time.Second)
	assert.Empty(t, lines(sub), "the same findings are not sent again")
}
