package top

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
)

// script is a Source that answers its snapshots in turn.
type script struct {
	snaps []Snapshot
	errs  []error
	calls int
}

func (s *script) Fetch(context.Context) (Snapshot, error) {
	i := min(s.calls, len(s.snaps)-1)
	s.calls++
	var err error
	if i < len(s.errs) {
		err = s.errs[i]
	}
	return s.snaps[i], err
}

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

// relay is a small relay's snapshot: a client's circuit that exits, a
// carried middle circuit, and a finding on the client's connection.
func relay(t *testing.T, at time.Duration, bytes uint64) Snapshot {
	e := func(conn, circ uint64, f string, n uint64) connstate.Entry {
		return connstate.Entry{ConnID: conn, CircID: circ, Flags: flags(t, f), Read: n, Written: n / 2, Uptime: 60 + uint64(at.Seconds())}
	}
	peer := e(2, 0, "ORT", bytes)
	peer.Remote = netip.MustParseAddrPort("198.18.0.9:9001")
	peer.Fingerprint[0] = 0xAB
	return Snapshot{
		At:     t0.Add(at),
		Header: []Field{{"version", "0.4.9.11"}, {"fingerprint", "AB00"}},
		Status: []Field{{"uptime", "3700"}, {"traffic/read", "1536"}, {"traffic/written", "-"}, {"process/user", "debian-tor"}},
		Entries: []connstate.Entry{
			e(1, 0, "ICt", 2*bytes), peer, e(3, 0, "ORt", bytes/4), e(4, 0, "IRT", 10),
			e(1, 7, "ICt", bytes), e(3, 7, "ORt", bytes/4),
			e(4, 8, "IRT", 10), e(2, 8, "ORT", 10),
		},
		Findings: []audit.Finding{{Detector: audit.Asymmetric, Severity: audit.Warning, ConnIDs: []uint64{1, 3}, CircIDs: []uint64{7}, Message: "a circuit's two sides moved volumes far apart"}},
	}
}

func newModel(t *testing.T, src Source, cfg Config) *Model {
	t.Helper()
	cfg.Source = src
	m, err := New(context.Background(), cfg)
	require.NoError(t, err)
	m.Update(tea.WindowSizeMsg{Width: 160, Height: 20})
	return m
}

// lines returns the screen's lines.
func lines(m *Model) []string { return strings.Split(m.View(), "\n") }

func TestViewConnections(t *testing.T) {
	m := newModel(t, &script{}, Config{Title: "127.0.0.1:9051"})
	m.Apply(relay(t, 0, 10000))
	m.Apply(relay(t, 2*time.Second, 30000))
	screen := lines(m)
	require.Len(t, screen, 20, "the screen's height")
	assert.Contains(t, screen[0], "conninfo top  127.0.0.1:9051  version 0.4.9.11  fingerprint AB00")
	assert.Equal(t, "up 1h1m40s  read 1.5 KiB  traffic/written -  process/user debian-tor  connections 4 (in 2, out 2, unestablished 0)  circuits shown 2  at 00:00:02", strings.TrimRight(screen[1], " "))
	assert.Contains(t, screen[2], "no BW events")
	assert.Contains(t, screen[3], "3 findings (1)")
	assert.Contains(t, screen[3], "4 of 4")
	assert.Contains(t, screen[4], "CONN_ID")
	// The busiest first: conn 1 read 40000 bytes more in 2 s.
	assert.Regexp(t, `^! 1 +ICt +in client ext +- +- +58\.6 KiB +29\.3 KiB +19\.5 KiB +9\.8 KiB +1m02s`, screen[5])
	assert.Regexp(t, `^  2 +ORT +out relay +198\.18\.0\.9:9001 +AB000000… +29\.3 KiB`, screen[6])
	assert.Regexp(t, `^! 3 +ORt`, screen[7])
	assert.Regexp(t, `^  4 +IRT .* +10 B +5 B +- +- +1m02s`, screen[8], "its counts did not move: no rate")
	assert.Contains(t, screen[18], "! warning  asymmetric       a circuit's two sides moved volumes far apart (conns 1,3; circuits 7)")
	assert.Contains(t, screen[19], "q quit")
}

func TestViewCircuitsAndFindings(t *testing.T) {
	m := newModel(t, &script{}, Config{})
	m.Apply(relay(t, 0, 10000))
	m.Update(tea.KeyMsg{Type: tea.KeyTab})
	screen := lines(m)
	assert.Contains(t, screen[4], "CHAIN")
	assert.Regexp(t, `^! 7 +CLIENT -> YOU -> EXIT +14\.6 KiB +3\.7 KiB +- +- +1m00s`, screen[5])
	assert.Regexp(t, `^  8 +RELAY -> YOU -> RELAY +15 B +15 B`, screen[6])

	m.Update(runes("3"))
	screen = lines(m)
	assert.Contains(t, screen[4], "DETECTOR")
	assert.Contains(t, screen[5], "warning  asymmetric")
	assert.NotContains(t, m.View(), "CLIENT -> YOU")
}

func TestKeys(t *testing.T) {
	m := newModel(t, &script{}, Config{Sort: "id"})
	m.Apply(relay(t, 0, 10000))
	first := func() string { return strings.Fields(strings.TrimPrefix(lines(m)[5], "!"))[0] }
	assert.Equal(t, "1", first())
	m.Update(runes("r"))
	assert.Equal(t, "4", first(), "reversed")
	m.Update(runes("r"))
	m.Update(runes("s"))
	assert.Contains(t, lines(m)[3], "sort flags")
	m.Update(runes("s"))
	assert.Contains(t, lines(m)[3], "sort rate", "the sorts go round")

	// A filter typed at once, as a terminal delivers fast keys.
	m.Update(runes("/orT"))
	assert.Contains(t, lines(m)[3], "filter: orT_")
	m.Update(tea.KeyMsg{Type: tea.KeyBackspace})
	m.Update(runes("t"))
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	assert.Contains(t, lines(m)[3], "2 of 4   filter: ort")
	assert.Equal(t, "2", first())
	m.Update(runes("/"))
	m.Update(runes("zzz"))
	m.Update(tea.KeyMsg{Type: tea.KeyEnter})
	assert.Contains(t, lines(m)[5], "no row matches the filter")
	m.Update(tea.KeyMsg{Type: tea.KeyEsc})
	assert.Contains(t, lines(m)[3], "4 of 4")

	_, cmd := m.Update(runes("q"))
	require.NotNil(t, cmd)
	assert.IsType(t, tea.QuitMsg{}, cmd())
}

func TestScroll(t *testing.T) {
	s := Snapshot{At: t0}
	for i := range 100 {
		s.Entries = append(s.Entries, connstate.Entry{ConnID: uint64(i + 1), Flags: flags(t, "IRt")})
	}
	m := newModel(t, &script{}, Config{Sort: "id"})
	m.Apply(s)
	first := func() string { return strings.Fields(lines(m)[5])[0] }
	visible := m.bodyRows()
	assert.Equal(t, 14, visible, "20 lines less the six around the rows")
	m.Update(tea.KeyMsg{Type: tea.KeyDown})
	assert.Equal(t, "2", first())
	m.Update(tea.KeyMsg{Type: tea.KeyPgDown})
	assert.Equal(t, fmt.Sprint(2+visible), first())
	m.Update(runes("G"))
	assert.Equal(t, fmt.Sprint(100-visible+1), first(), "the last screenful")
	m.Update(tea.KeyMsg{Type: tea.KeyPgDown})
	assert.Equal(t, fmt.Sprint(100-visible+1), first(), "no further")
	m.Update(runes("g"))
	assert.Equal(t, "1", first())
	m.Update(tea.KeyMsg{Type: tea.KeyUp})
	assert.Equal(t, "1", first(), "no further")
}

// Refreshes: one fetch at a time, the next a tick after; an error is
// shown and the last snapshot kept; a paused view fetches nothing until
// it resumes.
func TestRefreshes(t *testing.T) {
	boom := errors.New("control port closed")
	src := &script{snaps: []Snapshot{relay(t, 0, 100), {}, relay(t, 4*time.Second, 900)}, errs: []error{nil, boom}}
	m := newModel(t, src, Config{Every: time.Second})
	// Init batches the fetch with the BW reader (none here).
	msg := m.Init()()
	_, next := m.Update(msg)
	assert.Contains(t, lines(m)[1], "connections 4")
	require.NotNil(t, next, "the next refresh is scheduled")

	_, cmd := m.Update(dueMsg{})
	_, next = m.Update(cmd())
	assert.Contains(t, m.View(), "error: control port closed")
	assert.Contains(t, lines(m)[1], "connections 4", "the last snapshot kept")
	require.NotNil(t, next)

	m.Update(runes("p"))
	_, cmd = m.Update(dueMsg{})
	assert.Nil(t, cmd, "paused: no fetch")
	assert.Contains(t, m.View(), "PAUSED")
	_, cmd = m.Update(runes("p"))
	require.NotNil(t, cmd, "resumed: the refresh that came due")
	m.Update(cmd())
	assert.NotContains(t, m.View(), "error:")
	assert.Equal(t, 3, src.calls)
}

func TestSparkline(t *testing.T) {
	ch := make(chan BW, 100)
	m := newModel(t, &script{}, Config{BW: ch})
	m.Apply(relay(t, 0, 100))
	assert.Contains(t, lines(m)[2], "waiting for BW events")
	for _, v := range []uint64{0, 1, 1024, 2048, 4096, 8192} {
		ch <- BW{Read: v, Written: v}
	}
	close(ch)
	wait := m.waitBW()
	for {
		_, next := m.Update(wait())
		if next == nil {
			break
		}
		wait = next
	}
	// Eight bars scaled to the peak, 16 KiB, rounded up, so that any
	// traffic shows: 0, 2 B, 2, 4, 8 and 16 KiB are 0, 1, 1, 2, 4 and 8.
	assert.Contains(t, lines(m)[2], "bandwidth  ▁▁▂▄█  read 8.0 KiB/s  written 8.0 KiB/s  (last 6s, peak 16.0 KiB/s)")
	for range sparkWidth + 10 {
		m.Update(bwMsg{Read: 1})
	}
	assert.Len(t, m.bw, sparkWidth, "a minute kept")
}

func TestNewErrors(t *testing.T) {
	_, err := New(context.Background(), Config{})
	assert.ErrorIs(t, err, ErrNoSource)
	_, err = New(context.Background(), Config{Source: &script{}, Sort: "loudest"})
	assert.ErrorContains(t, err, `unknown sort "loudest"`)
}

// A terminal narrower than a line cuts it, wider pads nothing odd.
func TestNarrowScreen(t *testing.T) {
	m := newModel(t, &script{}, Config{})
	m.Update(tea.WindowSizeMsg{Width: 30, Height: 8})
	m.Apply(relay(t, 0, 100))
	for _, l := range lines(m) {
		assert.LessOrEqual(t, len([]rune(l)), 30, "%q", l)
	}
	assert.Len(t, lines(m), 8)
}

// What a relay sends is shown without its control characters: an escape
// sequence in a version or a finding does not reach the terminal.
func TestViewDropsControlCharacters(t *testing.T) {
	m := newModel(t, &script{}, Config{})
	s := relay(t, 0, 100)
	s.Header = []Field{{"version", "0.4.9.11\x1b]0;owned\x07\x1b[2J"}}
	s.Findings[0].Message = "moved\x1b[31m far\r\n apart"
	m.Apply(s)
	m.err = errors.New("552 \x1b[2Jbad")
	screen := m.View()
	assert.NotContains(t, screen, "\x1b]")
	assert.NotContains(t, screen, "\x1b[2J")
	assert.NotContains(t, screen, "\x07")
	assert.Contains(t, screen, "version 0.4.9.11]0;owned[2J")
	assert.Contains(t, screen, "moved[31m far apart")
}
