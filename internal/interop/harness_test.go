package interop_test

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/consensus"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/oracle"
	"github.com/conninfo/conninfo/scrub"
)

// authMode is how a test server lets controllers in.
type authMode int

const (
	authNull              authMode = iota // NullAuth
	authCookie                            // CookieFile: COOKIE and SAFECOOKIE
	authPassword                          // HashedPasswords: HASHEDPASSWORD
	authCookieAndPassword                 // both
)

func (a authMode) String() string {
	return [...]string{"null", "cookie", "password", "cookie+password"}[a]
}

// password is the secret the HASHEDPASSWORD servers accept.
const password = "secret"

const (
	fixtureDir    = "../../connstate/connstatetest/fixtures/"
	consensusFile = "../../testdata/consensus/cached-consensus"
)

// The bandwidth the test relay is configured with: relayed traffic is
// limited by RelayBandwidthRate, the burst falls back to BandwidthBurst.
var testBandwidth = getinfo.Bandwidth{Rate: 1 << 20, Burst: 2 << 20, RelayRate: 512000}

// Expected process uptimes: the fake clock is advanced by processAge, the
// process reset, then advanced by sinceReset.
const (
	processAge = time.Hour + time.Second
	sinceReset = 5 * time.Second
)

// volatileKeys change with the process's open descriptors, which the
// controllers themselves open and close.
var volatileKeys = map[string]bool{
	"info/descriptor-used":     true,
	"process/descriptors-used": true,
}

// server is a control-port server on 127.0.0.1 over a fixture's registry,
// with every key of package getinfo registered.
type server struct {
	reg    *connstate.Registry
	clk    *connstatetest.Clock
	mux    *getinfo.Mux
	srv    *controlport.Server
	addr   netip.AddrPort
	cookie string // absolute cookie path, or ""
	wire   *wireLog
}

// startFixture starts a server over the fixture file name in connstate/connstatetest/fixtures.
func startFixture(t *testing.T, name string, mode authMode, opts ...option) *server {
	t.Helper()
	f, err := os.Open(fixtureDir + name)
	require.NoError(t, err)
	defer f.Close()
	reg, clk, err := connstatetest.Load(f)
	require.NoError(t, err, name)
	return start(t, reg, clk, mode, opts...)
}

// startText starts a server over a fixture given as text.
func startText(t *testing.T, fixture string, mode authMode) *server {
	t.Helper()
	reg, clk, err := connstatetest.Load(strings.NewReader(fixture))
	require.NoError(t, err)
	return start(t, reg, clk, mode)
}

// startBusy starts a server over connstatetest.BusyRelay(1, conns).
func startBusy(t *testing.T, conns int, mode authMode) *server {
	t.Helper()
	reg, clk, err := connstatetest.BusyRelay(1, conns).Build()
	require.NoError(t, err)
	return start(t, reg, clk, mode)
}

// settings are what an option may change before a test server starts.
type settings struct {
	cfg       controlport.Config
	reg       *connstate.Registry // the registry served
	consensus string              // the cached consensus ns/authority reads
	policy    scrub.Policy        // the tier served: the test network's unless told
}

// publicSeed fixes the public tier's dithering, so that the oracle can
// say what each view shows.
const publicSeed = 0x5eed

// tier makes the server serve policy instead of the test-network tier.
func tier(policy scrub.Policy) option {
	return func(st *settings) { st.policy = policy }
}

// option changes a test server's settings.
type option func(*settings)

// registerControllers makes the server register each controller in the
// registry it serves, as a relay's own control port would.
func registerControllers(st *settings) { st.cfg.Registry = st.reg }

// consensusAt makes ns/authority read the consensus at path.
func consensusAt(path string) option {
	return func(st *settings) { st.consensus = path }
}

// cookieIn puts the cookie file in a new directory named name, in a
// temporary directory whose path is plain ASCII (t.TempDir's holds the
// test's name).
func cookieIn(t *testing.T, name string) option {
	tmp, err := os.MkdirTemp("", "conninfo-interop-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(tmp) })
	dir := filepath.Join(tmp, name)
	require.NoError(t, os.Mkdir(dir, 0o700))
	return func(st *settings) { st.cfg.CookieFile = filepath.Join(dir, "control_auth_cookie") }
}

func start(t *testing.T, reg *connstate.Registry, clk *connstatetest.Clock, mode authMode, opts ...option) *server {
	t.Helper()
	m := getinfo.NewMux()
	st := settings{
		cfg:       controlport.Config{Mux: m, AuthTimeout: 20 * time.Second, WriteTimeout: 10 * time.Second},
		reg:       reg,
		consensus: consensusFile,
		policy:    scrub.TestNetwork(),
	}
	cfg := &st.cfg
	switch mode {
	case authNull:
		cfg.NullAuth = true
	case authCookie:
		cfg.CookieFile = filepath.Join(t.TempDir(), "control_auth_cookie")
	case authPassword:
		cfg.HashedPasswords = []string{protocol.HashPassword(password)}
	case authCookieAndPassword:
		cfg.CookieFile = filepath.Join(t.TempDir(), "control_auth_cookie")
		cfg.HashedPasswords = []string{protocol.HashPassword(password)}
	}
	for _, o := range opts {
		o(&st)
	}

	(&getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: st.policy, Seeds: func() uint64 { return publicSeed }}).Register(m)
	(&getinfo.Relay{Bandwidth: func() getinfo.Bandwidth { return testBandwidth }}).Register(m)
	p := &getinfo.Process{Clock: clk, Policy: st.policy}
	p.Register(m)
	(&getinfo.Authorities{Source: consensus.NewFileSource(st.consensus)}).Register(m)
	(&getinfo.InfoNames{}).Register(m)
	clk.Advance(processAge)
	p.Reset()
	clk.Advance(sinceReset)

	srv, err := controlport.New(st.cfg)
	require.NoError(t, err)
	l, err := srv.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	wire := &wireLog{}
	ts := controlporttest.Serve(t, srv, &recordingListener{Listener: l, log: wire})
	return &server{
		reg:    reg,
		clk:    clk,
		mux:    m,
		srv:    srv,
		addr:   netip.MustParseAddrPort(ts.Addr),
		cookie: srv.CookieFile(),
		wire:   wire,
	}
}

// scrubbed returns the registry's entries as the test-network tier shows
// them, sorted by (CircID, ConnID) as conn/all lists them, and conn/all's
// value: both from package oracle, which restates the specification apart
// from the scrub and format packages under test.
func (s *server) scrubbed() ([]connstate.Entry, string) {
	raw := s.reg.AppendEntries(nil)
	var shown []connstate.Entry // nil for none, as format.ParseAll returns
	for _, e := range raw {
		shown = append(shown, oracle.TestNetworkView(e))
	}
	return shown, oracle.TestNetworkLines(raw)
}

// answer returns what the Mux answers for key now; the test fails on error.
func (s *server) answer(t *testing.T, key string) string {
	t.Helper()
	v, err := s.mux.Answer(nil, key)
	require.NoError(t, err, key)
	return string(v)
}

// exactKeys returns every exact key of the Mux, as info/names lists them.
func (s *server) exactKeys() []string {
	var keys []string
	for _, n := range s.mux.Names() {
		if !n.Prefix {
			keys = append(keys, n.Key)
		}
	}
	return keys
}

func connKey(e connstate.Entry) string {
	return "conn/" + strconv.FormatUint(e.CircID, 10) + "/" + strconv.FormatUint(e.ConnID, 10)
}

// sampleConnKeys returns a few conn/<circ>/<conn> keys of different kinds:
// the first and last entries, a scrubbed one, a shown one and a circuit leg.
func (s *server) sampleConnKeys(t *testing.T) []string {
	t.Helper()
	entries := s.reg.AppendEntries(nil)
	require.NotEmpty(t, entries)
	keys := []string{connKey(entries[0]), connKey(entries[len(entries)-1])}
	var scrubbedOne, shownOne, legOne bool
	for _, e := range entries {
		switch {
		case e.CircID != 0 && !legOne:
			legOne = true
		case e.CircID == 0 && !oracle.Shown(e) && !scrubbedOne:
			scrubbedOne = true
		case e.CircID == 0 && oracle.Shown(e) && !shownOne:
			shownOne = true
		default:
			continue
		}
		if k := connKey(e); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// wireLog records, per connection in accept order, the bytes a controller
// sent and the bytes the server answered.
type wireLog struct {
	mu    sync.Mutex
	conns []*recordingConn
}

// session is a copy of one connection's traffic.
type session struct {
	Sent     string // controller to server
	Received string // server to controller
	Closed   bool   // the server closed the connection
}

// SentLines splits what the controller sent into lines without their CRLF.
func (s session) SentLines() []string {
	return splitCRLF(s.Sent)
}

// ReceivedLines splits what the server sent into lines without their CRLF.
func (s session) ReceivedLines() []string {
	return splitCRLF(s.Received)
}

func splitCRLF(s string) []string {
	s = strings.TrimSuffix(s, "\r\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\r\n")
}

func (w *wireLog) sessions() []session {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]session, len(w.conns))
	for i, c := range w.conns {
		out[i] = session{Sent: c.sent.String(), Received: c.received.String(), Closed: c.closed}
	}
	return out
}

// waitClosed waits until the server has closed every connection so far.
func (w *wireLog) waitClosed(t *testing.T) []session {
	t.Helper()
	var ss []session
	require.Eventually(t, func() bool {
		ss = w.sessions()
		for _, s := range ss {
			if !s.Closed {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond, "the server kept a connection open")
	return ss
}

type recordingListener struct {
	net.Listener
	log *wireLog
}

func (l *recordingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &recordingConn{Conn: nc, log: l.log}
	l.log.mu.Lock()
	l.log.conns = append(l.log.conns, c)
	l.log.mu.Unlock()
	return c, nil
}

// recordingConn is the server's side of a connection; its buffers are
// guarded by the log's mutex.
type recordingConn struct {
	net.Conn
	log      *wireLog
	sent     bytes.Buffer
	received bytes.Buffer
	closed   bool
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.log.mu.Lock()
	c.sent.Write(p[:n])
	c.log.mu.Unlock()
	return n, err
}

// Write records p before sending it, so that a controller never reads
// bytes the log does not have yet, and forgets what was not sent.
func (c *recordingConn) Write(p []byte) (int, error) {
	c.log.mu.Lock()
	c.received.Write(p)
	c.log.mu.Unlock()
	n, err := c.Conn.Write(p)
	if n < len(p) {
		c.log.mu.Lock()
		c.received.Truncate(c.received.Len() - (len(p) - n))
		c.log.mu.Unlock()
	}
	return n, err
}

func (c *recordingConn) Close() error {
	c.log.mu.Lock()
	c.closed = true
	c.log.mu.Unlock()
	return c.Conn.Close()
}
