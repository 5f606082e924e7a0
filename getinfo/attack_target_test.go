package getinfo_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/oracle"
	"github.com/conninfo/conninfo/scrub"
)

// attackTier is a tier the attacks run against, and which of them it
// must defeat.
type attackTier struct {
	name        string
	defends     func(attack string) bool
	granularity int64 // what the readings are multiples of
}

// attackTiers: the public tier defeats every attack; the test-network
// tier, the proposal's full view and the old default, only F4, since the
// totals follow tor's rule whatever the tier. The public tier with the
// same rounding offsets in every view (a fixed seed, which serving never
// uses) is there to show what dithering defends against: calibration.
func attackTiers() []attackTier {
	return []attackTier{
		{"public", func(string) bool { return true }, scrub.PublicRound},
		{"public-fixed-offsets", func(attack string) bool { return attack != "calibration" }, scrub.PublicRound},
		{"testnet", func(attack string) bool { return attack == "F4" }, 1},
	}
}

// newAttackTarget serves a new registry, on a fake clock at an instant of
// the epoch grid, under the named tier, with listed as its consensus.
func newAttackTarget(t *testing.T, tier string, listed map[connstate.Fingerprint][]netip.AddrPort) *attackRelay {
	t.Helper()
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	h := &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.TestNetwork()}
	shown := func(id uint64) uint64 { return id }
	if tier != "testnet" {
		h.Policy = scrub.Public(connstatetest.ListedRelays(listed))
		// The secrets drawn at random, except the pseudonyms' keys, which the
		// attacker is granted to find its own lines; with fixed offsets, the
		// rounding seed is the same in every view.
		draws := 0
		h.Seeds = func() uint64 {
			if draws++; draws <= 2 || tier == "public-fixed-offsets" {
				return 0x5eed
			}
			return rand.Uint64()
		}
		shown = func(id uint64) uint64 { return oracle.Pseudonym(0x5eed, 0x5eed, id) }
	}
	m := getinfo.NewMux()
	h.Register(m)
	return &attackRelay{reg: reg, clk: clk, mux: m, shown: shown}
}
