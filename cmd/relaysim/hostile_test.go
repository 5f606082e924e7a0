package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/internal/hostile"
)

// startedHostile runs relaysim with args and returns its control address.
func startedHostile(t *testing.T, args ...string) (addr string, out *syncBuffer, wait func() error) {
	t.Helper()
	out, wait = started(t, append([]string{"-control", "127.0.0.1:0", "-conns", "20", "-quiet"}, args...)...)
	m := controlRE.FindStringSubmatch(out.String())
	require.NotNil(t, m, out.String())
	return m[1], out, wait
}

// controllers counts the control connections ('IXt') in conn/all.
func (c *controller) controllers() int {
	c.t.Helper()
	n := 0
	for _, line := range c.connAll() {
		e, err := format.Parse(line)
		require.NoError(c.t, err, line)
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
// (a minute) and WriteTimeout (30 s) are too long to wait for, so those two
// sub-checks skip; relaysim runs in this process, so its heap is sampled.
func TestHostileControllers(t *testing.T) {
	addr, out, wait := startedHostile(t)
	cm := cookieRE.FindStringSubmatch(out.String())
	require.NotNil(t, cm, out.String())
	auth := hostile.Auth{CookieFile: cm[1]}

	held := connect(t, out.String(), "")
	v := held.cmd("GETINFO version")
	require.Equal(t, []string{"250-version=" + version, "250 OK"}, v)
	require.Equal(t, 1, held.controllers(), "the test's controller is the only one")

	hostile.All(t, addr, auth, hostile.Limits{
		MaxControllers: controlport.DefaultMaxControllers,
		Held:           1,
		SameProcess:    true,
	})

	// The held controller was served throughout, and every hostile
	// connection has left the relay's registry.
	require.Equal(t, v, held.cmd("GETINFO version"))
	require.Eventually(t, func() bool { return held.controllers() == 1 }, 10*time.Second, 50*time.Millisecond,
		"control connections left on the relay")
	require.Equal(t, []string{"250 closing connection"}, held.cmd("QUIT"))
	require.NoError(t, wait())
	require.Contains(t, out.String(), "relaysim: stopped")
}

// TestHostilePasswordBruteForce runs the brute-force check against relaysim
// with password authentication.
func TestHostilePasswordBruteForce(t *testing.T) {
	const password = `s3cret "quoted" \ too`
	addr, _, wait := startedHostile(t, "-auth", "password", "-password", password)
	hostile.BruteForce(t, addr, hostile.Auth{Password: password})
	require.NoError(t, wait())
}

// TestHostileBytesNullAuth runs the hostile-bytes check against relaysim
// with NULL authentication, where AUTHENTICATE takes any argument.
func TestHostileBytesNullAuth(t *testing.T) {
	addr, _, wait := startedHostile(t, "-auth", "null")
	hostile.HostileBytes(t, addr, hostile.Auth{})
	require.NoError(t, wait())
}
