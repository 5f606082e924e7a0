package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/controlport/hostile"
	"github.com/conninfo/conninfo/format"
)

// startedHostile runs relaysim with args and returns its control address.
func startedHostile(t *testing.T, args ...string) (addr string, out *syncBuffer, wait func() error) {
	t.Helper()
	out, wait = started(t, append([]string{"-control", "127.0.0.1:0", "-conns", "20", "-quiet"}, args...)...)
	return controlAddr(t, out.String()), out, wait
}

// controllers counts the control connections ('IXt') in conn/all.
func controllers(t *testing.T, c *controlporttest.Client) int {
	t.Helper()
	n := 0
	for _, line := range connAll(t, c) {
		e, err := format.Parse(line)
		require.NoError(t, err, line)
		if e.CircID == 0 && e.Flags.String() == "IXt" {
			n++
		}
	}
	return n
}

// TestHostileControllers runs the hostile-controller checks against a
// running relaysim with cookie authentication and its default limits,
// while a controller of the test's own stays connected: it counts against
// MaxControllers, and must be unaffected throughout. relaysim's AuthTimeout
// (30 s) and WriteTimeout (30 s) are too long to wait for, so those two
// sub-checks skip; relaysim runs in this process, so its heap is sampled.
func TestHostileControllers(t *testing.T) {
	addr, out, wait := startedHostile(t)
	auth := cookieAuth(t, out.String())

	held := connect(t, out.String(), nil)
	require.Equal(t, []string{version}, held.GetInfo("version"))
	require.Equal(t, 1, controllers(t, held), "the test's controller is the only one")

	hostile.All(t, addr, auth, hostile.Limits{
		MaxControllers:     controlport.DefaultMaxControllers,
		MaxUnauthenticated: controlport.DefaultMaxUnauthenticated,
		Held:               1,
		SameProcess:        true,
	})

	// The held controller was served throughout, and every hostile
	// connection has left the relay's registry.
	require.Equal(t, []string{version}, held.GetInfo("version"))
	require.Eventually(t, func() bool { return controllers(t, held) == 1 }, 10*time.Second, 50*time.Millisecond,
		"control connections left on the relay")
	require.Equal(t, []string{"250 closing connection"}, held.Command("QUIT").Lines)
	require.NoError(t, wait())
	require.Contains(t, out.String(), "relaysim: stopped")
}

// TestHostilePasswordBruteForce runs the brute-force check against relaysim
// with password authentication.
func TestHostilePasswordBruteForce(t *testing.T) {
	const password = `s3cret "quoted" \ too`
	addr, _, wait := startedHostile(t, "-auth", "password", "-password", password)
	hostile.BruteForce(t, addr, controlporttest.Auth{Password: password})
	require.NoError(t, wait())
}

// TestHostileBytesNullAuth runs the hostile-bytes check against relaysim
// with NULL authentication, where AUTHENTICATE takes any argument.
func TestHostileBytesNullAuth(t *testing.T) {
	addr, _, wait := startedHostile(t, "-auth", "null")
	hostile.HostileBytes(t, addr, controlporttest.Auth{})
	require.NoError(t, wait())
}
