package hostile

import (
	"strings"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Served checks that a new, well-behaved controller is served promptly: it
// connects and authenticates, its GETINFO version and events/names is
// answered within Prompt, and QUIT closes it.
func Served(t testing.TB, addr string, auth controlporttest.Auth) {
	t.Helper()
	start := time.Now()
	c := controlporttest.Dial(t, "tcp", addr)
	defer c.Close()
	c.Authenticate(auth)
	asked := time.Now()
	lines := c.Command("GETINFO version events/names").Lines
	took := time.Since(asked)
	require.Len(t, lines, 3, "%q", lines)
	assert.True(t, strings.HasPrefix(lines[0], "250-version="), "%q", lines)
	assert.True(t, strings.HasPrefix(lines[1], "250-events/names=CIRC "), "%q", lines)
	assert.Equal(t, "250 OK", lines[2])
	require.Less(t, took, Prompt, "GETINFO answered in %v", took)
	require.Less(t, time.Since(start), 2*Prompt, "connecting, authenticating and GETINFO took %v", time.Since(start))
	require.Equal(t, []string{"250 closing connection"}, c.Command("QUIT").Lines)
	c.ExpectClosed()
}

// version asks GETINFO version on an authenticated c and returns the reply.
func version(t testing.TB, c *controlporttest.Client) []string {
	t.Helper()
	lines := c.Command("GETINFO version").Lines
	require.Len(t, lines, 2, "%q", lines)
	require.True(t, strings.HasPrefix(lines[0], "250-version="), "%q", lines)
	require.Equal(t, "250 OK", lines[1])
	return lines
}
