package hostile

import (
	"testing"

	"github.com/conninfo/conninfo/controlport/controlporttest"
)

// All runs every check as a subtest, in an order that leaves the limits
// check last.
func All(t testing.TB, addr string, auth controlporttest.Auth, lim Limits) {
	sub(t, "SlowClients", func(t testing.TB) { SlowClients(t, addr, auth, lim) })
	sub(t, "SilentFlood", func(t testing.TB) { SilentFlood(t, addr, auth) })
	sub(t, "TrickleFlood", func(t testing.TB) { TrickleFlood(t, addr, auth) })
	sub(t, "BadLineFlood", func(t testing.TB) { BadLineFlood(t, addr, auth) })
	sub(t, "LongLine", func(t testing.TB) { LongLine(t, addr, auth) })
	sub(t, "Pipelined", func(t testing.TB) { Pipelined(t, addr, auth) })
	sub(t, "NeverReads", func(t testing.TB) { NeverReads(t, addr, auth, lim) })
	sub(t, "BruteForce", func(t testing.TB) { BruteForce(t, addr, auth) })
	sub(t, "HostileBytes", func(t testing.TB) { HostileBytes(t, addr, auth) })
	sub(t, "TooManyControllers", func(t testing.TB) { TooManyControllers(t, addr, auth, lim) })
}
