package controlport_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/getinfo"
)

func TestLineLengthLimit(t *testing.T) {
	s := cookieServer(t)
	// A line of MaxLineLength-1 bytes with its CR LF is read: "GETINFO " and one long key.
	key := strings.Repeat("k", protocol.MaxLineLength-1-len("GETINFO \r\n"))
	c := s.Dial(t)
	c.Authenticate(s.Auth)
	c.Send("GETINFO " + key + "\r\n")
	c.Expect(`552 Unrecognized key "` + key + "\"\r\n")
	c.ExpectOpen()

	for _, authed := range []bool{true, false} {
		c := s.Dial(t)
		if authed {
			c.Authenticate(s.Auth)
		}
		c.Send("GETINFO " + key + "k\r\n")
		c.Expect("500 Line too long.\r\n")
		c.ExpectClosed()
	}
}

// A line without its LF gets no answer, however long, until the LF comes.
func TestLongLineWaitsForLF(t *testing.T) {
	s := cookieServer(t)
	c := s.Dial(t)
	c.Authenticate(s.Auth)
	c.Send("GETINFO " + strings.Repeat("c", protocol.MaxLineLength))
	require.NoError(t, c.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "no reply before the LF, got %d bytes, %v", n, err)
	c.Send("\r\n")
	c.Expect("500 Line too long.\r\n")
	c.ExpectClosed()
}

// An over-long line is discarded as it arrives: what the server allocates
// for a 16 MiB line is no more than for a line just over the limit. The
// process's allocations are counted, so whatever else runs adds to them:
// each size is measured three times, and the least is kept.
func TestHugeLineMemory(t *testing.T) {
	s := cookieServer(t)
	chunk := strings.Repeat("x", 64<<10)
	allocated := func(size int) uint64 {
		c := s.Dial(t)
		c.Authenticate(s.Auth)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		w := bufio.NewWriter(c)
		w.WriteString("GETINFO ")
		for range size / len(chunk) {
			w.WriteString(chunk)
		}
		w.WriteString("\r\n")
		require.NoError(t, w.Flush())
		c.Expect("500 Line too long.\r\n")
		c.ExpectClosed()
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	least := func(size int) uint64 {
		return min(allocated(size), allocated(size), allocated(size))
	}
	small := least(protocol.MaxLineLength + len(chunk))
	huge := least(16 << 20)
	t.Logf("allocated for a %d-byte line: %d bytes; for a 16 MiB line: %d bytes", protocol.MaxLineLength+len(chunk), small, huge)
	assert.Less(t, huge, small+(1<<20), "memory must not grow with the line")
}

func TestPipelinedInOrder(t *testing.T) {
	m := getinfo.NewMux()
	m.HandlePrefixFunc("echo/", "Echoes.", func(dst []byte, key string) ([]byte, error) { return append(dst, key[5:]...), nil })
	s := startServer(t, controlport.Config{Mux: m, NullAuth: true})
	c := s.Dial(t)
	const n = 10000
	go func() {
		w := bufio.NewWriter(c)
		fmt.Fprintf(w, "AUTHENTICATE\r\n")
		for i := range n {
			fmt.Fprintf(w, "GETINFO echo/%d\r\n", i)
		}
		w.Flush()
	}()
	r := bufio.NewReader(c)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(30*time.Second)))
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "250 OK\r\n", line)
	for i := range n {
		want := fmt.Sprintf("250-echo/%d=%d\r\n", i, i)
		line, err := r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, want, line)
		line, err = r.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "250 OK\r\n", line)
	}
}

// MaxControllers bounds authenticated controllers: one more is refused
// when it authenticates, and those already in are never disturbed.
func TestMaxControllers(t *testing.T) {
	s := startServer(t, controlport.Config{NullAuth: true, MaxControllers: 2})
	a, b := s.Dial(t), s.Dial(t)
	for _, c := range []*controlporttest.Client{a, b} {
		c.Send("AUTHENTICATE\r\n")
		c.Expect("250 OK\r\n")
	}
	extra := s.Dial(t)
	extra.Send("PROTOCOLINFO\r\nAUTHENTICATE\r\n")
	assert.Equal(t, "250 OK", extra.ReadReply().Last(), "PROTOCOLINFO is answered before authenticating")
	extra.Expect("451 Resource exhausted: too many controllers\r\n")
	extra.ExpectClosed()
	for _, c := range []*controlporttest.Client{a, b} {
		c.Send("GETINFO uptime\r\n")
		c.Expect("250-uptime=79\r\n250 OK\r\n")
	}
	a.ExpectOpen()
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", s.Addr)
		if err != nil {
			return false
		}
		defer c.Close()
		io.WriteString(c, "AUTHENTICATE\r\n")
		c.SetReadDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 8)
		n, _ := c.Read(buf)
		return string(buf[:n]) == "250 OK\r\n"
	}, 5*time.Second, 10*time.Millisecond, "a freed place is given to the next controller")
}

// Unauthenticated connections have their own budget: when it is full, a
// silent one gives way to a newcomer, the oldest first, a progressing one
// outlasts every silent one, and authenticated controllers are never
// touched.
func TestUnauthenticatedGiveWay(t *testing.T) {
	s := startServer(t, controlport.Config{NullAuth: true, MaxControllers: 1, MaxUnauthenticated: 3})
	authed := s.Dial(t)
	authed.Send("AUTHENTICATE\r\n")
	authed.Expect("250 OK\r\n")

	progressing := s.Dial(t)
	progressing.Send("PROTOCOLINFO\r\n")
	assert.Equal(t, "250 OK", progressing.ReadReply().Last())
	held := []*controlporttest.Client{s.Dial(t), s.Dial(t)} // silent

	// One newcomer at a time: each takes the place of the oldest silent one.
	for range 3 {
		held = append(held, s.Dial(t))
		held[0].ExpectClosed()
		held = held[1:]
	}
	progressing.ExpectOpen()

	authed.Send("GETINFO uptime\r\n")
	authed.Expect("250-uptime=79\r\n250 OK\r\n")
	speaker := s.Dial(t)
	speaker.Send("PROTOCOLINFO\r\n")
	assert.Equal(t, "250 OK", speaker.ReadReply().Last(), "one that speaks is served")
}

func TestAuthTimeout(t *testing.T) {
	s := startServer(t, controlport.Config{NullAuth: true, AuthTimeout: 100 * time.Millisecond})
	idle := s.Dial(t)
	idle.ExpectClosed()

	// An authenticated controller may stay idle.
	c := s.Dial(t)
	c.Send("AUTHENTICATE\r\n")
	c.Expect("250 OK\r\n")
	require.NoError(t, c.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	require.True(t, errors.As(err, &ne) && ne.Timeout(), "authenticated connection closed: %v", err)
	c.ExpectOpen()
}

// A controller that asks and never reads is cut off after WriteTimeout;
// the others are served meanwhile.
func TestControllerThatNeverReads(t *testing.T) {
	reg := connstate.NewRegistry()
	big := strings.Repeat("v", 1<<20)
	m := getinfo.NewMux()
	m.HandleFunc("big", "A megabyte.", func(dst []byte, _ string) ([]byte, error) { return append(dst, big...), nil })
	m.HandleFunc("small", "A byte.", func(dst []byte, _ string) ([]byte, error) { return append(dst, '1'), nil })
	s := startServer(t, controlport.Config{Mux: m, NullAuth: true, WriteTimeout: 200 * time.Millisecond, Registry: reg})

	stuck := s.Dial(t)
	stuck.Send("AUTHENTICATE\r\n")
	stuck.Expect("250 OK\r\n")
	go func() {
		for range 64 {
			if _, err := stuck.Write([]byte("GETINFO big\r\n")); err != nil {
				return
			}
		}
	}()

	other := s.Dial(t)
	other.Send("AUTHENTICATE\r\nGETINFO small\r\n")
	other.Expect("250 OK\r\n250-small=1\r\n250 OK\r\n")

	require.Eventually(t, func() bool {
		n, _ := reg.Counts()
		return n == 1 // only "other" is left
	}, 10*time.Second, 10*time.Millisecond, "the stuck controller is disconnected")
	other.ExpectOpen()
}

func TestShutdownWaitsForTheCommandInFlight(t *testing.T) {
	srv, l, started, release := slowServer(t, "slow")
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	c := controlporttest.Dial(t, "tcp", l.Addr().String())
	idle := controlporttest.Dial(t, "tcp", l.Addr().String())
	c.Send("AUTHENTICATE\r\nGETINFO slow\r\n")
	<-started

	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	require.ErrorIs(t, <-served, controlport.ErrServerClosed)
	idle.ExpectClosed()
	_, err := net.Dial("tcp", l.Addr().String())
	require.Error(t, err, "no longer accepting")

	close(release)
	c.Expect("250 OK\r\n250-slow=done\r\n250 OK\r\n")
	c.ExpectClosed()
	require.NoError(t, <-shut)
}

func TestControllersAreRegistered(t *testing.T) {
	reg := connstate.NewRegistry()
	s := startServer(t, controlport.Config{NullAuth: true, Registry: reg})
	c := s.Dial(t)
	c.Send("AUTHENTICATE\r\n")
	c.Expect("250 OK\r\n")
	entries := reg.AppendEntries(nil)
	require.Len(t, entries, 1)
	e := entries[0]
	assert.Equal(t, "IXt", e.Flags.String())
	assert.Equal(t, c.LocalAddr().String(), e.Remote.String())
	assert.Equal(t, uint64(len("AUTHENTICATE\r\n")), e.Read, "counted as it was read, before the reply")
	// A write is counted once it returns, which may be after the client
	// has read what it wrote.
	require.Eventually(t, func() bool {
		e, ok := reg.LookupEntry(0, e.ConnID)
		return ok && e.Written == uint64(len("250 OK\r\n"))
	}, 5*time.Second, time.Millisecond, "the reply's bytes counted")
	c.ExpectOpen()
	require.Eventually(t, func() bool { n, _ := reg.Counts(); return n == 0 }, 5*time.Second, 5*time.Millisecond)
	tot := reg.Totals()
	assert.Zero(t, tot.TrafficRead, "control connections are not traffic")
}

func TestListen(t *testing.T) {
	srv, err := controlport.New(controlport.Config{Mux: getinfo.NewMux(), NullAuth: true})
	require.NoError(t, err)
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "192.0.2.1:9051", "example.org:9051"} {
		_, err := srv.Listen("tcp", addr)
		assert.ErrorContains(t, err, "not a loopback address", addr)
	}
	_, err = srv.Listen("udp", "127.0.0.1:0")
	assert.ErrorContains(t, err, `network "udp"`)
	l, err := srv.Listen("tcp", "localhost:0")
	require.NoError(t, err)
	require.NoError(t, l.Close())

	if runtime.GOOS == "windows" {
		return
	}
	path := filepath.Join(t.TempDir(), "control.sock")
	l, err = srv.Listen("unix", path)
	require.NoError(t, err)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(l) })
	c := controlporttest.Dial(t, "unix", path)
	c.Send("AUTHENTICATE\r\nGETINFO version\r\n")
	c.Expect("250 OK\r\n250-version=" + controlport.DefaultVersion + "\r\n250 OK\r\n")
	c.Close()
	require.NoError(t, srv.Shutdown(context.Background()))
	wg.Wait()
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  controlport.Config
		want string
	}{
		{"no mux", controlport.Config{NullAuth: true}, "no Mux"},
		{"no method", controlport.Config{Mux: getinfo.NewMux()}, "no authentication method"},
		{"null with password", controlport.Config{Mux: getinfo.NewMux(), NullAuth: true, HashedPasswords: []string{torHash}}, "NullAuth excludes"},
		{"bad hash", controlport.Config{Mux: getinfo.NewMux(), HashedPasswords: []string{"password"}}, "invalid hashed password"},
		{"negative limit", controlport.Config{Mux: getinfo.NewMux(), NullAuth: true, MaxControllers: -1}, "negative limit"},
		{"cookie dir missing", controlport.Config{Mux: getinfo.NewMux(), CookieFile: "/nonexistent/dir/cookie"}, "cookie file"},
		{"builtin command", controlport.Config{Mux: getinfo.NewMux(), NullAuth: true, Commands: map[string]controlport.Command{"getinfo": okCommand}}, "is the server's own"},
		{"two words", controlport.Config{Mux: getinfo.NewMux(), NullAuth: true, Commands: map[string]controlport.Command{"SIG NAL": okCommand}}, "not a single command word"},
		{"multi-line", controlport.Config{Mux: getinfo.NewMux(), NullAuth: true, Commands: map[string]controlport.Command{"+LOADCONF": okCommand}}, "not a single command word"},
		{"nil command", controlport.Config{Mux: getinfo.NewMux(), NullAuth: true, Commands: map[string]controlport.Command{"SIGNAL": nil}}, "no function"},
		{"twice", controlport.Config{Mux: getinfo.NewMux(), NullAuth: true, Commands: map[string]controlport.Command{"SIGNAL": okCommand, "signal": okCommand}}, "given twice"},
	}
	for _, tt := range tests {
		_, err := controlport.New(tt.cfg)
		assert.ErrorContains(t, err, tt.want, tt.name)
	}
}

func okCommand(dst []byte, _ string) []byte { return append(dst, "250 OK\r\n"...) }

// A host's commands are answered after authentication, matched in any
// case, and a reply that is not framed is replaced, never sent.
func TestHostCommands(t *testing.T) {
	var got []string
	srv := startServer(t, controlport.Config{NullAuth: true, Commands: map[string]controlport.Command{
		"SIGNAL": func(dst []byte, args string) []byte {
			got = append(got, args)
			if args != "NEWNYM" {
				return append(dst, "552 Unrecognized signal\r\n"...)
			}
			return append(dst, "250 OK\r\n"...)
		},
		"BROKEN": func(dst []byte, _ string) []byte { return append(dst, "250 OK"...) },
		"EMPTY":  func(dst []byte, _ string) []byte { return dst },
		"MULTI": func(dst []byte, _ string) []byte {
			return append(dst, "250+data=\r\na\r\n.\r\n250-x=1\r\n250 OK\r\n"...)
		},
	}})
	c := srv.Dial(t)
	c.Send("SIGNAL NEWNYM\r\n")
	c.Expect("514 Authentication required.\r\n")
	c = srv.Dial(t)
	c.Authenticate(srv.Auth)
	c.Send("signal NEWNYM\r\nSIGNAL BOGUS\r\nBROKEN\r\nEMPTY\r\nMULTI\r\n")
	c.Expect("250 OK\r\n552 Unrecognized signal\r\n551 Internal error\r\n551 Internal error\r\n250+data=\r\na\r\n.\r\n250-x=1\r\n250 OK\r\n")
	assert.Equal(t, []string{"NEWNYM", "BOGUS"}, got)
}

// A host whose Mux answers version already keeps its answer; the other
// keys the server adds are added.
func TestNewKeepsTheHostsVersion(t *testing.T) {
	m := getinfo.NewMux()
	m.HandleFunc("version", "The host's.", func(dst []byte, _ string) ([]byte, error) { return append(dst, "0.4.9.11 (a Go relay)"...), nil })
	srv := startServer(t, controlport.Config{Mux: m, NullAuth: true, Version: "0.4.9.11"})
	c := srv.Dial(t)
	c.Authenticate(srv.Auth)
	assert.Equal(t, []string{"0.4.9.11 (a Go relay)"}, c.GetInfo("version"))
	assert.NotEmpty(t, c.GetInfo("features/names")[0], "the server's own keys are still added")
}

// Shutdown ends a connection after the command in hand even when more
// commands already wait in its buffer.
func TestShutdownWithPipelinedCommands(t *testing.T) {
	srv, l, started, release := slowServer(t, "slow")
	go srv.Serve(l)
	c := controlporttest.Dial(t, "tcp", l.Addr().String())
	c.Send("AUTHENTICATE\r\nGETINFO slow\r\nAUTHENTICATE\r\nGETINFO version\r\n")
	<-started
	shut := make(chan error, 1)
	go func() { shut <- srv.Shutdown(context.Background()) }()
	// Serve answers ErrServerClosed only once Shutdown has marked every
	// connection: then let the slow command finish.
	for srv.Serve(refusingListener{}) != controlport.ErrServerClosed {
	}
	close(release)
	require.NoError(t, <-shut)
	assert.Equal(t, "250 OK\r\n250-slow=done\r\n250 OK\r\n", c.ReadAll(), "nothing after the command in hand")
}

// Shutdown returns when its context ends, even with a handler stuck.
func TestShutdownHonoursItsContext(t *testing.T) {
	srv, l, started, release := slowServer(t, "stuck")
	go srv.Serve(l)
	c := controlporttest.Dial(t, "tcp", l.Addr().String())
	c.Send("AUTHENTICATE\r\nGETINFO stuck\r\n")
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, srv.Shutdown(ctx), context.DeadlineExceeded)
	close(release)                  // the handler ends on its own
	require.NoError(t, srv.Close()) // and Close waits for it
}

// A New that fails must not replace a running server's cookie.
func TestFailedNewKeepsTheCookie(t *testing.T) {
	s := cookieServer(t)
	_, err := controlport.New(controlport.Config{Mux: getinfo.NewMux(), CookieFile: s.CookieFile(), HashedPasswords: []string{"not a hash"}})
	require.ErrorIs(t, err, controlport.ErrConfig)
	c := s.Dial(t)
	c.Authenticate(s.Auth)
}

// refusingListener fails every Accept, so that Serve returns at once.
type refusingListener struct{}

func (refusingListener) Accept() (net.Conn, error) { return nil, errors.New("refused") }
func (refusingListener) Close() error              { return nil }
func (refusingListener) Addr() net.Addr            { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// slowServer is a server, not yet serving, whose key waits: started is
// closed when its handler runs, and the handler answers "done" once
// release is closed.
func slowServer(t *testing.T, key string) (*controlport.Server, net.Listener, chan struct{}, chan struct{}) {
	t.Helper()
	release := make(chan struct{})
	started := make(chan struct{})
	m := getinfo.NewMux()
	m.HandleFunc(key, "Waits.", func(dst []byte, _ string) ([]byte, error) {
		close(started)
		<-release
		return append(dst, "done"...), nil
	})
	srv, err := controlport.New(controlport.Config{Mux: m, NullAuth: true})
	require.NoError(t, err)
	l, err := srv.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	return srv, l, started, release
}

// recordingHandler keeps the records logged at Warn or above.
type recordingHandler struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *recordingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *recordingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}
func (h *recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordingHandler) WithGroup(string) slog.Handler      { return h }

// Connections giving way are logged once, not once each: a flood must not
// flood the log. The line names no address.
func TestGiveWayIsLoggedOnce(t *testing.T) {
	h := &recordingHandler{}
	s := startServer(t, controlport.Config{NullAuth: true, MaxUnauthenticated: 2, Logger: slog.New(h)})
	for range 8 {
		s.Dial(t) // silent: each newcomer past the second makes one give way
	}
	last := s.Dial(t)
	last.Send("PROTOCOLINFO\r\n")
	assert.Equal(t, "250 OK", last.ReadReply().Last(), "the newest is served")
	h.mu.Lock()
	defer h.mu.Unlock()
	require.Len(t, h.records, 1, "one warning for all")
	r := h.records[0]
	assert.Contains(t, r.Message, "least progress")
	r.Attrs(func(a slog.Attr) bool {
		assert.NotContains(t, a.Value.String(), "127.0.0.1", "attribute %s", a.Key)
		return true
	})
}
