package client_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/conninfo/conninfo/client"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/events"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/tortest"
	"github.com/conninfo/conninfo/scrub"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixtureServer serves the guard fixture in the test-network tier.
func fixtureServer(t *testing.T, cfg controlport.Config) (*controlporttest.Server, *connstate.Registry) {
	t.Helper()
	reg, _, err := connstatetest.LoadNamed("guard")
	require.NoError(t, err)
	cfg.Mux = getinfo.NewMux()
	(&getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.TestNetwork()}).Register(cfg.Mux)
	return controlporttest.NewServer(t, cfg), reg
}

func dial(t *testing.T, addr string, opts client.Options) *client.Conn {
	t.Helper()
	c, err := client.Dial(context.Background(), addr, opts)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// Every method is chosen and works: SAFECOOKIE with a cookie, the
// password where only a password is offered, NULL.
func TestDialAuthenticates(t *testing.T) {
	const password = "client test"
	for name, cfg := range map[string]controlport.Config{
		"cookie":   {},
		"password": {HashedPasswords: []string{protocol.HashPassword(password)}},
		"null":     {NullAuth: true},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _ := fixtureServer(t, cfg)
			c := dial(t, srv.Addr, client.Options{Password: password})
			v, err := c.GetInfo(context.Background(), "version")
			require.NoError(t, err)
			assert.Equal(t, controlport.DefaultVersion, v["version"])
		})
	}
}

func TestDialErrors(t *testing.T) {
	srv, _ := fixtureServer(t, controlport.Config{HashedPasswords: []string{protocol.HashPassword("right")}})
	_, err := client.Dial(context.Background(), srv.Addr, client.Options{Password: "wrong"})
	assert.ErrorIs(t, err, client.ErrAuth)
	assert.ErrorContains(t, err, "515 Authentication failed")
	_, err = client.Dial(context.Background(), srv.Addr, client.Options{})
	assert.ErrorIs(t, err, client.ErrAuth)
	assert.ErrorContains(t, err, "wants a password")

	cookieSrv, _ := fixtureServer(t, controlport.Config{})
	_, err = client.Dial(context.Background(), cookieSrv.Addr, client.Options{CookieFile: filepath.Join(t.TempDir(), "none")})
	assert.ErrorIs(t, err, client.ErrAuth)
	assert.ErrorContains(t, err, "wants its cookie")

	_, err = client.Dial(context.Background(), "127.0.0.1:1", client.Options{})
	assert.ErrorContains(t, err, "cannot reach the control port 127.0.0.1:1")
}

// conn/all decodes to the registry's own entries, as the test-network
// tier shows them.
func TestConnAll(t *testing.T) {
	srv, reg := fixtureServer(t, controlport.Config{})
	c := dial(t, srv.Addr, client.Options{})
	got, err := c.ConnAll(context.Background())
	require.NoError(t, err)
	var want []connstate.Entry
	for _, e := range reg.AppendEntries(nil) {
		if s, ok := scrub.TestNetwork().Apply(e); ok {
			want = append(want, s)
		}
	}
	require.NotEmpty(t, want)
	assert.Equal(t, len(want), len(got))
	for i := range want {
		assert.Equal(t, format.AppendEntry(nil, &want[i]), format.AppendEntry(nil, &got[i]))
	}
}

func TestTypedErrors(t *testing.T) {
	srv, _ := fixtureServer(t, controlport.Config{})
	c := dial(t, srv.Addr, client.Options{})
	_, err := c.GetInfo(context.Background(), "version", "nosuchkey")
	assert.ErrorIs(t, err, client.ErrUnrecognized)
	var e *client.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 552, e.Code)
	assert.Equal(t, []string{`Unrecognized key "nosuchkey"`}, e.Lines)
	_, err = c.Command(context.Background(), "GETINFO version\r\nQUIT")
	assert.ErrorContains(t, err, "cannot hold CR or LF")
	v, err := c.GetInfo(context.Background(), "version")
	require.NoError(t, err, "the connection is still good")
	assert.NotEmpty(t, v["version"])
}

func TestEvents(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	conn, err := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("203.0.113.7:50000"), Established: true})
	require.NoError(t, err)
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.TestNetwork()}
	mux := getinfo.NewMux()
	conns.Register(mux)
	pub, err := events.New(events.Config{Conns: conns})
	require.NoError(t, err)
	defer pub.Close()
	srv := controlporttest.NewServer(t, controlport.Config{Mux: mux, Events: pub, NullAuth: true})
	c := dial(t, srv.Addr, client.Options{})
	require.NoError(t, c.Subscribe(context.Background(), "BW"))
	clk.Advance(time.Second)
	conn.AddRead(1000)
	clk.Advance(time.Second)
	select {
	case ev := <-c.Events():
		assert.Equal(t, client.Event{Name: "BW", Line: "BW 1000 0"}, ev)
	case <-time.After(5 * time.Second):
		t.Fatal("no BW event")
	}
	v, err := c.GetInfo(context.Background(), "traffic/read")
	require.NoError(t, err, "replies and events apart")
	assert.Equal(t, "1000", v["traffic/read"])
	err = c.Subscribe(context.Background(), "BOGUS")
	assert.ErrorIs(t, err, client.ErrUnrecognized)
}

// A unix socket, as tor's ControlSocket.
func TestUnixSocket(t *testing.T) {
	reg, _, err := connstatetest.LoadNamed("empty")
	require.NoError(t, err)
	mux := getinfo.NewMux()
	(&getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}).Register(mux)
	srv, err := controlport.New(controlport.Config{Mux: mux, NullAuth: true})
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "control")
	l, err := srv.Listen("unix", path)
	require.NoError(t, err)
	controlporttest.Serve(t, srv, l)
	c := dial(t, "unix:"+path, client.Options{})
	entries, err := c.ConnAll(context.Background())
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// Against Debian's tor, offline: the keys tor has work, and conn/all is
// said to be missing.
func TestAgainstTor(t *testing.T) {
	tor := tortest.Start(t)
	c := dial(t, tor.Addr, client.Options{})
	v, err := c.GetInfo(context.Background(), "version", "config-file", "net/listeners/control")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(v["version"], "0.4."), v["version"])
	assert.Equal(t, `"`+tor.Addr+`"`, v["net/listeners/control"])
	names, err := c.GetInfo(context.Background(), "config/names")
	require.NoError(t, err)
	assert.Contains(t, names["config/names"], "\nORPort Dependent\n", "a data block, decoded")
	_, err = c.ConnAll(context.Background())
	assert.ErrorIs(t, err, client.ErrNoConnAll)
	require.NoError(t, c.Subscribe(context.Background(), "BW"))
	select {
	case ev := <-c.Events():
		assert.Equal(t, client.Event{Name: "BW", Line: "BW 0 0"}, ev)
	case <-time.After(5 * time.Second):
		t.Fatal("no BW event from tor")
	}
}

// A conn/all of many batches, decoded by the workers as it arrives, is
// the registry's entries as the tier shows them, in conn/all's order; a
// caller's slice keeps what it held.
func TestConnAllMany(t *testing.T) {
	reg, _, err := connstatetest.BusyRelay(5, 3000).Build()
	require.NoError(t, err)
	cfg := controlport.Config{NullAuth: true, Mux: getinfo.NewMux()}
	policy := scrub.TestNetwork()
	(&getinfo.Conns{Source: reg, Policy: policy}).Register(cfg.Mux)
	srv := controlporttest.NewServer(t, cfg)
	c := dial(t, srv.Addr, client.Options{})

	var want []connstate.Entry
	for e := range reg.Entries() {
		shown := *e
		policy.Scrub(&shown)
		shown.Origin = false
		want = append(want, shown)
	}
	slices.SortFunc(want, func(a, b connstate.Entry) int {
		return cmp.Or(cmp.Compare(a.CircID, b.CircID), cmp.Compare(a.ConnID, b.ConnID))
	})
	require.Greater(t, len(want), 10000, "lines enough for many batches")

	got, err := c.ConnAll(context.Background())
	require.NoError(t, err)
	assert.Equal(t, want, got)

	prior := []connstate.Entry{{ConnID: 7}}
	again, err := c.AppendConnAll(context.Background(), prior)
	require.NoError(t, err)
	require.Len(t, again, len(want)+1)
	assert.Equal(t, prior[0], again[0])
	assert.Equal(t, want, again[1:])
}

// A bad line deep in a reply is named by its number, and the connection
// goes on.
func TestConnAllBadLineFar(t *testing.T) {
	var value strings.Builder
	for i := 1; i <= 20000; i++ {
		if i == 15000 {
			value.WriteString("15000 0 0 0 0 IZt 0 0 0\n")
			continue
		}
		fmt.Fprintf(&value, "%d 0 0 0 0 IRt %d %d 60\n", i, i*1024, i*512)
	}
	cfg := controlport.Config{NullAuth: true, Mux: getinfo.NewMux()}
	cfg.Mux.HandleFunc("conn/all", "canned", func(dst []byte, _ string) ([]byte, error) {
		return append(dst, strings.TrimSuffix(value.String(), "\n")...), nil
	})
	srv := controlporttest.NewServer(t, cfg)
	c := dial(t, srv.Addr, client.Options{})
	prior := []connstate.Entry{{ConnID: 7}}
	got, err := c.AppendConnAll(context.Background(), prior)
	assert.ErrorIs(t, err, format.ErrSyntax)
	assert.ErrorContains(t, err, "conn/all line 15000")
	assert.Equal(t, prior, got, "dst as it was")
	_, err = c.GetInfo(context.Background(), "version")
	assert.NoError(t, err, "the connection goes on")
}

// A conn/all cancelled while its reply is arriving gives up the
// connection and returns; the decoder's workers end with it (goleak,
// -race).
func TestConnAllCancelled(t *testing.T) {
	wrote, release := make(chan struct{}), make(chan struct{})
	addr := answeringServer(t, func(w io.Writer) {
		io.WriteString(w, "250+conn/all=\r\n")
		for i := 1; i <= 100000; i++ {
			fmt.Fprintf(w, "%d 0 0 0 0 IRt 1024 512 60\r\n", i)
		}
		close(wrote)
		<-release // the rest never comes
	})
	t.Cleanup(func() { close(release) })
	c := dial(t, addr, client.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-wrote
		cancel()
	}()
	_, err := c.ConnAll(ctx)
	assert.ErrorIs(t, err, context.Canceled)
	_, err = c.GetInfo(context.Background(), "version")
	assert.ErrorIs(t, err, client.ErrClosed)
}

// A hostile server: a second reply to one GETINFO conn/all, a second
// data block, a data block after a one-line value. None reaches a call
// that has returned, none is taken for conn/all's lines, and a reply out
// of turn gives up the connection (goleak, -race).
func TestConnAllHostileReplies(t *testing.T) {
	for _, tt := range []struct {
		name, reply string
		entries     int
		err         error
	}{
		{"two data blocks", "250+conn/all=\r\n1 0 0 0 0 IRt 0 0 0\r\n.\r\n250+version=\r\n2 0 0 0 0 IRt 0 0 0\r\n.\r\n250 OK\r\n", 1, nil},
		{"a one-line value, then a block", "250-conn/all=1 0 0 0 0 IRt 0 0 0\r\n250+x=\r\n2 0 0 0 0 IRt 0 0 0\r\n.\r\n250 OK\r\n", 1, nil},
		{"conn/all twice in one reply", "250+conn/all=\r\n1 0 0 0 0 IRt 0 0 0\r\n.\r\n250+conn/all=\r\n2 0 0 0 0 IRt 0 0 0\r\n.\r\n250 OK\r\n", 1, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := answeringServer(t, func(w io.Writer) { io.WriteString(w, tt.reply) })
			c := dial(t, addr, client.Options{})
			got, err := c.ConnAll(context.Background())
			require.NoError(t, err)
			assert.Len(t, got, tt.entries)
		})
	}

	t.Run("a second reply", func(t *testing.T) {
		var extra strings.Builder
		extra.WriteString("250+conn/all=\r\n1 0 0 0 0 IRt 0 0 0\r\n.\r\n250 OK\r\n250+conn/all=\r\n")
		for i := 1; i <= 50000; i++ {
			fmt.Fprintf(&extra, "%d 0 0 0 0 IRt 1024 512 60\r\n", i+1000)
		}
		extra.WriteString(".\r\n250 OK\r\n")
		addr := answeringServer(t, func(w io.Writer) { io.WriteString(w, extra.String()) })
		c := dial(t, addr, client.Options{})
		for range 3 {
			got, err := c.ConnAll(context.Background())
			if err != nil {
				assert.True(t, errors.Is(err, client.ErrProtocol) || errors.Is(err, client.ErrClosed), "%v", err)
				continue
			}
			assert.LessOrEqual(t, len(got), 50000)
		}
	})

	t.Run("a line without end", func(t *testing.T) {
		addr := answeringServer(t, func(w io.Writer) {
			io.WriteString(w, "250+conn/all=\r\n")
			chunk := strings.Repeat("9", 1<<20)
			for range 17 {
				io.WriteString(w, chunk)
			}
		})
		c := dial(t, addr, client.Options{})
		_, err := c.ConnAll(context.Background())
		assert.ErrorIs(t, err, client.ErrProtocol)
		assert.ErrorContains(t, err, "longer than")
	})
}
