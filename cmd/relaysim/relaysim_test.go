package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/conninfo/conninfo/format"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for the writers run starts.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// started runs relaysim with args until the test ends and returns its
// output once the control port is up.
func started(t *testing.T, args ...string) (out *syncBuffer, wait func() error) {
	t.Helper()
	out = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, out, out) }()
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { wait() })
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "relaysim: control port ") }, 10*time.Second, 5*time.Millisecond)
	return out, wait
}

var controlRE = regexp.MustCompile(`relaysim: control port (\S+)`)
var cookieRE = regexp.MustCompile(`relaysim: cookie file (\S+)`)

type controller struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func connect(t *testing.T, out string, auth string) *controller {
	t.Helper()
	m := controlRE.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	c, err := net.Dial("tcp", m[1])
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ctl := &controller{t: t, c: c, r: bufio.NewReader(c)}
	if auth == "" {
		cm := cookieRE.FindStringSubmatch(out)
		require.NotNil(t, cm, out)
		cookie, err := os.ReadFile(cm[1])
		require.NoError(t, err)
		auth = fmt.Sprintf("%x", cookie)
	}
	require.Equal(t, []string{"250 OK"}, ctl.cmd("AUTHENTICATE "+auth))
	return ctl
}

// cmd sends a command and returns its reply lines, data blocks included.
func (c *controller) cmd(line string) []string {
	c.t.Helper()
	require.NoError(c.t, c.c.SetDeadline(time.Now().Add(10*time.Second)))
	_, err := fmt.Fprintf(c.c, "%s\r\n", line)
	require.NoError(c.t, err)
	var lines []string
	inData := false
	for {
		l, err := c.r.ReadString('\n')
		require.NoError(c.t, err)
		l = strings.TrimSuffix(l, "\r\n")
		lines = append(lines, l)
		switch {
		case inData:
			inData = l != "."
		case len(l) >= 4 && l[3] == '+':
			inData = true
		case len(l) >= 4 && l[3] == ' ':
			return lines
		}
	}
}

// connAll returns the entries of conn/all.
func (c *controller) connAll() []string {
	lines := c.cmd("GETINFO conn/all")
	require.Equal(c.t, "250 OK", lines[len(lines)-1])
	if strings.HasPrefix(lines[0], "250-conn/all=") {
		if v := strings.TrimPrefix(lines[0], "250-conn/all="); v != "" {
			return []string{v}
		}
		return nil
	}
	require.Equal(c.t, "250+conn/all=", lines[0])
	return lines[1 : len(lines)-2]
}

func TestSimulationShowsEveryKind(t *testing.T) {
	out, wait := started(t, "-control", "127.0.0.1:0", "-conns", "80", "-quiet")
	ctl := connect(t, out.String(), "")

	seen := map[string]bool{}
	require.Eventually(t, func() bool {
		for _, line := range ctl.connAll() {
			e, err := format.Parse(line)
			require.NoError(t, err, line)
			if e.CircID != 0 {
				seen["circuit "+e.Flags.String()] = true
			}
			seen[e.Flags.String()] = true
		}
		for _, want := range []string{"IRt", "iRt", "ORT", "IRT", "ORt", "IXt", "circuit IRt", "circuit ORT"} {
			if !seen[want] {
				return false
			}
		}
		return true
	}, 30*time.Second, 200*time.Millisecond, "kinds seen: %v", seen)

	// Scrubbing holds on the live relay: only relays with fingerprints and
	// controllers show an address.
	for _, line := range ctl.connAll() {
		e, err := format.Parse(line)
		require.NoError(t, err)
		if e.Remote.IsValid() {
			assert.True(t, e.Flags.Usage.String() == "control" || (e.Flags.Network.String() == "tor" && !e.Fingerprint.IsZero()), line)
		}
	}

	// Every key answers.
	lines := ctl.cmd("GETINFO info/names")
	require.Equal(t, "250+info/names=", lines[0])
	var keys []string
	for _, l := range lines[1 : len(lines)-2] {
		name, _, _ := strings.Cut(l, " -- ")
		if !strings.HasSuffix(name, "*") {
			keys = append(keys, name)
		}
	}
	require.GreaterOrEqual(t, len(keys), 25)
	reply := ctl.cmd("GETINFO " + strings.Join(keys, " "))
	assert.Equal(t, "250 OK", reply[len(reply)-1], "every listed key answers")
	assert.Equal(t, []string{"250-version=0.4.9.11 (conninfo-relaysim)", "250 OK"}, ctl.cmd("GETINFO version"))

	// Totals keep growing as bytes flow, closed connections included.
	first := ctl.cmd("GETINFO relay/read-total")[0]
	require.Eventually(t, func() bool { return ctl.cmd("GETINFO relay/read-total")[0] != first }, 20*time.Second, 100*time.Millisecond)

	require.Equal(t, []string{"250 closing connection"}, ctl.cmd("QUIT"))
	require.NoError(t, wait())
	assert.Contains(t, out.String(), "relaysim: stopped")
}

func TestLiveView(t *testing.T) {
	out, wait := started(t, "-control", "127.0.0.1:0", "-conns", "20", "-auth", "null")
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "busiest (scrubbed):") }, 3*viewEvery, 50*time.Millisecond)
	require.NoError(t, wait())
	assert.Regexp(t, `--- up \S+: \d+ connections, \d+ circuits with legs\n    by type:( \S+ \d+)+\n    relayed: read`, out.String())
}

func TestFixtureMode(t *testing.T) {
	out, wait := started(t, "-control", "127.0.0.1:0", "-fixture", "../../testdata/fixtures/exit.conns", "-auth", "password", "-password", "s3cret", "-quiet")
	ctl := connect(t, out.String(), `"s3cret"`)
	golden, err := os.ReadFile("../../testdata/conn/exit.default.reply")
	require.NoError(t, err)
	assert.Equal(t, strings.Split(strings.TrimSuffix(string(golden), "\r\n"), "\r\n"), ctl.cmd("GETINFO conn/all"), "the fixture's golden reply, controllers not added")
	require.NoError(t, wait())
}

func TestDurationEnds(t *testing.T) {
	out := &syncBuffer{}
	start := time.Now()
	require.NoError(t, run(context.Background(), []string{"-control", "127.0.0.1:0", "-conns", "10", "-duration", "300ms", "-quiet", "-auth", "null"}, out, out))
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Contains(t, out.String(), "relaysim: stopped")
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-auth", "magic"}, `-auth "magic"`},
		{[]string{"-auth", "password"}, "needs -password"},
		{[]string{"-password", "x"}, "needs -auth password"},
		{[]string{"-auth", "null", "-cookie-file", "/tmp/c"}, "-cookie-file needs -auth cookie"},
		{[]string{"-conns", "9001"}, "want 0 to 9000"},
		{[]string{"-conns", "-1"}, "want 0 to 9000"},
		{[]string{"-duration", "-1s"}, "want 0 or more"},
		{[]string{"extra"}, "unexpected arguments"},
		{[]string{"-nosuchflag"}, "flag provided but not defined"},
		{[]string{"-control", "0.0.0.0:0", "-auth", "null"}, "not a loopback address"},
		{[]string{"-control", "127.0.0.1:0", "-fixture", "/nonexistent.conns", "-auth", "null"}, "no such file"},
	}
	for _, tt := range tests {
		var out syncBuffer
		err := run(context.Background(), tt.args, &out, &out)
		require.Error(t, err, "%v", tt.args)
		assert.Contains(t, err.Error()+out.String(), tt.want, "%v", tt.args)
	}
}

func TestEmbeddedConsensusIsTestdata(t *testing.T) {
	want, err := os.ReadFile("../../testdata/consensus/cached-consensus")
	require.NoError(t, err)
	assert.Equal(t, string(want), cachedConsensus, "cmd/relaysim/cached-consensus must stay a copy of testdata's")
}
