package connstate_test

import (
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
)

func TestCountingConnCountsBothWays(t *testing.T) {
	reg := connstate.NewRegistry()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	client, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	server := <-accepted
	require.NotNil(t, server)
	defer server.Close()

	cfg := connstate.ConfigFor(server, connstate.Inbound, connstate.UsageRelay)
	assert.Equal(t, client.LocalAddr().(*net.TCPAddr).AddrPort(), cfg.Remote)
	assert.Equal(t, uint16(l.Addr().(*net.TCPAddr).Port), cfg.LocalPort)
	assert.Equal(t, connstate.NetworkOutside, cfg.Network)
	assert.False(t, cfg.Unix)
	c, err := reg.Open(cfg)
	require.NoError(t, err)
	counted := connstate.CountingConn(server, c)

	go func() {
		client.Write(make([]byte, 1500))
		io.Copy(io.Discard, client)
	}()
	_, err = io.ReadFull(counted, make([]byte, 1500))
	require.NoError(t, err)
	_, err = counted.Write(make([]byte, 700))
	require.NoError(t, err)
	assert.Equal(t, uint64(1500), c.Read())
	assert.Equal(t, uint64(700), c.Written())
	assert.Equal(t, server.RemoteAddr(), counted.RemoteAddr(), "the rest is forwarded")

	var nilConn *connstate.Conn // counts nothing, never panics
	_, err = connstate.CountingConn(server, nilConn).Write([]byte("x"))
	assert.NoError(t, err)
}

func TestConfigForUnixAndPipes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", path)
	require.NoError(t, err)
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", path)
	require.NoError(t, err)
	defer c.Close()
	cfg := connstate.ConfigFor(c, connstate.Outbound, connstate.UsageControl)
	assert.True(t, cfg.Unix, "a unix socket: not rate limited")
	assert.Equal(t, netip.AddrPort{}, cfg.Remote)

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	cfg = connstate.ConfigFor(a, connstate.Inbound, connstate.UsageClient)
	assert.Equal(t, connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside}, cfg, "unknown addresses stay unknown")
}
