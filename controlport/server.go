package controlport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
)

// DefaultVersion is the version the server reports when [Config.Version]
// is empty: a tor version, since controllers such as stem parse it.
const DefaultVersion = "0.4.9.11"

// Defaults for the limits of [Config].
const (
	DefaultMaxControllers = 64
	DefaultAuthTimeout    = time.Minute
	DefaultWriteTimeout   = 30 * time.Second
)

// Config configures a [Server]. Only Mux and an authentication method are
// required.
type Config struct {
	// Mux answers GETINFO. New registers version, events/names and
	// features/names on it, as tor answers them.
	Mux *getinfo.Mux
	// Version is reported by PROTOCOLINFO and GETINFO version
	// (default [DefaultVersion]).
	Version string

	// CookieFile enables COOKIE and SAFECOOKIE authentication: New writes a
	// fresh 32-byte cookie there with mode 0600, and PROTOCOLINFO names the
	// file by its absolute path.
	CookieFile string
	// HashedPasswords enables HASHEDPASSWORD authentication against each
	// "16:…" hash, as written by tor --hash-password or [HashPassword].
	HashedPasswords []string
	// NullAuth lets any controller in without a secret. It must be asked
	// for explicitly, and excludes the other methods, as in tor.
	NullAuth bool

	// MaxControllers bounds the connections served at once (default
	// [DefaultMaxControllers]); a connection beyond it is closed at once.
	MaxControllers int
	// AuthTimeout bounds the time from connecting to authenticating
	// (default [DefaultAuthTimeout]); then the connection is closed.
	AuthTimeout time.Duration
	// WriteTimeout bounds each write to a controller (default
	// [DefaultWriteTimeout]), so that one that never reads cannot hold a
	// reply in memory; it is then disconnected.
	WriteTimeout time.Duration
	// AllowNonLoopback lets [Server.Listen] bind TCP addresses other than
	// loopback ones. The control port is unencrypted; think twice.
	AllowNonLoopback bool

	// Registry, if set, registers each TCP controller as a control
	// connection ('IXt') and counts its bytes, as a relay's registry would.
	Registry *connstate.Registry
	// Logger receives connection errors; nil discards them.
	Logger *slog.Logger
}

// ErrServerClosed is returned by [Server.Serve] after [Server.Shutdown] or
// [Server.Close].
var ErrServerClosed = errors.New("controlport: server closed")

// ErrConfig is wrapped by the errors of [New].
var ErrConfig = errors.New("controlport: invalid configuration")

// Server is a tor control-port server answering GETINFO from a getinfo.Mux.
// It is safe for concurrent use; one Server may serve several listeners.
type Server struct {
	cfg        Config
	cookie     []byte // nil without cookie authentication
	cookiePath string // absolute
	passwords  []HashedPassword
	log        *slog.Logger

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	wg        sync.WaitGroup // one per connection being served
}

// New checks cfg, writes the cookie file if cookie authentication is on,
// and registers the server's own GETINFO keys on cfg.Mux.
func New(cfg Config) (*Server, error) {
	if cfg.Mux == nil {
		return nil, fmt.Errorf("%w: no Mux", ErrConfig)
	}
	methods := len(cfg.HashedPasswords)
	if cfg.CookieFile != "" {
		methods++
	}
	switch {
	case cfg.NullAuth && methods > 0:
		return nil, fmt.Errorf("%w: NullAuth excludes cookie and password authentication", ErrConfig)
	case !cfg.NullAuth && methods == 0:
		return nil, fmt.Errorf("%w: no authentication method; set CookieFile, HashedPasswords or, explicitly, NullAuth", ErrConfig)
	case cfg.MaxControllers < 0 || cfg.AuthTimeout < 0 || cfg.WriteTimeout < 0:
		return nil, fmt.Errorf("%w: negative limit", ErrConfig)
	}
	if cfg.Version == "" {
		cfg.Version = DefaultVersion
	}
	cfg.MaxControllers = cmpOr(cfg.MaxControllers, DefaultMaxControllers)
	cfg.AuthTimeout = cmpOr(cfg.AuthTimeout, DefaultAuthTimeout)
	cfg.WriteTimeout = cmpOr(cfg.WriteTimeout, DefaultWriteTimeout)

	s := &Server{cfg: cfg, log: cfg.Logger, listeners: map[net.Listener]struct{}{}, conns: map[*conn]struct{}{}}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, h := range cfg.HashedPasswords {
		p, err := ParseHashedPassword(h)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		s.passwords = append(s.passwords, p)
	}
	// Keys before the cookie: a New that fails, say on a Mux another server
	// uses, must not replace that server's cookie file.
	if err := s.registerKeys(); err != nil {
		return nil, err
	}
	if cfg.CookieFile != "" {
		abs, err := filepath.Abs(cfg.CookieFile)
		if err != nil {
			return nil, fmt.Errorf("%w: cookie file: %w", ErrConfig, err)
		}
		if s.cookie, err = WriteCookieFile(abs); err != nil {
			return nil, err
		}
		s.cookiePath = abs
	}
	return s, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// CookieFile returns the absolute path of the cookie file, or "".
func (s *Server) CookieFile() string { return s.cookiePath }

// Listen opens a listener for [Server.Serve]: network "tcp", "tcp4" or
// "tcp6" on a loopback address (any address with
// [Config.AllowNonLoopback]), or "unix" on a socket path, made mode 0600.
func (s *Server) Listen(network, address string) (net.Listener, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, fmt.Errorf("controlport: listen: %w", err)
		}
		if !s.cfg.AllowNonLoopback && !isLoopbackHost(host) {
			return nil, fmt.Errorf("controlport: listen on %q: not a loopback address; set Config.AllowNonLoopback to bind it", address)
		}
		return net.Listen(network, address)
	case "unix":
		l, err := net.Listen("unix", address)
		if err != nil {
			return nil, fmt.Errorf("controlport: listen: %w", err)
		}
		if err := os.Chmod(address, 0o600); err != nil {
			l.Close()
			return nil, fmt.Errorf("controlport: listen: %w", err)
		}
		return l, nil
	}
	return nil, fmt.Errorf("controlport: listen: network %q: want tcp, tcp4, tcp6 or unix", network)
}

func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// Serve accepts controllers on l until [Server.Shutdown] or [Server.Close],
// and then returns [ErrServerClosed]. It closes l when it returns.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()

	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.log.Warn("controlport: accept", "err", err, "retry_in", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("controlport: accept: %w", err)
		}
		backoff = 0
		s.start(nc)
	}
}

// isTemporary reports accept errors worth retrying, such as running out of
// descriptors.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// start serves nc in a new goroutine, unless the server is closing or full.
// When full, the oldest connection that has not authenticated gives way,
// so that sockets left silent cannot lock the operator out.
func (s *Server) start(nc net.Conn) {
	s.mu.Lock()
	if !s.closing && len(s.conns) >= s.cfg.MaxControllers {
		if old := s.oldestUnauthenticated(); old != nil {
			delete(s.conns, old) // its goroutine's own delete is then a no-op
			old.nc.Close()
			s.log.Info("controlport: full; closed the oldest unauthenticated controller", "remote", old.nc.RemoteAddr())
		}
	}
	if s.closing || len(s.conns) >= s.cfg.MaxControllers {
		full := !s.closing
		s.mu.Unlock()
		if full {
			s.log.Warn("controlport: too many controllers; connection refused", "remote", nc.RemoteAddr(), "max", s.cfg.MaxControllers)
		}
		nc.Close()
		return
	}
	c := s.newConn(nc)
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		defer func() {
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
		c.serve()
	}()
}

// oldestUnauthenticated returns the connection that has waited longest
// without authenticating, or nil. The caller holds s.mu.
func (s *Server) oldestUnauthenticated() *conn {
	var oldest *conn
	for c := range s.conns {
		if !c.authed.Load() && (oldest == nil || c.started.Before(oldest.started)) {
			oldest = c
		}
	}
	return oldest
}

// Shutdown stops accepting controllers, lets each finish the command it is
// answering, and waits for them to disconnect. When ctx ends first, it
// closes the remaining connections and returns ctx's error at once, as
// net/http does: a handler still running then ends on its own.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.interrupt()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.closeConns()
		return ctx.Err()
	}
}

// Close closes the listeners and every connection at once, and waits for
// the handlers answering to return.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	s.mu.Unlock()
	s.closeConns()
	s.wg.Wait()
	return nil
}

func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.nc.Close()
	}
}
