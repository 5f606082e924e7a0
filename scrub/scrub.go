package scrub

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// Tier names a policy's level of disclosure.
type Tier uint8

// The tiers. The zero Tier is the public one, so that a zero [Policy]
// discloses least.
const (
	TierPublic      Tier = iota // a relay on the public Tor network: the default
	TierTestNetwork             // a test network or relay test harness: the proposal's full view
	TierUnscrubbed              // raw, for validating the registry on a machine you control
)

// String returns "public", "testnet" or "unscrubbed": the names
// [ParseTier] reads, as relaysim's -policy flag takes them.
func (t Tier) String() string {
	switch t {
	case TierPublic:
		return "public"
	case TierTestNetwork:
		return "testnet"
	case TierUnscrubbed:
		return "unscrubbed"
	}
	return fmt.Sprintf("Tier(%d)", uint8(t))
}

// ErrUnknownTier is wrapped by the error of [ParseTier].
var ErrUnknownTier = errors.New("scrub: unknown tier")

// ParseTier reads a tier's name as [Tier.String] writes it.
func ParseTier(s string) (Tier, error) {
	for t := TierPublic; t <= TierUnscrubbed; t++ {
		if s == t.String() {
			return t, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want public, testnet or unscrubbed", ErrUnknownTier, s)
}

// Relays says which peers are public relays: the host's consensus. A
// *consensus.Consensus and a *consensus.FileSource are Relays.
//
// It must be safe for concurrent use.
type Relays interface {
	// LookupRelay reports whether a public relay has identity fp, and, if
	// addr is an address at which that relay publishes an ORPort, that
	// address and ORPort; the zero AddrPort otherwise.
	LookupRelay(fp connstate.Fingerprint, addr netip.Addr) (orport netip.AddrPort, listed bool)
}

// The tiers' defaults.
const (
	// PublicRound is the multiple to which the public tier rounds every
	// byte count: 256 KiB, chosen from the analysis in SECURITY.md
	// (scrub's TestGranularityAnalysis): a reading tells under 0.05 bit
	// about whether a signal of 100 cells (a SENDME window) was added to a
	// line in its epoch, and under 0.001 about a single cell.
	PublicRound = 256 << 10
	// TestNetworkRound is the multiple to which the test-network tier
	// rounds the bytes of scrubbed lines and of every leg.
	TestNetworkRound = 1024
	// DefaultEpoch is the public tier's epoch: every answer comes from a
	// snapshot taken at a multiple of it.
	DefaultEpoch = 10 * time.Second
)

// Policy says what of an entry may be shown. Policies are values: build
// one with [Public], [TestNetwork] or [Unscrubbed], and change its fields
// if needed. The zero Policy is the public tier without a source of
// public relays: it shows no endpoint at all.
type Policy struct {
	// Round is the multiple to which byte counts are rounded, half up: 0
	// means the tier's default ([PublicRound] or [TestNetworkRound]); 1
	// keeps the counts exact. The unscrubbed tier ignores it.
	Round uint64
	// Epoch is the public tier's epoch: 0 means [DefaultEpoch]; it is
	// rounded down to whole seconds, and is at least one. The other tiers
	// answer live and ignore it.
	Epoch time.Duration
	// Relays is the public tier's source of public relays; without it the
	// public tier shows no endpoint and no OR_ID. The other tiers ignore it.
	Relays Relays

	// tier is unexported so that only the constructors choose it: no
	// literal, zero value or typo can disclose more than the public tier.
	tier Tier
	// seed draws the public tier's rounding offsets; dithered says it is
	// set (see [Policy.Dithered]).
	seed     uint64
	dithered bool
}

// Public returns the public tier, the default: what a relay on the real
// Tor network may tell any controller.
//
//   - IP:PORT only for a peer with network 'T' whose fingerprint relays
//     lists, and only when the connection's address is one the relay
//     publishes: then it is that published address and ORPort, never an
//     inbound connection's source port. L_PORT only on such inbound
//     connections (this relay's own ORPort); an outbound one's ephemeral
//     port is not shown. Every other line shows "0 0".
//   - OR_ID only with that IP:PORT: for a peer that relays lists, at an
//     address it publishes.
//   - No leg line of a circuit carried for others; the legs of circuits
//     this relay built ([connstate.Entry.Origin]) stay.
//   - Every READ and WRITE rounded to [PublicRound], totals included.
//   - UPTIME in whole epochs: rounded down to a multiple of the epoch's
//     seconds.
//
// With relays nil nothing is listed, so no endpoint is shown: it fails
// closed.
func Public(relays Relays) Policy { return Policy{Relays: relays} }

// TestNetwork returns the test-network tier: the proposal's full view,
// for test networks and relay test harnesses, as tor's TestingTorNetwork
// gates CONN_BW. IP:PORT and L_PORT for a relay peer with a fingerprint
// (network 'T') and for control connections; OR_ID for network 'T'; the
// legs of every circuit; live values; READ and WRITE rounded to
// [TestNetworkRound] on every line whose endpoints are blanked and on
// every leg.
func TestNetwork() Policy { return Policy{tier: TierTestNetwork} }

// Unscrubbed returns the policy that shows every entry as it is, endpoints
// and exact counts included. It exists for validating the registry against
// the system's own tools on a machine you control; never serve it to a
// controller you do not fully trust.
func Unscrubbed() Policy { return Policy{tier: TierUnscrubbed} }

// Tier returns the policy's tier.
func (p Policy) Tier() Tier { return p.tier }

// Reveals reports whether p is the unscrubbed policy.
func (p Policy) Reveals() bool { return p.tier == TierUnscrubbed }

// String names the policy, for logs and views: its tier, and its epoch
// and rounding where they apply.
func (p Policy) String() string {
	switch p.tier {
	case TierPublic:
		return fmt.Sprintf("public (epoch %v, bytes rounded to %d)", p.EpochLength(), p.Granularity())
	case TierTestNetwork:
		return fmt.Sprintf("testnet (live, bytes rounded to %d)", p.Granularity())
	}
	return p.tier.String()
}

// Granularity returns the multiple byte counts are rounded to: 1 for the
// unscrubbed tier.
func (p Policy) Granularity() uint64 {
	switch {
	case p.tier == TierUnscrubbed:
		return 1
	case p.Round != 0:
		return p.Round
	case p.tier == TierPublic:
		return PublicRound
	}
	return TestNetworkRound
}

// EpochLength returns the public tier's epoch in whole seconds, at least
// one; 0 for the live tiers.
func (p Policy) EpochLength() time.Duration {
	if p.tier != TierPublic {
		return 0
	}
	if p.Epoch == 0 {
		return DefaultEpoch
	}
	return max(p.Epoch.Truncate(time.Second), time.Second)
}

// Dithered returns p rounding, in the public tier, with offsets drawn
// from seed: each count x is shown as G·floor((x+u)/G), u in [0, G) drawn
// afresh for each line's READ and WRITE and for each total, where the
// undithered public tier rounds half up (u = G/2). Package getinfo gives
// each epoch's view a fresh random seed, so that an attacker who adds
// bytes of their own to a line cannot find, and then sit on, the point
// where its rounding steps: the review's calibration attack. Counts that
// are multiples of G, and 0, are shown as they are, whatever the seed.
func (p Policy) Dithered(seed uint64) Policy {
	p.seed, p.dithered = seed, true
	return p
}

// The fields a dithering offset is drawn for.
const (
	fieldRead uint64 = iota + 1
	fieldWritten
	fieldRelayRead
	fieldRelayWritten
	fieldTrafficRead
	fieldTrafficWritten
)

// round rounds n, the field of the line (conn, circ), to g: half up, or
// with the dithering offset when p is dithered.
func (p Policy) round(n, g, conn, circ, field uint64) uint64 {
	if !p.dithered || g <= 1 {
		return RoundHalfUp(n, g)
	}
	return RoundWithOffset(n, g, DitherOffset(p.seed, conn, circ, field, g))
}

// DitherOffset is the offset in [0, g) that a dithered policy with seed
// adds to field (1 READ, 2 WRITE; 3 to 6 the relay and traffic totals,
// read then written, with conn and circ 0) of the line (conn, circ)
// before rounding down: a SplitMix64 finalizer over the seed and the
// line's identity. It is exported so that tests can restate it.
func DitherOffset(seed, conn, circ, field, g uint64) uint64 {
	if g <= 1 {
		return 0
	}
	return mix64(seed^conn*0x9E3779B97F4A7C15^circ*0xC2B2AE3D27D4EB4F^field*0x165667B19E3779F9) % g
}

// RoundWithOffset returns g·floor((n+off)/g), off below g: n rounded down
// after adding off, staying at the largest multiple of g that fits where
// the sum would pass 2^64. Below that, [RoundHalfUp] is RoundWithOffset
// with off = g/2, and the mean over every off in [0, g) is n itself: a
// uniform offset rounds without bias.
func RoundWithOffset(n, g, off uint64) uint64 {
	if g <= 1 {
		return n
	}
	if n > math.MaxUint64-off {
		return math.MaxUint64 - math.MaxUint64%g
	}
	sum := n + off
	return sum - sum%g
}

// Apply returns what of e may be shown under p, and false if the line
// must not be shown at all. It is a pure function of its arguments and of
// what p.Relays answers.
func (p Policy) Apply(e connstate.Entry) (connstate.Entry, bool) {
	shown := p.Scrub(&e)
	return e, shown
}

// Scrub changes *e in place to what may be shown under p, as
// [Policy.Apply] returns it, and reports false if the line must not be
// shown: the form for a buffer of entries about to be formatted.
func (p Policy) Scrub(e *connstate.Entry) bool {
	switch p.tier {
	case TierUnscrubbed:
		return true
	case TierTestNetwork:
		p.scrubTestNetwork(e)
		return true
	case TierPublic:
		return p.scrubPublic(e)
	}
	*e = connstate.Entry{} // an impossible tier shows nothing
	return false
}

func (p Policy) scrubPublic(e *connstate.Entry) bool {
	if e.CircID != 0 && !e.Origin {
		return false
	}
	var published netip.AddrPort
	listed := false
	if e.Flags.Network == connstate.NetworkTor && !e.Fingerprint.IsZero() && p.Relays != nil {
		published, listed = p.Relays.LookupRelay(e.Fingerprint, e.Remote.Addr())
	}
	if !listed || !published.IsValid() {
		// Unlisted, or listed but not at this address: a claim anyone can
		// make, which must not label the line with a public identity.
		e.Fingerprint, published = connstate.Fingerprint{}, netip.AddrPort{}
	}
	if !published.IsValid() || e.Flags.Direction != connstate.Inbound {
		e.LocalPort = 0
	}
	e.Remote = published
	g := p.Granularity()
	e.Read = p.round(e.Read, g, e.ConnID, e.CircID, fieldRead)
	e.Written = p.round(e.Written, g, e.ConnID, e.CircID, fieldWritten)
	epoch := uint64(p.EpochLength() / time.Second)
	e.Uptime -= e.Uptime % epoch
	return true
}

// scrubTestNetwork applies the test-network tier's rules.
func (p Policy) scrubTestNetwork(e *connstate.Entry) {
	if e.Flags.Network != connstate.NetworkTor {
		e.Fingerprint = connstate.Fingerprint{}
	}
	relay := e.Flags.Network == connstate.NetworkTor && !e.Fingerprint.IsZero()
	shown := relay || e.Flags.Usage == connstate.UsageControl
	if !shown {
		e.Remote = netip.AddrPort{}
		e.LocalPort = 0
	}
	// A leg's bytes are rounded even on a relay's line: a relay forwards
	// cells one for one, so the exact bytes of a circuit's relay leg would
	// give away those of its client or exit leg.
	if !shown || e.CircID != 0 {
		g := p.Granularity()
		e.Read, e.Written = RoundHalfUp(e.Read, g), RoundHalfUp(e.Written, g)
	}
}

// Totals returns what of the byte totals may be shown under p: each
// rounded to [Policy.Granularity] in the public tier (dithered, if p is),
// exact in the others.
func (p Policy) Totals(t connstate.Totals) connstate.Totals {
	if p.tier != TierPublic {
		return t
	}
	g := p.Granularity()
	return connstate.Totals{
		RelayRead:      p.round(t.RelayRead, g, 0, 0, fieldRelayRead),
		RelayWritten:   p.round(t.RelayWritten, g, 0, 0, fieldRelayWritten),
		TrafficRead:    p.round(t.TrafficRead, g, 0, 0, fieldTrafficRead),
		TrafficWritten: p.round(t.TrafficWritten, g, 0, 0, fieldTrafficWritten),
	}
}

// RoundHalfUp rounds n to the nearest multiple of m, halves rounding up; m
// of 0 or 1 returns n. A result beyond the uint64 range is the largest
// multiple of m that fits, so rounding never wraps around to a small number.
func RoundHalfUp(n, m uint64) uint64 {
	if m <= 1 {
		return n
	}
	var r uint64
	if m&(m-1) == 0 {
		r = n & (m - 1) // every tier's default is a power of two: no division
	} else {
		r = n % m
	}
	down := n - r
	if r < m-m/2 { // below the half: m-m/2 is the half, rounded up for odd m
		return down
	}
	if down > math.MaxUint64-m {
		return down
	}
	return down + m
}
