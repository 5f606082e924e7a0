package controlporttest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/getinfo"
)

// ShutdownTimeout bounds the graceful shutdown of a Server when its test
// ends; a server still busy then fails the test.
const ShutdownTimeout = 10 * time.Second

// Server is a control-port server serving until its test ends.
type Server struct {
	*controlport.Server
	// Addr is where it listens: host:port for TCP, the path for a unix socket.
	Addr string
	// Network is "tcp" or "unix".
	Network string
	// Mux answers its GETINFO.
	Mux *getinfo.Mux
	// Auth is how a controller authenticates to it: with the cookie file,
	// or with no secret under NullAuth. A server with only passwords
	// leaves it empty: the password is the caller's.
	Auth Auth
	// Cookie is the cookie file's content, with cookie authentication.
	Cookie []byte
}

// NewServer builds a server from cfg and serves it on 127.0.0.1 at a free
// port until the test ends. A nil cfg.Mux gets an empty one; a cfg with no
// authentication method gets cookie authentication, its cookie file in
// t.TempDir(). Errors fail the test.
func NewServer(t testing.TB, cfg controlport.Config) *Server {
	t.Helper()
	if cfg.Mux == nil {
		cfg.Mux = getinfo.NewMux()
	}
	if !cfg.NullAuth && cfg.CookieFile == "" && len(cfg.HashedPasswords) == 0 {
		cfg.CookieFile = filepath.Join(t.TempDir(), "control_auth_cookie")
	}
	srv, err := controlport.New(cfg)
	if err != nil {
		t.Fatalf("controlporttest: %v", err)
	}
	l, err := srv.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("controlporttest: %v", err)
	}
	s := Serve(t, srv, l)
	s.Mux = cfg.Mux
	return s
}

// Serve serves srv on l until the test ends, then shuts it down within
// ShutdownTimeout and checks that Serve returned
// controlport.ErrServerClosed. The returned Server's Mux is nil: the
// caller built srv and knows it.
func Serve(t testing.TB, srv *controlport.Server, l net.Listener) *Server {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("controlporttest: Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, controlport.ErrServerClosed) {
			t.Errorf("controlporttest: Serve returned %v, want ErrServerClosed", err)
		}
	})
	s := &Server{Server: srv, Addr: l.Addr().String(), Network: l.Addr().Network()}
	if path := srv.CookieFile(); path != "" {
		cookie, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("controlporttest: %v", err)
		}
		s.Cookie = cookie
		s.Auth = Auth{CookieFile: path}
	}
	return s
}

// Dial opens a raw controller connection to the server, closed when the
// test ends.
func (s *Server) Dial(t testing.TB) *Client {
	t.Helper()
	return Dial(t, s.Network, s.Addr)
}
