package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/client"
)

// startMain runs the test binary as relaysim's main with args and returns
// it and its output up to the ORPort line.
func startMain(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	var head strings.Builder
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		head.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "relaysim: ORPort ") {
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	require.Contains(t, head.String(), "relaysim: ORPort ", "relaysim started")
	return cmd, head.String()
}

func needNetns(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("-netns needs root (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("-netns needs the ip command (Debian package iproute2)")
	}
}

// nsExists reports whether a relaysim namespace of pid is mounted.
func nsExists(pid int) bool {
	_, err := os.Stat("/run/netns/" + netnsPrefix + strconv.Itoa(pid))
	return err == nil
}

var orPortRE = regexp.MustCompile(`relaysim: ORPort (\S+), DirPort (\S+),`)

// With -netns the far ends are in a namespace of their own: the relay's
// ports are on its veth address in 198.18.0.0/15, every connection but
// the controllers' comes from there, the namespace can route nowhere
// else, and it is gone when relaysim ends; one a SIGKILL left behind is
// removed by the next run.
func TestNetns(t *testing.T) {
	needNetns(t)
	first, head := startMain(t, "-netns", "-control", "127.0.0.1:0", "-conns", "60", "-quiet", "-auth", "null", "-policy", "unscrubbed")
	ports := orPortRE.FindStringSubmatch(head)
	require.NotNil(t, ports, head)
	for _, p := range ports[1:] {
		ap, err := netip.ParseAddrPort(p)
		require.NoError(t, err)
		assert.True(t, benchmarkNet.Contains(ap.Addr()), "ORPort and DirPort on the veth address: %s", ap)
	}
	require.True(t, nsExists(first.Process.Pid))
	ns := netnsPrefix + strconv.Itoa(first.Process.Pid)

	routes, err := exec.Command("ip", "-n", ns, "route", "show", "table", "all").Output()
	require.NoError(t, err)
	for _, r := range strings.Split(strings.TrimSpace(string(routes)), "\n") {
		if strings.HasPrefix(r, "local ") || strings.HasPrefix(r, "broadcast ") || strings.Contains(r, "dev lo") {
			continue // the namespace's own addresses
		}
		assert.Regexp(t, `^198\.1[89]\.\d+\.\d+/30 dev rsim\d+f `, r, "the only route: the veth link's")
	}
	for _, end := range [][]string{{"-n", ns, "addr", "show", "dev", "rsim" + strconv.Itoa(first.Process.Pid) + "f"}, {"addr", "show", "dev", "rsim" + strconv.Itoa(first.Process.Pid) + "h"}} {
		addrs, err := exec.Command("ip", end...).Output()
		require.NoError(t, err)
		assert.Contains(t, string(addrs), "inet 198.1", "an address of the benchmarking range")
		assert.NotContains(t, string(addrs), "inet6", "no IPv6 address on either end of the link")
	}

	c, err := client.Dial(context.Background(), controlRE.FindStringSubmatch(head)[1], client.Options{})
	require.NoError(t, err)
	defer c.Close()
	var entries int
	assert.Eventually(t, func() bool {
		all, err := c.ConnAll(context.Background())
		require.NoError(t, err)
		entries = 0
		for _, e := range all {
			if e.CircID != 0 || !e.Remote.IsValid() {
				continue
			}
			entries++
			if !e.Remote.Addr().IsLoopback() { // a controller's connection
				assert.True(t, benchmarkNet.Contains(e.Remote.Addr()), "a far end in the namespace: %v", e.Remote)
			}
		}
		return entries >= 50
	}, 30*time.Second, 200*time.Millisecond, "the connections fill up")
	t.Logf("%d connections", entries)

	// A SIGKILL leaves the namespace behind; the next run removes it.
	require.NoError(t, first.Process.Kill())
	first.Wait()
	assert.True(t, nsExists(first.Process.Pid), "a killed relaysim cannot remove its namespace")
	second, _ := startMain(t, "-netns", "-control", "127.0.0.1:0", "-conns", "10", "-quiet", "-auth", "null")
	assert.False(t, nsExists(first.Process.Pid), "the next run removed the stale namespace")
	require.True(t, nsExists(second.Process.Pid))
	require.NoError(t, second.Process.Signal(syscall.SIGTERM))
	require.NoError(t, second.Wait())
	assert.False(t, nsExists(second.Process.Pid), "a clean exit removes the namespace")
	link := exec.Command("ip", "link", "show", "rsim"+strconv.Itoa(second.Process.Pid)+"h")
	assert.Error(t, link.Run(), "and the veth pair")
}

// Without root, -netns says why it cannot run and exits 2.
func TestNetnsNeedsRoot(t *testing.T) {
	needNetns(t) // to run as someone else
	self, err := os.Executable()
	require.NoError(t, err)
	// The test binary's directory is root's alone: a copy where nobody can run it.
	dir, err := os.MkdirTemp("", "relaysim-nobody-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	bin, err := os.ReadFile(self)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(dir+"/relaysim.test", bin, 0o755))
	cmd := exec.Command(dir+"/relaysim.test", "-netns", "-control", "127.0.0.1:0", "-quiet", "-auth", "null")
	cmd.Env = append(os.Environ(), mainEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", stderr.String())
	assert.Equal(t, 2, exit.ExitCode())
	assert.Contains(t, stderr.String(), "-netns is not available: it makes a network namespace and a veth pair, which needs root")
}
