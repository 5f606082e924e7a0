package scrub_test

import (
	"fmt"
	"math"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/scrub"
)

var fp = connstate.Fingerprint{0x96, 0x95, 0xDF, 0xC3, 0x5F, 0xFE, 0xB8, 0x61, 0x32, 0x9B, 0x9F, 0x1A, 0xB0, 0x4C, 0x46, 0x39, 0x70, 0x20, 0xCE, 0x31}

var remotes = []netip.AddrPort{
	netip.MustParseAddrPort("128.31.0.34:9101"),
	netip.MustParseAddrPort("[2001:db8::1]:443"),
}

// TestEveryCombination walks direction × established × usage × network ×
// fingerprint × address family and checks each rule of the default policy.
func TestEveryCombination(t *testing.T) {
	p := scrub.Default()
	for _, dir := range []connstate.Direction{connstate.Inbound, connstate.Outbound} {
		for _, est := range []bool{false, true} {
			for u := connstate.UsageClient; u <= connstate.UsageDirectory; u++ {
				for _, n := range []connstate.Network{connstate.NetworkTor, connstate.NetworkOutside} {
					for _, withFP := range []bool{false, true} {
						for _, remote := range remotes {
							flags := connstate.Flags{Direction: dir, Established: est, Usage: u, Network: n}
							in := connstate.Entry{ConnID: 7, CircID: 3, Remote: remote, LocalPort: 9001, Flags: flags, Read: 1535, Written: 512, Uptime: 60}
							if withFP {
								in.Fingerprint = fp
							}
							name := fmt.Sprintf("%s/fp=%v/%s", flags, withFP, remote)
							t.Run(name, func(t *testing.T) {
								got := p.Apply(in)
								shown := (n == connstate.NetworkTor && withFP) || u == connstate.UsageControl
								assert.Equal(t, shown, scrub.ShowsEndpoints(&in))
								if shown {
									assert.Equal(t, remote, got.Remote)
									assert.Equal(t, uint16(9001), got.LocalPort)
									assert.Equal(t, uint64(1024), got.Read, "a leg is rounded even on a shown line")
									assert.Equal(t, uint64(1024), got.Written)
									own := in
									own.CircID = 0
									assert.Equal(t, uint64(1535), p.Apply(own).Read, "a shown connection's own line keeps exact counts")
								} else {
									assert.False(t, got.Remote.IsValid(), "endpoint must be blanked")
									assert.Zero(t, got.LocalPort)
									assert.Equal(t, uint64(1024), got.Read, "1535 rounds down")
									assert.Equal(t, uint64(1024), got.Written, "512 rounds up")
								}
								if n == connstate.NetworkTor {
									assert.Equal(t, in.Fingerprint, got.Fingerprint)
								} else {
									assert.True(t, got.Fingerprint.IsZero(), "OR_ID only for network T")
								}
								assert.Equal(t, in.ConnID, got.ConnID, "scrubbed lines still appear")
								assert.Equal(t, in.CircID, got.CircID)
								assert.Equal(t, in.Flags, got.Flags)
								assert.Equal(t, in.Uptime, got.Uptime)
								assert.Equal(t, in, scrub.Unscrubbed().Apply(in), "unscrubbed is the identity")
								assert.Equal(t, got, scrub.Policy{}.Apply(in), "the zero policy is the default one")
							})
						}
					}
				}
			}
		}
	}
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
		m := rapid.Uint64Range(2, 1<<40).Draw(t, "m")
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
		}
	})
}

func TestPolicyNames(t *testing.T) {
	assert.Equal(t, "scrubbed, bytes rounded", scrub.Default().String())
	assert.Equal(t, "scrubbed, bytes rounded", scrub.Policy{}.String(), "the zero Policy rounds")
	assert.Equal(t, "scrubbed, exact bytes", scrub.Policy{Round: 1}.String())
	assert.Equal(t, "unscrubbed", scrub.Unscrubbed().String())
	assert.True(t, scrub.Unscrubbed().Reveals())
	assert.False(t, scrub.Default().Reveals())
}
