package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/internal/oracle"
)

// TestMain is also the far ends' program: relaysim runs its own
// executable as their children, which in a test is the test binary.
func TestMain(m *testing.M) {
	if os.Getenv(farSideEnv) != "" {
		os.Exit(farSideMain(os.Args[1:], os.Stdin, os.Stdout))
	}
	if addr := os.Getenv(scrapersEnv); addr != "" {
		os.Exit(holdScrapes(addr))
	}
	if os.Getenv(mainEnv) != "" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

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
// output once it has said where it listens and how to authenticate.
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
	// The line after the control port's, the tier's and the
	// authentication's.
	require.Eventually(t, func() bool {
		o := out.String()
		return strings.Contains(o, "relaysim: ORPort ") || strings.Contains(o, "relaysim: serving fixture ")
	}, 10*time.Second, 5*time.Millisecond, "%s", out)
	return out, wait
}

var controlRE = regexp.MustCompile(`relaysim: control port (\S+)`)
var cookieRE = regexp.MustCompile(`relaysim: cookie file (\S+)`)

// controlAddr returns the control port relaysim printed.
func controlAddr(t *testing.T, out string) string {
	t.Helper()
	m := controlRE.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	return m[1]
}

// cookieAuth is how to authenticate with the cookie relaysim printed.
func cookieAuth(t *testing.T, out string) controlporttest.Auth {
	t.Helper()
	m := cookieRE.FindStringSubmatch(out)
	require.NotNil(t, m, out)
	return controlporttest.Auth{CookieFile: m[1]}
}

// connect opens an authenticated controller to the relaysim whose output
// is out: with auth, or with the cookie it printed.
func connect(t *testing.T, out string, auth *controlporttest.Auth) *controlporttest.Client {
	t.Helper()
	c := controlporttest.Dial(t, "tcp", controlAddr(t, out))
	if auth == nil {
		a := cookieAuth(t, out)
		auth = &a
	}
	c.Authenticate(*auth)
	return c
}

// connAll returns the entries of conn/all.
func connAll(t *testing.T, c *controlporttest.Client) []string {
	t.Helper()
	v := c.GetInfo("conn/all")[0]
	if v == "" {
		return nil
	}
	return strings.Split(v, "\n")
}

func TestSimulationShowsEveryKind(t *testing.T) {
	out, wait := started(t, "-control", "127.0.0.1:0", "-conns", "80", "-quiet", "-policy", "testnet")
	ctl := connect(t, out.String(), nil)

	seen := map[string]bool{}
	require.Eventually(t, func() bool {
		for _, line := range connAll(t, ctl) {
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

	// The test-network tier's scrubbing holds on the live relay, read field
	// by field rather than through format.Parse: only relays with
	// fingerprints and controllers show an address or a local port, no 't'
	// line an OR_ID, and every other line and every leg shows bytes rounded
	// as package oracle says.
	shownSome := false
	for _, line := range connAll(t, ctl) {
		f := strings.Fields(line)
		require.GreaterOrEqual(t, len(f), 9, line)
		circ, orID, addr, lport, flags := f[1], f[2], f[3], f[4], f[5]
		read, err1 := strconv.ParseUint(f[6], 10, 64)
		written, err2 := strconv.ParseUint(f[7], 10, 64)
		require.NoError(t, errors.Join(err1, err2), line)
		shown := flags[2] == 'T' && orID != "0" || flags[1] == 'X'
		if !shown {
			assert.Equal(t, "0", addr, "IP:PORT of a scrubbed line: %s", line)
			assert.Equal(t, "0", lport, "L_PORT of a scrubbed line: %s", line)
		} else if flags[1] != 'X' {
			shownSome = shownSome || addr != "0" && lport != "0"
		}
		if flags[2] == 't' {
			assert.Equal(t, "0", orID, "OR_ID on a 't' line: %s", line)
		}
		if !shown || circ != "0" {
			assert.Equal(t, oracle.RoundHalfUp(read, oracle.TestNetworkRound), read, "READ not rounded: %s", line)
			assert.Equal(t, oracle.RoundHalfUp(written, oracle.TestNetworkRound), written, "WRITE not rounded: %s", line)
		}
	}
	assert.True(t, shownSome, "no relay line shows its IP:PORT and L_PORT: the check above would pass vacuously")

	// Every key answers.
	names := strings.Split(ctl.GetInfo("info/names")[0], "\n")
	var keys []string
	for _, l := range names {
		name, _, _ := strings.Cut(l, " -- ")
		if !strings.HasSuffix(name, "*") {
			keys = append(keys, name)
		}
	}
	require.GreaterOrEqual(t, len(keys), 25)
	assert.Len(t, ctl.GetInfo(keys...), len(keys), "every listed key answers")
	assert.Equal(t, []string{"0.4.9.11 (conninfo-relaysim)"}, ctl.GetInfo("version"))

	// Totals keep growing as bytes flow, closed connections included.
	first := ctl.GetInfo("relay/read-total")[0]
	require.Eventually(t, func() bool { return ctl.GetInfo("relay/read-total")[0] != first }, 20*time.Second, 100*time.Millisecond)

	require.Equal(t, []string{"250 closing connection"}, ctl.Command("QUIT").Lines)
	require.NoError(t, wait())
	assert.Contains(t, out.String(), "relaysim: stopped")
}

func TestLiveView(t *testing.T) {
	out, wait := started(t, "-control", "127.0.0.1:0", "-conns", "20", "-auth", "null")
	require.Eventually(t, func() bool { return strings.Contains(out.String(), "busiest:") }, 3*viewEvery, 50*time.Millisecond)
	require.NoError(t, wait())
	assert.Contains(t, out.String(), "relaysim: privacy tier public (epoch 10s, bytes rounded to 262144)\n")
	assert.Regexp(t, `--- up \S+, tier public: \d+ connections, \d+ legs of \d+ circuits shown\n    by type:( \S+ \d+)+\n    relayed: read`, out.String())
}

func TestFixtureMode(t *testing.T) {
	out, wait := started(t, "-control", "127.0.0.1:0", "-fixture", "../../connstate/connstatetest/fixtures/exit.conns", "-auth", "password", "-password", "s3cret", "-quiet", "-policy", "testnet")
	ctl := connect(t, out.String(), &controlporttest.Auth{Password: "s3cret"})
	golden, err := connstatetest.Golden("exit", "testnet")
	require.NoError(t, err)
	assert.Equal(t, strings.Split(strings.TrimSuffix(string(golden), "\r\n"), "\r\n"), ctl.Command("GETINFO conn/all").Lines, "the fixture's golden reply, controllers not added")
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
		{[]string{"-conns", "18001"}, "want 0 to 18000"},
		{[]string{"-conns", "-1"}, "want 0 to 18000"},
		{[]string{"-duration", "-1s"}, "want 0 or more"},
		{[]string{"-policy", "default"}, `-policy: scrub: unknown tier "default"`},
		{[]string{"-epoch", "1500ms"}, "want whole seconds"},
		{[]string{"-epoch", "0s"}, "want whole seconds"},
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

// relaysim's run is the whole program: here it serves a fixture for a
// moment, and says where its control port is.
func Example() {
	var out syncBuffer
	err := run(context.Background(), []string{
		"-control", "127.0.0.1:0", "-auth", "null", "-quiet",
		"-fixture", "../../connstate/connstatetest/fixtures/guard.conns", "-duration", "10ms",
	}, &out, &out)
	fmt.Println(err)
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		fmt.Println(regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(line, "127.0.0.1:PORT"))
	}
	// Output:
	// <nil>
	// relaysim: control port 127.0.0.1:PORT
	// relaysim: privacy tier public (epoch 10s, bytes rounded to 262144)
	// relaysim: no authentication (null)
	// relaysim: serving fixture ../../connstate/connstatetest/fixtures/guard.conns
	// relaysim: stopped
}

// mainEnv makes the test binary relaysim's main, for the tests that
// signal it.
const mainEnv = "RELAYSIM_TEST_MAIN"

// The far ends' processes end with relaysim: on SIGINT and SIGTERM, which
// stop it cleanly, and on SIGKILL, which Linux passes on to them.
func TestFarEndsEndWithRelaysim(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the process tree from /proc")
	}
	self, err := os.Executable()
	require.NoError(t, err)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(self, "-control", "127.0.0.1:0", "-conns", "20", "-quiet", "-auth", "null")
			cmd.Env = append(os.Environ(), mainEnv+"=1")
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			lines := bufio.NewScanner(stdout)
			for lines.Scan() && !strings.Contains(lines.Text(), "relaysim: ORPort ") {
			}
			go io.Copy(io.Discard, stdout)
			children := childrenOf(t, cmd.Process.Pid)
			require.NotEmpty(t, children, "the far ends run in child processes")
			require.NoError(t, cmd.Process.Signal(sig))
			cmd.Wait()
			for _, c := range children {
				assert.Eventually(t, func() bool { return !alive(c) }, 10*time.Second, 20*time.Millisecond, "child %d outlived relaysim", c)
			}
		})
	}
}

// childrenOf returns the processes whose parent is pid.
func childrenOf(t *testing.T, pid int) []int {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	require.NoError(t, err)
	var out []int
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, s := range strings.Fields(string(b)) {
			n, err := strconv.Atoi(s)
			require.NoError(t, err)
			out = append(out, n)
		}
	}
	return out
}

// alive reports whether pid runs: it exists and is not a zombie waiting
// for a parent that may never reap it (in a container, PID 1 may not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, ok := strings.Cut(string(b), ") ")
	return ok && !strings.HasPrefix(rest, "Z")
}
