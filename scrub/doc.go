// Package scrub decides what of a connection entry may be shown: it blanks
// the endpoints of clients, exits and anything it cannot classify, and
// rounds their byte counts, failing closed.
//
// [Default] returns the policy every reply should use:
//
//   - IP:PORT and L_PORT are shown only when the peer is a Tor relay with a
//     known fingerprint (network 'T' and OR_ID set) or the connection is a
//     control connection (usage 'X'). Every other line shows "0 0".
//   - OR_ID is shown only for network 'T'.
//   - READ and WRITE of a line whose endpoints were blanked, and of every
//     circuit leg, are rounded to the nearest multiple of [Policy.Round]
//     (1024 by default), so that exact byte counts cannot feed a
//     correlation attack. Legs are rounded even on a relay's line: a relay
//     forwards a circuit's cells one for one, so the exact bytes of its
//     relay leg would give away those of its client or exit leg.
//   - Scrubbed lines are never dropped: their existence, flags, rounded
//     bytes and uptime are what operators need to see.
//
// The zero Policy is the default one: it blanks the same endpoints and
// rounds to 1024 bytes. The only
// way to see raw endpoints is [Unscrubbed], a policy named for local
// validation against netstat or ss.
//
// # Concurrency
//
// A Policy is a small immutable value and [Policy.Apply] is a pure
// function: both are safe for concurrent use.
package scrub
