// Package scrub decides what of a connection entry may be shown, in three
// named tiers; the host picks one, and the default is the public one.
//
//   - [Public], the default and the zero [Policy]: what a relay on the
//     public Tor network may tell any controller. Endpoints and OR_ID only
//     for peers that the host's [Relays] (its consensus) lists as public
//     relays, shown as their published address and ORPort; no leg lines
//     of circuits carried for others; every byte count, totals included,
//     rounded to [PublicRound]; UPTIME in whole epochs. Package getinfo
//     answers this tier from one snapshot per epoch ([DefaultEpoch]),
//     shared by every controller, rounding with offsets drawn afresh for
//     each view ([Policy.Dithered]) and showing IDs as [Pseudonyms].
//     Without a Relays it shows no endpoint: it fails closed.
//   - [TestNetwork]: the proposal's full view, for test networks and relay
//     test harnesses, opted into by name as tor's TestingTorNetwork gates
//     CONN_BW: the legs of every circuit, live values, 1 KiB rounding of
//     scrubbed lines and legs, endpoints of relays with a fingerprint.
//   - [Unscrubbed]: raw, for validating the registry against netstat or ss
//     on a machine you control.
//
// Scrubbed lines are never dropped, except the legs the public tier keeps
// to itself: a line's existence, flags, rounded bytes and uptime are what
// operators need to see. SECURITY.md in the repository gives the threat
// model, what each tier reveals with measured figures, and the tests that
// prove it.
//
// # Concurrency
//
// A Policy is a small immutable value and [Policy.Apply] is a pure
// function of its arguments and of its Relays' answers: both are safe for
// concurrent use when the Relays is, as it must be.
package scrub
