package controlport

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/events"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/options"
)

// DefaultVersion is the version the server reports when [Config.Version]
// is empty: a tor version, since controllers such as stem parse it.
const DefaultVersion = "0.4.9.11"

// Defaults for the limits of [Config].
const (
	DefaultMaxControllers     = 64
	DefaultMaxUnauthenticated = 16
	DefaultAuthTimeout        = 30 * time.Second
	DefaultWriteTimeout       = 30 * time.Second
)

// Config configures a [Server]. Only Mux and an authentication method are
// required.
type Config struct {
	// Mux answers GETINFO. New registers version, events/names and
	// features/names on it, as tor answers them, each unless the Mux
	// already answers it: a host with a version key of its own keeps it
	// (PROTOCOLINFO still reports Version).
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

	// MaxControllers bounds the authenticated controllers served at once
	// (default [DefaultMaxControllers]). A controller that authenticates
	// beyond it is answered "451 Resource exhausted: too many controllers"
	// and closed; the others are never disturbed.
	MaxControllers int
	// MaxUnauthenticated bounds the connections that have not
	// authenticated yet (default [DefaultMaxUnauthenticated]), apart from
	// MaxControllers, so that they never take an authenticated
	// controller's place. When they are this many, a newcomer takes the
	// place of the one that has made the least progress, in this order:
	// one whose peer hung up or that sent three commands that failed to
	// parse; a silent one that has had 50 ms to speak, the oldest first
	// (the newcomer itself included), or, for a newcomer that has spoken,
	// any silent one 10 ms old; one that sent bytes but no line, past the
	// same grace; one whose lines took no step, 10 ms after its first; and
	// last, the one whose last step (PROTOCOLINFO, or an AUTHCHALLENGE
	// answered) is the oldest, once 50 ms have passed since. Until one may
	// give way the server stops accepting, and newcomers wait in the
	// kernel's accept queue. See the package documentation for what this
	// holds against.
	MaxUnauthenticated int
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

	// Commands adds the host's own commands (SIGNAL, SETCONF, ...), by
	// command word, matched as tor matches commands: ASCII letters in any
	// case. They are answered only after authentication. A name that is
	// one of the server's own commands, or not a single command word, is
	// an error of New.
	Commands map[string]Command

	// Options, if set, are the configuration options GETCONF answers, and
	// New registers config/names and config-text for them on Mux (unless
	// it holds them). Without it GETCONF knows only
	// __OwningControllerProcess, unset, which stem asks for.
	Options *options.Set

	// Events, if set, sends tor's events to the controllers that ask for
	// them with SETEVENTS, between replies. Without it SETEVENTS accepts
	// tor's names and no event is ever sent.
	Events *events.Publisher

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
	auth       *protocol.Auth
	cookiePath string             // absolute
	commands   map[string]Command // Config.Commands by upper-case name
	log        *slog.Logger
	epoch      time.Time // connections' activity is kept as monotonic offsets from it

	mu        sync.Mutex
	closing   bool
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	wg        sync.WaitGroup // one per connection being served
	room      chan struct{}  // signalled when a connection ends or the server closes
	// Connections closed to make room since the last log of them, and when
	// that was (Server.since): guarded by mu.
	gaveWay        int
	lastGiveWayLog int64
	// lastArrived is the arrival (Server.since) given to the connection
	// accepted last: guarded by mu.
	lastArrived int64
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
	case cfg.MaxControllers < 0 || cfg.MaxUnauthenticated < 0 || cfg.AuthTimeout < 0 || cfg.WriteTimeout < 0:
		return nil, fmt.Errorf("%w: negative limit", ErrConfig)
	}
	cfg.Version = cmp.Or(cfg.Version, DefaultVersion)
	cfg.MaxControllers = cmp.Or(cfg.MaxControllers, DefaultMaxControllers)
	cfg.MaxUnauthenticated = cmp.Or(cfg.MaxUnauthenticated, DefaultMaxUnauthenticated)
	cfg.AuthTimeout = cmp.Or(cfg.AuthTimeout, DefaultAuthTimeout)
	cfg.WriteTimeout = cmp.Or(cfg.WriteTimeout, DefaultWriteTimeout)

	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		epoch:     time.Now(),
		listeners: map[net.Listener]struct{}{},
		conns:     map[*conn]struct{}{},
		room:      make(chan struct{}, 1),
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, h := range cfg.HashedPasswords {
		if _, err := protocol.ParseHashedPassword(h); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	if err := s.takeCommands(cfg.Commands); err != nil {
		return nil, err
	}
	// Everything that can fail before the cookie: a New that fails must not
	// replace the cookie file of a server already using that path.
	s.registerKeys()
	authCfg := protocol.AuthConfig{Null: cfg.NullAuth, HashedPasswords: cfg.HashedPasswords, Version: cfg.Version}
	if cfg.CookieFile != "" {
		abs, err := filepath.Abs(cfg.CookieFile)
		if err != nil {
			return nil, fmt.Errorf("%w: cookie file: %w", ErrConfig, err)
		}
		if authCfg.Cookie, err = protocol.WriteCookieFile(abs); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		s.cookiePath, authCfg.CookieFile = abs, abs
	}
	var err error
	if s.auth, err = protocol.NewAuth(authCfg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return s, nil
}

// CookieFile returns the absolute path of the cookie file, or "".
func (s *Server) CookieFile() string { return s.cookiePath }

// Listen opens a listener for [Server.Serve]: network "tcp", "tcp4" or
// "tcp6" on a loopback address (any address with
// [Config.AllowNonLoopback]), or "unix" on a socket path. A unix socket is
// made in a new private directory beside path, given mode 0600 there and
// only then renamed to path, so that it never exists with a wider mode; a
// stale socket at path is replaced, a live one or any other file is an
// error. Closing the listener removes the socket.
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
		l, err := net.Listen(network, address)
		if err != nil {
			return nil, fmt.Errorf("controlport: listen: %w", err)
		}
		return l, nil
	case "unix":
		return listenUnix(address)
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

// checkLocal applies Listen's rule to a listener from anywhere: loopback
// TCP addresses and unix sockets, unless AllowNonLoopback.
func (s *Server) checkLocal(l net.Listener) error {
	if s.cfg.AllowNonLoopback {
		return nil
	}
	switch a := l.Addr().(type) {
	case *net.TCPAddr:
		if a.IP.IsLoopback() {
			return nil
		}
	case *net.UnixAddr:
		return nil
	}
	return fmt.Errorf("controlport: serve on %s %q: not a loopback address or unix socket; set Config.AllowNonLoopback to serve it", l.Addr().Network(), l.Addr())
}

// Serve accepts controllers on l until [Server.Shutdown] or [Server.Close],
// and then returns [ErrServerClosed]. It closes l when it returns. A
// listener that is neither on a loopback address nor a unix socket is
// refused at once, as Listen refuses to make one, unless
// [Config.AllowNonLoopback] is set.
func (s *Server) Serve(l net.Listener) error {
	if err := s.checkLocal(l); err != nil {
		l.Close()
		return err
	}
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
		s.admit(nc)
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

// Shutdown stops accepting controllers, lets each finish the command it is
// answering, and waits for them to disconnect. When ctx ends first, it
// closes the remaining connections and returns ctx's error at once, as
// net/http does: a handler still running then ends on its own.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	s.signalRoom()
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
	s.signalRoom()
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
