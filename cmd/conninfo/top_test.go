package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/internal/tmuxtest"
)

// TestTopInTmux runs conninfo top in a 160×40 tmux window against
// relaysim with -scenario asymmetric in the public tier, as an operator
// would in a second terminal: the header names the relay, the rows are
// its connections, the relay's own finding shows, the circuits tab shows
// its own circuits as chains, and q ends it with status 0.
func TestTopInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("relaysim and a terminal for half a minute: README's test command runs it alone, without -short")
	}
	if msg := tmuxtest.Missing("tmux"); msg != "" {
		t.Skip(msg)
	}
	dir := t.TempDir()
	for _, cmd := range []string{"relaysim", "conninfo"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, cmd), "../"+cmd).CombinedOutput()
		require.NoError(t, err, "go build %s: %s", cmd, out)
	}
	addr := startRelaysim(t, filepath.Join(dir, "relaysim"), "-conns", "40", "-epoch", "2s", "-scenario", "asymmetric")
	s := tmuxtest.StartT(t, 160, 40, fmt.Sprintf("%s top -control %s -every 1s; echo conninfo-exit=$?; sleep 60", filepath.Join(dir, "conninfo"), addr))

	row := regexp.MustCompile(`(?m)^[! ] \d+ +[IiOo][CRXHD][Tt] +(in|out) `)
	screen, err := s.WaitFor(time.Minute, "the header, rows and the asymmetric finding", func(screen string) bool {
		return strings.Contains(screen, "conninfo top  "+addr) && len(row.FindAllString(screen, -1)) >= 10 &&
			strings.Contains(screen, "asymmetric")
	})
	require.NoError(t, err)
	t.Logf("the connections tab:\n%s", screen)
	lines := strings.Split(screen, "\n")
	assert.Contains(t, lines[0], "version 0.4.9.11 (conninfo-relaysim)")
	assert.Regexp(t, `fingerprint [0-9A-F]{40}`, lines[0])
	assert.Regexp(t, `^up \d+s  read \d.* connections \d+ \(in \d+, out \d+, unestablished \d+\)`, lines[1])
	assert.Contains(t, lines[2], "bandwidth")
	assert.Contains(t, lines[4], "CONN_ID")
	assert.Regexp(t, `(?m)^! warning +asymmetric +a circuit's two sides moved volumes far apart`, screen)
	assert.NotContains(t, screen, "error:")

	// The public tier shows the legs of the relay's own circuits.
	require.NoError(t, s.Keys("2"))
	screen, err = s.WaitFor(10*time.Second, "circuits as chains", func(screen string) bool {
		return regexp.MustCompile(`(?m)^[! ] \d+ +YOU -> `).MatchString(screen)
	})
	require.NoError(t, err)
	assert.Contains(t, screen, "CHAIN")

	// A filter that matches nothing, then q.
	require.NoError(t, s.Keys("1", "/", "no-such-row", "Enter"))
	_, err = s.WaitFor(10*time.Second, "the empty filter", func(screen string) bool { return strings.Contains(screen, "no row matches the filter") })
	require.NoError(t, err)
	require.NoError(t, s.Keys("q"))
	_, err = s.WaitFor(10*time.Second, "conninfo's exit", func(screen string) bool { return strings.Contains(screen, "conninfo-exit=0") })
	require.NoError(t, err)
}
