package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/audit"
)

// startRelaysim runs the relaysim binary with args until the test ends
// and returns its control port, cookie authentication in a directory of
// its own.
func startRelaysim(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, append([]string{"-control", "127.0.0.1:0", "-quiet", "-auth", "null"}, args...)...)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	r := bufio.NewReader(out)
	for {
		line, err := r.ReadString('\n')
		require.NoError(t, err, "relaysim ended before saying its control port")
		if m := regexp.MustCompile(`control port (127\.0\.0\.1:\d+)`).FindStringSubmatch(line); m != nil {
			go io.Copy(io.Discard, r)
			return m[1]
		}
	}
}

// findings runs conninfo audit -json with args and returns its findings
// by detector, and its exit status.
func findings(t *testing.T, args ...string) (map[string]audit.Finding, int) {
	t.Helper()
	status, out, errOut := conninfo(t, nil, append([]string{"audit", "-json"}, args...)...)
	require.NotEqual(t, 2, status, errOut)
	got := map[string]audit.Finding{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var f audit.Finding
		require.NoError(t, json.Unmarshal([]byte(line), &f), line)
		got[f.Detector] = f
	}
	return got, status
}

// TestScenarios runs relaysim with each -scenario, in the public tier,
// and conninfo audit finds it; with none it finds nothing at or above
// warning.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("a relaysim for each scenario, for seconds each: README's test command runs it alone, without -short")
	}
	bin := filepath.Join(t.TempDir(), "relaysim")
	build := exec.Command("go", "build", "-o", bin, "../relaysim")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build relaysim: %s", out)

	for _, tt := range []struct {
		scenario string
		wait     time.Duration // before the first audit
		args     []string      // conninfo audit's
		want     string        // the detector; "" for none
	}{
		{"none", 6 * time.Second, nil, ""},
		{"non-exit-streams", 9 * time.Second, nil, audit.NonExitStreams}, // streams come with the first circuits
		{"private-exit", 9 * time.Second, nil, audit.PrivateExit},
		{"concentration", 4 * time.Second, nil, audit.Concentration},
		{"asymmetric", 11 * time.Second, nil, audit.Asymmetric},
		{"unestablished", 5 * time.Second, []string{"-unestablished-after", "2s"}, audit.Unestablished},
		{"resets", 3 * time.Second, []string{"-watch", "-every", "2s"}, audit.ShortLived},
		{"hidden", 4 * time.Second, nil, audit.Hidden},
	} {
		t.Run(tt.scenario, func(t *testing.T) {
			addr := startRelaysim(t, bin, "-conns", "40", "-epoch", "2s", "-scenario", tt.scenario)
			time.Sleep(tt.wait)
			args := append([]string{"-control", addr}, tt.args...)
			var got map[string]audit.Finding
			var status int
			if slices.Contains(tt.args, "-watch") {
				// -watch runs until interrupted: ten seconds of audits.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var buf strings.Builder
				status = run(ctx, append([]string{"audit", "-json"}, args...), &buf, io.Discard, func(string) string { return "" })
				got = map[string]audit.Finding{}
				for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
					var f audit.Finding
					if json.Unmarshal([]byte(line), &f) == nil {
						got[f.Detector] = f
					}
				}
			} else {
				// Audit each second until the finding shows, or for a minute.
				for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Second) {
					got, status = findings(t, args...)
					if _, ok := got[tt.want]; ok || tt.want == "" || time.Now().After(deadline) {
						break
					}
				}
			}
			if tt.want == "" {
				for d, f := range got {
					assert.Less(t, f.Severity, audit.Warning, "scenario none: %s %+v", d, f)
				}
				assert.Equal(t, 0, status)
				return
			}
			f, ok := got[tt.want]
			require.True(t, ok, "no %s finding: %+v", tt.want, got)
			assert.Equal(t, 1, status)
			assert.NotContains(t, f.Message, "127.0.0.1", "no address")
			t.Logf("%s: %s", tt.scenario, f.Message)
		})
	}
}

// TestVerifyScenarios checks conn/all against relaysim's own sockets:
// nothing amiss in the public tier with no scenario; with -scenario
// hidden, the unreported connections counted in the public tier and
// listed in the unscrubbed one, where every line shows its endpoint.
func TestVerifyScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("a relaysim for each case: README's test command runs it alone, without -short")
	}
	bin := filepath.Join(t.TempDir(), "relaysim")
	out, err := exec.Command("go", "build", "-o", bin, "../relaysim").CombinedOutput()
	require.NoError(t, err, "go build relaysim: %s", out)
	type report struct {
		OK         bool `json:"ok"`
		Lines      int  `json:"lines"`
		Excess     int  `json:"excess"`
		Unreported []struct{ Local, Remote, Status string }
	}
	verifyOnce := func(t *testing.T, addr string) (report, int) {
		status, out, errOut := conninfo(t, nil, "verify", "-json", "-control", addr)
		require.NotEqual(t, 2, status, errOut)
		var r report
		require.NoError(t, json.Unmarshal([]byte(out), &r), out)
		return r, status
	}
	for _, tt := range []struct {
		policy, scenario string
		ok               bool
		listed           int
	}{
		{"public", "none", true, 0},
		{"unscrubbed", "none", true, 0},
		{"public", "hidden", false, 0},
		{"unscrubbed", "hidden", false, 12},
	} {
		t.Run(tt.policy+"/"+tt.scenario, func(t *testing.T) {
			addr := startRelaysim(t, bin, "-conns", "40", "-policy", tt.policy, "-scenario", tt.scenario)
			time.Sleep(4 * time.Second)
			// The churn between readings can tip a reading over: the
			// verdict is the one of three readings.
			var r report
			var status int
			for range 3 {
				if r, status = verifyOnce(t, addr); r.OK == tt.ok {
					break
				}
				time.Sleep(time.Second)
			}
			assert.Equal(t, tt.ok, r.OK, "%+v", r)
			assert.Equal(t, map[bool]int{true: 0, false: 1}[tt.ok], status)
			if !tt.ok {
				assert.GreaterOrEqual(t, r.Excess, 12, "the hidden connections")
			}
			assert.Len(t, r.Unreported, tt.listed)
			for _, s := range r.Unreported {
				assert.Equal(t, "ESTABLISHED", s.Status)
			}
		})
	}
}
