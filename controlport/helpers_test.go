package controlport_test

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/getinfo"
)

// testPassword hashes to torHash: the HashedControlPassword of the tor
// instance in the reference transcripts.
const (
	testPassword = "test-password"
	torHash      = "16:793C5782A9AFB67F60FFC4D41C7894F57AE86DF69D087F8CC4FBDD6846"
)

type server struct {
	*controlport.Server
	addr   string
	cookie []byte
	mux    *getinfo.Mux
}

// startServer serves cfg on a loopback port until the test ends; a nil Mux
// gets one answering "uptime" with 79.
func startServer(t *testing.T, cfg controlport.Config) *server {
	t.Helper()
	if cfg.Mux == nil {
		cfg.Mux = getinfo.NewMux()
		cfg.Mux.HandleFunc("uptime", "Seconds up.", func(dst []byte, _ string) ([]byte, error) { return append(dst, "79"...), nil })
	}
	s, err := controlport.New(cfg)
	require.NoError(t, err)
	l, err := s.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, s.Shutdown(ctx))
		assert.ErrorIs(t, <-done, controlport.ErrServerClosed)
	})
	srv := &server{Server: s, addr: l.Addr().String(), mux: cfg.Mux}
	if s.CookieFile() != "" {
		srv.cookie, err = os.ReadFile(s.CookieFile())
		require.NoError(t, err)
	}
	return srv
}

func cookieServer(t *testing.T) *server {
	return startServer(t, controlport.Config{CookieFile: filepath.Join(t.TempDir(), "control_auth_cookie")})
}

func (s *server) dial(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *server) cookieHex() string { return hex.EncodeToString(s.cookie) }

// expect reads exactly len(want) bytes and compares them.
func expect(t *testing.T, c net.Conn, want string) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	got := make([]byte, len(want))
	n, err := io.ReadFull(c, got)
	require.NoError(t, err, "after %q", got[:n])
	require.Equal(t, want, string(got))
}

// send writes s.
func send(t *testing.T, c net.Conn, s string) {
	t.Helper()
	_, err := io.WriteString(c, s)
	require.NoError(t, err)
}

// expectClosed checks that the server closed the connection with nothing more to say.
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(5*time.Second)))
	b := make([]byte, 64)
	n, err := c.Read(b)
	require.Zero(t, n, "unexpected bytes %q", b[:n])
	var ne net.Error
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "connection still open")
	require.Error(t, err)
}

// expectOpen checks that the connection still answers.
func expectOpen(t *testing.T, c net.Conn) {
	t.Helper()
	send(t, c, "QUIT\r\n")
	expect(t, c, "250 closing connection\r\n")
}

// authenticate authenticates c with the server's cookie.
func (s *server) authenticate(t *testing.T, c net.Conn) {
	t.Helper()
	send(t, c, "AUTHENTICATE "+s.cookieHex()+"\r\n")
	expect(t, c, "250 OK\r\n")
}

func protocolInfo(methods, cookieFile, version string) string {
	s := "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=" + methods
	if cookieFile != "" {
		s += ` COOKIEFILE="` + strings.ReplaceAll(cookieFile, `"`, `\"`) + `"`
	}
	return s + "\r\n250-VERSION Tor=\"" + version + "\"\r\n250 OK\r\n"
}

func deadline() time.Time { return time.Now().Add(5 * time.Second) }

// readAll reads until the server closes the connection.
func readAll(t *testing.T, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	require.NoError(t, err)
	return string(b)
}

// readLine reads one reply line, its CR LF included.
func readLine(t *testing.T, c net.Conn) string {
	t.Helper()
	require.NoError(t, c.SetReadDeadline(deadline()))
	var line []byte
	b := make([]byte, 1)
	for !strings.HasSuffix(string(line), "\r\n") {
		_, err := c.Read(b)
		require.NoError(t, err, "after %q", line)
		line = append(line, b[0])
	}
	return string(line)
}
