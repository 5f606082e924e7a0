package getinfo_test

import (
	"bytes"
	"net/netip"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/consensus"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/golden"
	"github.com/conninfo/conninfo/scrub"
)

// answer returns the value of key, failing the test on an error.
func answer(t *testing.T, m *getinfo.Mux, key string) string {
	t.Helper()
	v, err := m.Answer(nil, key)
	require.NoError(t, err, key)
	return string(v)
}

func assertUnknown(t *testing.T, m *getinfo.Mux, keys ...string) {
	t.Helper()
	names := string(getinfo.AppendNames(nil, m.Names()))
	for _, k := range keys {
		_, err := m.Answer(nil, k)
		assert.ErrorIs(t, err, getinfo.ErrUnrecognized, "%s should be unknown", k)
		assert.NotContains(t, names, k+" -- ", "%s should be absent from info/names", k)
	}
}

var relayKeys = []string{
	"info/relay/bw-limit", "relay/bw-limit", "info/relay/burst-limit", "relay/burst-limit",
	"info/relay/read-total", "relay/read-total", "info/relay/write-total", "relay/write-total",
	"traffic/read", "traffic/written",
}

func TestRelayKeys(t *testing.T) {
	reg, _, err := connstatetest.LoadFile(filepath.Join(fixtureDir, "guard.conns"))
	require.NoError(t, err)
	bw := getinfo.Bandwidth{Rate: 1 << 20, Burst: 2 << 20}
	m := getinfo.NewMux()
	(&getinfo.Relay{Bandwidth: func() getinfo.Bandwidth { return bw }}).Register(m)
	(&getinfo.Conns{Totals: reg.Totals, Policy: scrub.TestNetwork()}).Register(m) // live, exact

	// The proposal's names and tor's answer identically.
	for _, pair := range [][2]string{
		{"info/relay/bw-limit", "relay/bw-limit"}, {"info/relay/burst-limit", "relay/burst-limit"},
		{"info/relay/read-total", "relay/read-total"}, {"info/relay/write-total", "relay/write-total"},
	} {
		assert.Equal(t, answer(t, m, pair[0]), answer(t, m, pair[1]), "%s and %s", pair[0], pair[1])
	}
	assert.Equal(t, "1048576", answer(t, m, "info/relay/bw-limit"))
	assert.Equal(t, "2097152", answer(t, m, "info/relay/burst-limit"))
	bw.RelayRate, bw.RelayBurst = 500000, 750000
	assert.Equal(t, "500000", answer(t, m, "relay/bw-limit"), "RelayBandwidthRate overrides, and a reload shows at once")
	assert.Equal(t, "750000", answer(t, m, "relay/burst-limit"))

	// Totals against the fixture: sum the rate-limited connections, closed
	// one included. The fixture's peers are all public but the controller
	// on loopback, which tor does not rate limit.
	f, err := os.Open(filepath.Join(fixtureDir, "guard.conns"))
	require.NoError(t, err)
	defer f.Close()
	fx, err := connstatetest.ParseFixture(f)
	require.NoError(t, err)
	var want connstate.Totals
	for _, c := range fx.Conns {
		if c.Remote.Addr().IsLoopback() {
			require.Equal(t, connstate.UsageControl, c.Flags.Usage)
			continue
		}
		require.True(t, c.Remote.Addr().IsGlobalUnicast() && !c.Remote.Addr().IsPrivate(), "conn %d", c.ID)
		if c.Flags.Usage == connstate.UsageRelay {
			want.RelayRead += c.Read
			want.RelayWritten += c.Written
		}
		want.TrafficRead += c.Read
		want.TrafficWritten += c.Written
	}
	require.NotZero(t, want.RelayRead)
	assert.Equal(t, strconv.FormatUint(want.RelayRead, 10), answer(t, m, "info/relay/read-total"))
	assert.Equal(t, strconv.FormatUint(want.RelayWritten, 10), answer(t, m, "info/relay/write-total"))
	assert.Equal(t, strconv.FormatUint(want.TrafficRead, 10), answer(t, m, "traffic/read"))
	assert.Equal(t, strconv.FormatUint(want.TrafficWritten, 10), answer(t, m, "traffic/written"))

	// New bytes count at once, and survive the connection's close.
	conn, err := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("203.0.113.9:50000")})
	require.NoError(t, err)
	conn.AddRead(1000)
	assert.Equal(t, strconv.FormatUint(want.RelayRead+1000, 10), answer(t, m, "relay/read-total"))
	require.NoError(t, conn.Close())
	assert.Equal(t, strconv.FormatUint(want.RelayRead+1000, 10), answer(t, m, "info/relay/read-total"))
}

func TestUnconfiguredKeysAreUnknown(t *testing.T) {
	m := getinfo.NewMux()
	(&getinfo.Relay{}).Register(m)
	(&getinfo.InfoNames{}).Register(m)
	assertUnknown(t, m, relayKeys...)
	assertUnknown(t, m, "ns/authority", "uptime", "process/pid", "conn/all")

	(&getinfo.Conns{}).Register(m)
	assertUnknown(t, m, relayKeys...)
	assertUnknown(t, m, "conn/all", "conn/0/1")

	m = getinfo.NewMux()
	(&getinfo.Conns{Totals: connstate.NewRegistry().Totals, Clock: connstatetest.NewClock(connstatetest.Epoch())}).Register(m)
	assertUnknown(t, m, "info/relay/bw-limit", "relay/burst-limit", "conn/all")
	assert.Equal(t, "0", answer(t, m, "traffic/read"))
}

func TestUptimeKeys(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	start := connstatetest.Epoch().Add(-90 * time.Second)
	p := &getinfo.Process{Clock: clk, Start: start}
	m := getinfo.NewMux()
	p.Register(m)
	for _, k := range []string{"info/uptime-process", "process/uptime", "uptime", "info/uptime-reset", "process/uptime-reset"} {
		assert.Equal(t, "90", answer(t, m, k), k)
	}
	clk.Advance(10*time.Second + 900*time.Millisecond)
	assert.Equal(t, "100", answer(t, m, "uptime"), "whole seconds, truncated")
	p.Reset()
	clk.Advance(5 * time.Second)
	assert.Equal(t, "105", answer(t, m, "info/uptime-process"))
	assert.Equal(t, "5", answer(t, m, "info/uptime-reset"))
	assert.Equal(t, "5", answer(t, m, "process/uptime-reset"))

	// A custom clock without a start time counts from Register.
	p = &getinfo.Process{Clock: clk}
	p.Register(getinfo.NewMux())
	clk.Advance(7 * time.Second)
	assert.Equal(t, 7*time.Second, p.Uptime())
}

// run returns the trimmed output of a system command, skipping the test
// with a clear message when the command is not installed.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (Debian package procps or coreutils); .ci/run installs it", name)
	}
	out, err := exec.Command(name, args...).Output()
	require.NoError(t, err, "%s %v", name, args)
	return strings.TrimSpace(string(out))
}

func TestProcessUser(t *testing.T) {
	u, err := user.Current()
	require.NoError(t, err)
	m := getinfo.NewMux()
	(&getinfo.Process{}).Register(m)
	assert.Equal(t, u.Username, answer(t, m, "process/user"))
	assert.Equal(t, strconv.Itoa(os.Geteuid()), answer(t, m, "process/uid"))
}

func TestReservedDescriptors(t *testing.T) {
	m := getinfo.NewMux()
	(&getinfo.Process{ReservedDescriptors: 1 << 62}).Register(m)
	if _, err := m.Answer(nil, "process/descriptor-limit"); err != nil {
		t.Skip("no descriptor limit on this system")
	}
	assert.Equal(t, "0", answer(t, m, "process/descriptor-limit"), "never below zero")
}

func TestAuthorityKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cached-consensus")
	m := getinfo.NewMux()
	(&getinfo.Authorities{Source: consensus.NewFileSource(path)}).Register(m)

	assert.Equal(t, "250-ns/authority=\r\n250 OK\r\n", reply(t, m, "ns/authority"), "no consensus: an empty value, as tor answers ns/*")

	raw, err := os.ReadFile("../testdata/consensus/cached-consensus")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, raw, 0o600))
	got := reply(t, m, "ns/authority")
	golden.Compare(t, "../testdata/getinfo/ns-authority.reply", []byte(got))
	assert.Equal(t, 9, strings.Count(got, "\r\nr "), "nine authorities")
	assert.Equal(t, 9, strings.Count(got, "\r\ns Authority "))
	assert.NotContains(t, got, "exitnode42")

	require.NoError(t, os.WriteFile(path, []byte("network-status-version 3\nvote-status vote\n"), 0o600))
	assert.Equal(t, "551 Consensus unreadable\r\n", reply(t, m, "ns/authority"), "a malformed consensus is never an empty answer")
}

// fullMux registers every key conninfo offers, as a relay host would.
func fullMux(t *testing.T) *getinfo.Mux {
	t.Helper()
	reg, clk, err := connstatetest.LoadFile(filepath.Join(fixtureDir, "guard.conns"))
	require.NoError(t, err)
	m := getinfo.NewMux()
	(&getinfo.Conns{Source: reg, Totals: reg.Totals}).Register(m)
	(&getinfo.Relay{Bandwidth: func() getinfo.Bandwidth { return getinfo.Bandwidth{Rate: 1 << 20} }}).Register(m)
	(&getinfo.Process{Clock: clk}).Register(m)
	(&getinfo.Authorities{Source: consensus.NewFileSource("../testdata/consensus/cached-consensus")}).Register(m)
	(&getinfo.InfoNames{}).Register(m)
	return m
}

func TestInfoNames(t *testing.T) {
	m := fullMux(t)
	got := reply(t, m, "info/names")
	golden.Compare(t, "../testdata/getinfo/info-names.reply", []byte(got))

	body := strings.TrimSuffix(strings.TrimPrefix(got, "250+info/names=\r\n"), "\r\n.\r\n250 OK\r\n")
	lines := strings.Split(body, "\r\n")
	assert.True(t, slices.IsSorted(lines), "sorted bytewise over the whole line")
	names := m.Names()
	assert.Len(t, lines, len(names), "one line per registered key")
	for _, l := range lines {
		name, doc, ok := strings.Cut(l, " -- ")
		assert.True(t, ok && doc != "", "line %q has a description", l)
		if strings.HasSuffix(name, "*") {
			continue
		}
		_, err := m.Answer(nil, name)
		assert.NoError(t, err, "listed key %s is answered", name)
	}
	for _, k := range append(relayKeys, "conn/all", "conn/*", "ns/authority", "info/names", "uptime", "process/pid", "info/uptime-reset") {
		assert.Contains(t, lines, lineFor(names, strings.TrimSuffix(k, "*")), k)
	}
}

func lineFor(names []getinfo.Name, key string) string {
	for _, n := range names {
		if n.Key == key {
			return string(getinfo.AppendNames(nil, []getinfo.Name{n}))
		}
	}
	return "(no line for " + key + ")"
}

func TestHostKeysAppearInNames(t *testing.T) {
	m := getinfo.NewMux()
	(&getinfo.InfoNames{}).Register(m)
	m.HandleFunc("version", "The version the host reports.", func(dst []byte, _ string) ([]byte, error) {
		return append(dst, "0.4.9.11"...), nil
	})
	assert.Equal(t, "info/names -- Every GETINFO key answered here, one per line with its description; prefixes end in *.\nversion -- The version the host reports.",
		answer(t, m, "info/names"), "registered after info/names, still listed")
	var buf bytes.Buffer
	require.NoError(t, getinfo.WriteReply(&buf, m, []string{"version", "info/names"}))
	assert.True(t, strings.HasPrefix(buf.String(), "250-version=0.4.9.11\r\n250+info/names=\r\n"))
}
