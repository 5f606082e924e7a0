package verify_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
	"github.com/conninfo/conninfo/verify"
)

// Sockets reads this very process's sockets.
func TestSocketsOfThisProcess(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	s, err := l.Accept()
	require.NoError(t, err)
	defer s.Close()
	got, err := verify.Sockets(context.Background(), int32(os.Getpid()))
	if err != nil {
		t.Skipf("the OS does not tell this process's sockets here: %v", err)
	}
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	found := 0
	for _, x := range got {
		if x.Local == local || x.Remote == local {
			found++
		}
		assert.NotEqual(t, "LISTEN", x.Status)
	}
	assert.Equal(t, 2, found, "both ends of the link: %v", got)
}

// pair is a loopback connection of this process: both its ends.
func pair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	s, err := l.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return c, s
}

// The hidden detector in-process, on this process's real sockets: a
// registered connection is accounted for; four that no registry holds are
// found and counted (the test-network tier: the public tier says no
// count), and no address is said.
func TestHiddenInProcess(t *testing.T) {
	if _, err := verify.Sockets(context.Background(), int32(os.Getpid())); err != nil {
		t.Skipf("the OS does not tell this process's sockets here: %v", err)
	}
	reg := connstate.NewRegistry()
	c, _ := pair(t)
	_, err := reg.Open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: c.RemoteAddr().(*net.TCPAddr).AddrPort(), LocalPort: uint16(c.LocalAddr().(*net.TCPAddr).Port), Established: true})
	require.NoError(t, err)
	findings := func(t *testing.T) string {
		conns := &getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}
		m := getinfo.NewMux()
		conns.Register(m)
		(&audit.Findings{Registry: reg, Conns: conns, Sockets: func() ([]audit.Socket, error) {
			return verify.Sockets(context.Background(), int32(os.Getpid()))
		}}).Register(m)
		v, err := m.AppendInfo(nil, audit.FindingsKey)
		require.NoError(t, err)
		return string(v)
	}
	assert.NotContains(t, findings(t), audit.Hidden, "the one connection is registered")

	for range 4 {
		pair(t)
	}
	got := findings(t)
	assert.Contains(t, got, "hidden warning - - 4 connection(s) of the relay's process that no line reports (tolerance 2)")
	assert.NotContains(t, got, "127.0.0.1")
	for _, l := range strings.Split(got, "\n") {
		_, err := audit.ParseLine(l)
		assert.NoError(t, err, l)
	}
}
