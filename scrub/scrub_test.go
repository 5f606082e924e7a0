package scrub_test

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/scrub"
)

var fp = connstate.Fingerprint{0x96, 0x95, 0xDF, 0xC3, 0x5F, 0xFE, 0xB8, 0x61, 0x32, 0x9B, 0x9F, 0x1A, 0xB0, 0x4C, 0x46, 0x39, 0x70, 0x20, 0xCE, 0x31}

var remotes = []netip.AddrPort{
	netip.MustParseAddrPort("128.31.0.34:9101"),
	netip.MustParseAddrPort("[2001:db8::1]:443"),
}

// listing is a Relays that lists fp at published.
type listing struct {
	fp        connstate.Fingerprint
	published []netip.AddrPort
}

func (l listing) LookupRelay(fp connstate.Fingerprint, addr netip.Addr) (netip.AddrPort, bool) {
	if fp != l.fp {
		return netip.AddrPort{}, false
	}
	for _, ap := range l.published {
		if ap.Addr() == addr {
			return ap, true
		}
	}
	return netip.AddrPort{}, true
}

var otherFP = connstate.Fingerprint{0x01, 19: 0x02}

// combinations yields every direction × established × usage × network ×
// fingerprint (none, listed, unlisted) × address (published v4, published
// v6 at another port, unpublished) × circuit (own line, carried leg,
// origin leg) entry.
func combinations(yield func(name string, e connstate.Entry) bool) {
	addrs := []netip.AddrPort{
		netip.MustParseAddrPort("128.31.0.34:50000"),  // the published IPv4 address, from a source port
		netip.MustParseAddrPort("[2001:db8::1]:9101"), // the published IPv6 address
		netip.MustParseAddrPort("198.51.100.7:443"),   // no published address
	}
	for _, dir := range []connstate.Direction{connstate.Inbound, connstate.Outbound} {
		for _, est := range []bool{false, true} {
			for u := connstate.UsageClient; u <= connstate.UsageDirectory; u++ {
				for _, n := range []connstate.Network{connstate.NetworkTor, connstate.NetworkOutside} {
					for fpName, f := range map[string]connstate.Fingerprint{"none": {}, "listed": fp, "unlisted": otherFP} {
						if n == connstate.NetworkOutside && !f.IsZero() {
							continue // the registry refuses a fingerprint without T
						}
						for _, remote := range addrs {
							for _, leg := range []struct {
								circ   uint64
								origin bool
							}{{0, false}, {3, false}, {4, true}} {
								flags := connstate.Flags{Direction: dir, Established: est, Usage: u, Network: n}
								e := connstate.Entry{ConnID: 7, CircID: leg.circ, Origin: leg.origin, Fingerprint: f, Remote: remote, LocalPort: 9001, Flags: flags, Read: 393217, Written: 131072, Uptime: 69}
								if !yield(fmt.Sprintf("%s/fp=%s/%s/circ=%d", flags, fpName, remote, leg.circ), e) {
									return
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestPublicTier checks each rule of the public tier on every combination,
// against expectations spelt out here.
func TestPublicTier(t *testing.T) {
	relays := listing{fp: fp, published: []netip.AddrPort{netip.MustParseAddrPort("128.31.0.34:9101"), netip.MustParseAddrPort("[2001:db8::1]:9101")}}
	p := scrub.Public(relays)
	for name, in := range combinations {
		t.Run(name, func(t *testing.T) {
			got, shown := p.Apply(in)
			if in.CircID != 0 && !in.Origin {
				assert.False(t, shown, "no leg of a carried circuit")
				return
			}
			require.True(t, shown, "own lines and origin legs are shown")
			listed := in.Flags.Network == connstate.NetworkTor && in.Fingerprint == fp
			published := listed && in.Remote.Addr() != netip.MustParseAddr("198.51.100.7")
			switch {
			case published && in.Remote.Addr().Is4():
				assert.Equal(t, "128.31.0.34:9101", got.Remote.String(), "the published ORPort, never the source port")
			case published:
				assert.Equal(t, "[2001:db8::1]:9101", got.Remote.String())
			default:
				assert.False(t, got.Remote.IsValid(), "no endpoint unless listed at this address")
			}
			if published && in.Flags.Direction == connstate.Inbound {
				assert.Equal(t, uint16(9001), got.LocalPort, "our own ORPort")
			} else {
				assert.Zero(t, got.LocalPort, "no ephemeral port, no unlisted peer's")
			}
			if published {
				assert.Equal(t, fp, got.Fingerprint)
			} else {
				assert.True(t, got.Fingerprint.IsZero(), "OR_ID only for a listed relay at its published address")
			}
			assert.Equal(t, uint64(524288), got.Read, "393217 rounds to 2 x 256 KiB, on every line")
			assert.Equal(t, uint64(262144), got.Written, "131072 rounds up")
			assert.Equal(t, uint64(60), got.Uptime, "whole epochs of 10 s")
			assert.Equal(t, in.ConnID, got.ConnID, "lines still appear")
			assert.Equal(t, in.CircID, got.CircID)
			assert.Equal(t, in.Flags, got.Flags)
			zero, zeroShown := scrub.Policy{}.Apply(in)
			assert.True(t, zeroShown)
			assert.False(t, zero.Remote.IsValid(), "the zero policy is public with no relays: no endpoint")
			assert.True(t, zero.Fingerprint.IsZero())
		})
	}
}

// TestTestNetworkTier checks each rule of the test-network tier on every
// combination: today's full view.
func TestTestNetworkTier(t *testing.T) {
	p := scrub.TestNetwork()
	for name, in := range combinations {
		t.Run(name, func(t *testing.T) {
			got, ok := p.Apply(in)
			require.True(t, ok, "every line is shown, legs of carried circuits too")
			relay := in.Flags.Network == connstate.NetworkTor && !in.Fingerprint.IsZero()
			shown := relay || in.Flags.Usage == connstate.UsageControl
			if shown {
				assert.Equal(t, in.Remote, got.Remote)
				assert.Equal(t, uint16(9001), got.LocalPort)
			} else {
				assert.False(t, got.Remote.IsValid(), "endpoint must be blanked")
				assert.Zero(t, got.LocalPort)
			}
			if !shown || in.CircID != 0 {
				assert.Equal(t, uint64(393216), got.Read, "rounded to 1 KiB")
				assert.Equal(t, uint64(131072), got.Written)
			} else {
				assert.Equal(t, uint64(393217), got.Read, "a shown connection's own line keeps exact counts")
			}
			assert.Equal(t, in.Fingerprint, got.Fingerprint, "OR_ID for network T")
			assert.Equal(t, in.Uptime, got.Uptime, "live")
			raw, rawOK := scrub.Unscrubbed().Apply(in)
			assert.True(t, rawOK)
			assert.Equal(t, in, raw, "unscrubbed is the identity")
		})
	}
}

func TestPublicTierWithoutRelaysFailsClosed(t *testing.T) {
	e := connstate.Entry{ConnID: 1, Fingerprint: fp, Remote: remotes[0], LocalPort: 9001,
		Flags: connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkTor}}
	for _, p := range []scrub.Policy{scrub.Public(nil), {}} {
		got, ok := p.Apply(e)
		require.True(t, ok)
		assert.True(t, got.Fingerprint.IsZero())
		assert.False(t, got.Remote.IsValid())
		assert.Zero(t, got.LocalPort)
	}
}

func TestTotals(t *testing.T) {
	in := connstate.Totals{RelayRead: 131071, RelayWritten: 131072, TrafficRead: 1 << 20, TrafficWritten: 393216}
	assert.Equal(t, connstate.Totals{RelayRead: 0, RelayWritten: 262144, TrafficRead: 1 << 20, TrafficWritten: 524288}, scrub.Public(nil).Totals(in))
	assert.Equal(t, in, scrub.TestNetwork().Totals(in), "live tiers: exact, as tor's traffic/*")
	assert.Equal(t, in, scrub.Unscrubbed().Totals(in))
}

func TestEpochLength(t *testing.T) {
	assert.Equal(t, 10*time.Second, scrub.Public(nil).EpochLength())
	assert.Equal(t, 2*time.Second, scrub.Policy{Epoch: 2900 * time.Millisecond}.EpochLength(), "whole seconds")
	assert.Equal(t, time.Second, scrub.Policy{Epoch: time.Millisecond}.EpochLength(), "at least one")
	assert.Zero(t, scrub.TestNetwork().EpochLength(), "live")
	assert.Zero(t, scrub.Unscrubbed().EpochLength())
}

func TestRoundHalfUp(t *testing.T) {
	tests := []struct{ n, m, want uint64 }{
		{0, 1024, 0},
		{1, 1024, 0},
		{511, 1024, 0},
		{512, 1024, 1024},
		{1023, 1024, 1024},
		{1024, 1024, 1024},
		{1535, 1024, 1024},
		{1536, 1024, 2048},
		{math.MaxUint64, 1024, math.MaxUint64 - 1023},
		{math.MaxUint64 - 1535, 1024, math.MaxUint64 - 1023},
		{math.MaxUint64 - 1536, 1024, math.MaxUint64 - 2047},
		{1, 3, 0},
		{2, 3, 3},
		{4, 3, 3},
		{5, 3, 6},
		{math.MaxUint64, 0, math.MaxUint64},
		{12345, 1, 12345},
		{math.MaxUint64, math.MaxUint64, math.MaxUint64},
		{math.MaxUint64 / 2, math.MaxUint64, 0},
		{math.MaxUint64/2 + 1, math.MaxUint64, math.MaxUint64},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, scrub.RoundHalfUp(tt.n, tt.m), "RoundHalfUp(%d, %d)", tt.n, tt.m)
	}
}

func TestRoundHalfUpProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.Uint64().Draw(t, "n")
		// Powers of two take a mask instead of a division: draw them often.
		powerOfTwo := rapid.Map(rapid.IntRange(1, 63), func(k int) uint64 { return 1 << k })
		m := rapid.OneOf(rapid.Uint64Range(2, 1<<40), powerOfTwo).Draw(t, "m")
		got := scrub.RoundHalfUp(n, m)
		assert.Zero(t, got%m, "a multiple of m")
		var dist uint64
		if got > n {
			dist = got - n
		} else {
			dist = n - got
		}
		assert.LessOrEqual(t, dist, m, "within one step: %d -> %d", n, got)
		if n <= math.MaxUint64-m {
			assert.LessOrEqual(t, dist, m/2+m%2, "nearest multiple: %d -> %d", n, got)
			if m%2 == 0 && n%m == m/2 {
				assert.Greater(t, got, n, "a half rounds up: %d -> %d", n, got)
			}
		}
	})
}

func TestPolicyNames(t *testing.T) {
	assert.Equal(t, "public (epoch 10s, bytes rounded to 262144)", scrub.Public(nil).String())
	assert.Equal(t, scrub.Public(nil).String(), scrub.Policy{}.String(), "the zero Policy is the public tier")
	assert.Equal(t, "testnet (live, bytes rounded to 1024)", scrub.TestNetwork().String())
	assert.Equal(t, "unscrubbed", scrub.Unscrubbed().String())
	assert.True(t, scrub.Unscrubbed().Reveals())
	assert.False(t, scrub.Public(nil).Reveals())
	assert.False(t, scrub.TestNetwork().Reveals())
	for _, tier := range []scrub.Tier{scrub.TierPublic, scrub.TierTestNetwork, scrub.TierUnscrubbed} {
		got, err := scrub.ParseTier(tier.String())
		require.NoError(t, err)
		assert.Equal(t, tier, got)
	}
	_, err := scrub.ParseTier("default")
	assert.ErrorIs(t, err, scrub.ErrUnknownTier)
	assert.Equal(t, scrub.TierPublic, scrub.Policy{}.Tier())
}

func TestRoundWithOffsetProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := rapid.Uint64Range(2, 300).Draw(t, "g")
		n := rapid.Uint64Range(0, 1<<40).Draw(t, "n")
		var sum uint64
		for off := range g {
			got := scrub.RoundWithOffset(n, g, off)
			assert.Zero(t, got%g, "a multiple of g")
			assert.True(t, got <= n+off && n+off < got+g, "n+off rounded down: %d %d -> %d", n, off, got)
			sum += got
		}
		assert.Equal(t, n*g, sum, "unbiased: the mean over every offset is n")
		assert.Equal(t, scrub.RoundHalfUp(n, g), scrub.RoundWithOffset(n, g, g/2), "half up is the offset g/2")
		assert.Less(t, scrub.DitherOffset(rapid.Uint64().Draw(t, "seed"), n, n/3, 1, g), g)
	})
	assert.Equal(t, uint64(math.MaxUint64-math.MaxUint64%1000), scrub.RoundWithOffset(math.MaxUint64-5, 1000, 999), "no wrap near 2^64")
}

// Dithering moves every count to a multiple of the granularity, the same
// for a seed, another for another seed; multiples of it stay as they are.
func TestDithered(t *testing.T) {
	e := connstate.Entry{ConnID: 7, Read: 393217, Written: 3 * scrub.PublicRound,
		Flags: connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside}}
	seen := map[uint64]bool{}
	for seed := range uint64(64) {
		got, ok := scrub.Public(nil).Dithered(seed).Apply(e)
		require.True(t, ok)
		assert.Contains(t, []uint64{262144, 524288}, got.Read)
		assert.Equal(t, uint64(3*scrub.PublicRound), got.Written, "a multiple stays")
		again, _ := scrub.Public(nil).Dithered(seed).Apply(e)
		assert.Equal(t, got, again, "a seed gives the same answer")
		seen[got.Read] = true
	}
	assert.Len(t, seen, 2, "both neighbours appear over seeds")
	tot := scrub.Public(nil).Dithered(5).Totals(connstate.Totals{RelayRead: 1, TrafficRead: 4 * scrub.PublicRound})
	assert.Contains(t, []uint64{0, scrub.PublicRound}, tot.RelayRead)
	assert.Equal(t, uint64(4*scrub.PublicRound), tot.TrafficRead)
	got, _ := scrub.TestNetwork().Dithered(5).Apply(e)
	assert.Equal(t, uint64(393216), got.Read, "the test-network tier is not dithered")
}

func TestPseudonymsPermute(t *testing.T) {
	p := scrub.NewPseudonyms(1, 2)
	assert.Zero(t, p.Conn(0), "no circuit stays no circuit")
	seen := map[uint64]uint64{}
	for id := uint64(1); id <= 100000; id++ {
		got := p.Conn(id)
		require.NotZero(t, got)
		if prev, dup := seen[got]; dup {
			t.Fatalf("IDs %d and %d share pseudonym %d", prev, id, got)
		}
		seen[got] = id
		assert.Equal(t, got, p.Conn(id), "stable")
	}
	// Consecutive IDs land far apart and out of order.
	inOrder := 0
	for id := uint64(1); id < 1000; id++ {
		if p.Conn(id) < p.Conn(id+1) {
			inOrder++
		}
	}
	assert.InDelta(t, 500, inOrder, 100, "order is not kept")
	assert.NotEqual(t, p.Conn(5), scrub.NewPseudonyms(1, 3).Conn(5), "another key, another permutation")
	same := 0
	for id := uint64(1); id <= 100000; id++ {
		if p.Circ(id) == p.Conn(id) {
			same++
		}
	}
	assert.Zero(t, same, "circuits and connections numbered alike are shown apart")
	assert.Zero(t, p.Circ(0))
	rapid.Check(t, func(t *rapid.T) {
		a, b := rapid.Uint64Min(1).Draw(t, "a"), rapid.Uint64Min(1).Draw(t, "b")
		q := scrub.NewPseudonyms(rapid.Uint64().Draw(t, "k0"), rapid.Uint64().Draw(t, "k1"))
		if a != b {
			assert.NotEqual(t, q.Conn(a), q.Conn(b))
		}
		assert.NotZero(t, q.Conn(a))
		// An ID below 2^52 keeps within 16 digits, as stem wants an ID; a
		// larger one stays out of that range, so that none collide.
		for _, id := range []uint64{a, b, rapid.Uint64Range(1, scrub.MaxShortPseudonym).Draw(t, "short")} {
			short := id <= scrub.MaxShortPseudonym
			assert.Equal(t, short, q.Conn(id) <= scrub.MaxShortPseudonym, "conn %d", id)
			assert.Equal(t, short, q.Circ(id) <= scrub.MaxShortPseudonym, "circ %d", id)
		}
	})
	assert.Len(t, strconv.FormatUint(scrub.MaxShortPseudonym, 10), 16)
}
