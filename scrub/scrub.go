package scrub

import (
	"math"
	"net/netip"

	"github.com/conninfo/conninfo/connstate"
)

// DefaultRound is the multiple to which [Default] rounds the byte counts of
// scrubbed lines.
const DefaultRound = 1024

// Policy says what of an entry may be shown. Policies are values: build one
// with [Default] or [Unscrubbed], and change Round if needed.
type Policy struct {
	// Round is the multiple to which READ and WRITE of scrubbed lines and
	// of every circuit leg are rounded, half up: 0 means [DefaultRound], so
	// that the zero Policy rounds too; 1 keeps the counts exact.
	Round uint64

	// reveal is unexported so that only Unscrubbed can turn scrubbing off:
	// no literal, zero value or typo can.
	reveal bool
}

// Default returns the fail-closed policy, rounding to [DefaultRound] bytes.
func Default() Policy { return Policy{Round: DefaultRound} }

// Unscrubbed returns the policy that shows every entry as it is, endpoints
// and exact counts included. It exists for validating the registry against
// the system's own tools on a machine you control; never serve it to a
// controller you do not fully trust.
func Unscrubbed() Policy { return Policy{reveal: true} }

// Reveals reports whether p is the unscrubbed policy.
func (p Policy) Reveals() bool { return p.reveal }

// String names the policy, for logs.
func (p Policy) String() string {
	if p.reveal {
		return "unscrubbed"
	}
	if p.Round == 1 {
		return "scrubbed, exact bytes"
	}
	return "scrubbed, bytes rounded"
}

// ShowsEndpoints reports whether the default rules let e's IP:PORT and
// L_PORT be shown: a relay peer with a known fingerprint, or a control
// connection.
func ShowsEndpoints(e *connstate.Entry) bool {
	relay := e.Flags.Network == connstate.NetworkTor && !e.Fingerprint.IsZero()
	return relay || e.Flags.Usage == connstate.UsageControl
}

// Apply returns what of e may be shown under p. It is a pure function of
// its arguments.
func (p Policy) Apply(e connstate.Entry) connstate.Entry {
	p.Scrub(&e)
	return e
}

// Scrub changes *e in place to what may be shown under p, as [Policy.Apply]
// returns it: the form for a buffer of entries that is about to be
// formatted, which spares copying each.
func (p Policy) Scrub(e *connstate.Entry) {
	if p.reveal {
		return
	}
	if e.Flags.Network != connstate.NetworkTor {
		e.Fingerprint = connstate.Fingerprint{}
	}
	shown := ShowsEndpoints(e)
	if !shown {
		e.Remote = netip.AddrPort{}
		e.LocalPort = 0
	}
	// A leg's bytes are rounded even on a relay's line: a relay forwards
	// cells one for one, so the exact bytes of a circuit's relay leg would
	// give away those of its client or exit leg.
	if !shown || e.CircID != 0 {
		round := p.Round
		if round == 0 {
			round = DefaultRound
		}
		e.Read = RoundHalfUp(e.Read, round)
		e.Written = RoundHalfUp(e.Written, round)
	}
}

// RoundHalfUp rounds n to the nearest multiple of m, halves rounding up; m
// of 0 or 1 returns n. A result beyond the uint64 range is the largest
// multiple of m that fits, so rounding never wraps around to a small number.
func RoundHalfUp(n, m uint64) uint64 {
	if m <= 1 {
		return n
	}
	down := n - n%m
	if n%m < m-m/2 { // below the half: m-m/2 is the half, rounded up for odd m
		return down
	}
	if down > math.MaxUint64-m {
		return down
	}
	return down + m
}
