package tortest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Instance is a running tor, offline, with cookie authentication on a
// loopback control port.
type Instance struct {
	Addr       string // 127.0.0.1:<port>
	CookiePath string // DataDirectory/control_auth_cookie
	PID        int
}

// Bounds on waiting for tor, an external process.
const (
	torStartTimeout = 30 * time.Second
	torStopTimeout  = 10 * time.Second
	torPollInterval = 50 * time.Millisecond
	torBindAttempts = 3
)

// errTorBind is returned by tryStartTor when tor could not bind the control
// port it was given: another process took the free port first.
var errTorBind = errors.New("tor could not bind its control port")

// Binary finds tor on PATH, or where Debian installs it (/usr/sbin is not
// on every user's PATH).
func Binary() (string, bool) {
	if p, err := exec.LookPath("tor"); err == nil {
		return p, true
	}
	const debian = "/usr/sbin/tor"
	if fi, err := os.Stat(debian); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
		return debian, true
	}
	return "", false
}

// Start starts tor for the test and stops it, by its pid, when the test
// ends. It skips the test when tor is not installed. The torrc is
// DisableNetwork 1, SocksPort 0, a ControlPort on 127.0.0.1 with cookie
// authentication, a DataDirectory in the test's temporary directory and
// GeoIP files that do not exist (no GeoIP data, whatever is installed),
// and then the lines of extra (options that keep tor offline, such as an
// ORPort, which DisableNetwork keeps from listening).
func Start(t testing.TB, extra ...string) Instance {
	t.Helper()
	bin, ok := Binary()
	if !ok {
		t.Skip(`tor not found on PATH nor at /usr/sbin/tor: install the Debian package "tor" ` +
			`(.ci/run installs it) to run the tor conformance tests`)
	}
	var err error
	for range torBindAttempts {
		var tor Instance
		if tor, err = tryStart(t, bin, extra); err == nil {
			return tor
		}
		if !errors.Is(err, errTorBind) {
			break
		}
		t.Logf("retrying with another port: %v", err)
	}
	require.NoError(t, err, "starting tor")
	return Instance{}
}

// tryStart starts tor once, on a port that was free a moment ago, and
// waits until its control port accepts connections and its cookie is written.
func tryStart(t testing.TB, bin string, extra []string) (Instance, error) {
	t.Helper()
	dir := t.TempDir()
	port, err := FreePort()
	if err != nil {
		return Instance{}, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	dataDir := filepath.Join(dir, "data")
	noticeLog := filepath.Join(dir, "notice.log")
	// DisableNetwork 1 keeps tor offline: it contacts no address at all, and
	// it listens only on the loopback control port (SocksPort 0). GeoIP
	// files that do not exist keep it without GeoIP data, as a machine
	// without Debian's tor-geoipdb has it, whatever this one has.
	noGeoIP := filepath.Join(dir, "no-geoip")
	torrc := fmt.Sprintf("DisableNetwork 1\nSocksPort 0\nControlPort %s\nCookieAuthentication 1\n"+
		"DataDirectory %s\nLog notice file %s\nAvoidDiskWrites 1\nGeoIPFile %s\nGeoIPv6File %s6\n", addr, dataDir, noticeLog, noGeoIP, noGeoIP)
	for _, line := range extra {
		torrc += line + "\n"
	}
	torrcPath := filepath.Join(dir, "torrc")
	defaultsPath := filepath.Join(dir, "torrc-defaults")
	if err := os.WriteFile(torrcPath, []byte(torrc), 0o600); err != nil {
		return Instance{}, err
	}
	if err := os.WriteFile(defaultsPath, nil, 0o600); err != nil {
		return Instance{}, err
	}
	// An *os.File as output: exec copies nothing in goroutines of its own.
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		return Instance{}, err
	}
	defer out.Close()

	cmd := exec.Command(bin, "-f", torrcPath, "--defaults-torrc", defaultsPath)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = out, out
	killWithTest(cmd)
	if err := cmd.Start(); err != nil {
		return Instance{}, fmt.Errorf("starting %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { stopTor(t, cmd, exited) })

	tor := Instance{Addr: addr, CookiePath: filepath.Join(dataDir, "control_auth_cookie"), PID: cmd.Process.Pid}
	logs := func() string {
		return "notice.log:\n" + tail(noticeLog, 2000) + "\nstdout:\n" + tail(out.Name(), 2000)
	}
	deadline := time.Now().Add(torStartTimeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err // for stopTor
			l := logs()
			if bytes.Contains([]byte(l), []byte("Could not bind")) || bytes.Contains([]byte(l), []byte("Address already in use")) {
				return Instance{}, fmt.Errorf("%w %s (%v); %s", errTorBind, addr, err, l)
			}
			return Instance{}, fmt.Errorf("tor (pid %d) exited early: %v\n%s", tor.PID, err, l)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			if fi, err := os.Stat(tor.CookiePath); err == nil && fi.Size() == 32 {
				return tor, nil
			}
		}
		time.Sleep(torPollInterval)
	}
	return Instance{}, fmt.Errorf("tor (pid %d) not ready on %s after %v\n%s", tor.PID, addr, torStartTimeout, logs())
}

// stopTor sends tor SIGTERM, and SIGKILL if it has not exited in time, and
// reaps it: no tor started by a test survives the test.
func stopTor(t testing.TB, cmd *exec.Cmd, exited chan error) {
	select {
	case err := <-exited:
		t.Logf("tor (pid %d) had exited: %v", cmd.Process.Pid, err)
		return
	default:
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Logf("tor (pid %d): SIGTERM: %v", cmd.Process.Pid, err)
	}
	timer := time.NewTimer(torStopTimeout)
	defer timer.Stop()
	select {
	case <-exited:
		return
	case <-timer.C:
	}
	t.Errorf("tor (pid %d) ignored SIGTERM for %v; killing it", cmd.Process.Pid, torStopTimeout)
	if err := cmd.Process.Kill(); err != nil {
		t.Errorf("tor (pid %d): kill: %v", cmd.Process.Pid, err)
	}
	<-exited
}

// FreePort returns a loopback TCP port that was free when it returned,
// for a torrc's ports.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n bytes of a file, or why it cannot.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
