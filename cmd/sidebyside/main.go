package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cretz/bine/control"

	"github.com/conninfo/conninfo/client"
	"github.com/conninfo/conninfo/connstate"
)

func main() {
	conns := flag.Int("conns", 9000, "connections relaysim holds open")
	runs := flag.Int("runs", 15, "rounds of measurement, each tier")
	netns := flag.Bool("netns", runtime.GOOS == "linux", "run relaysim -netns, so that ss lists only the relay's sockets (Linux, root)")
	flag.Parse()
	if err := run(*conns, *runs, *netns, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}

func run(conns, runs int, netns bool, out io.Writer) error {
	if netns && os.Geteuid() != 0 {
		return errors.New("-netns (the fair run, the default on Linux) needs root; -netns=false runs with the far ends' sockets in ss's view too")
	}
	dir, err := os.MkdirTemp("", "sidebyside-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "relaysim")
	build := exec.Command("go", "build", "-o", bin, "./cmd/relaysim")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building relaysim (run from the module root): %w", err)
	}
	// The test-network tier formats every line live, as ss and lsof list
	// theirs; the public tier answers every controller from its epoch's
	// reply, encoded once. Each is measured against the tools in its run.
	var ratios [2]map[string]float64
	quiet, _ := countSockets()
	for i, tier := range []string{"testnet", "public"} {
		if i > 0 {
			settle(quiet, out)
		}
		if ratios[i], err = measure(bin, tier, conns, runs, netns, out); err != nil {
			return fmt.Errorf("%s tier: %w", tier, err)
		}
	}
	testnet, public := ratios[0], ratios[1]
	fmt.Fprintf(out, "\nratio_bine=%.1f\nratio_client=%.1f\n", testnet[bineRow], testnet[clientRow])
	if _, ok := testnet["ss -tnpi"]; !ok {
		return errors.New("ss is not installed (Debian package iproute2): no ratio_ss_tnpi")
	}
	fmt.Fprintf(out, "ratio_ss_tnpi_public=%.1f\n", public["ss -tnpi"])
	fmt.Fprintf(out, "ratio_ss_tnpi=%.1f\n", testnet["ss -tnpi"])
	return nil
}

// The rows that are conn/all through a decoding client, by name.
const (
	clientRow = "GETINFO conn/all (conninfo client)"
	bineRow   = "GETINFO conn/all (bine)"
)

// measure runs relaysim under tier, times conn/all and the tools in
// interleaved rounds, prints the table and returns each row's ratio to the
// raw conn/all.
func measure(bin, tier string, conns, runs int, netns bool, out io.Writer) (map[string]float64, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	args := []string{"-control", "127.0.0.1:0", "-auth", "null", "-quiet", "-policy", tier, "-conns", strconv.Itoa(conns)}
	if netns {
		args = append(args, "-netns")
	}
	sim := exec.CommandContext(ctx, bin, args...)
	sim.Stderr = os.Stderr
	stdout, err := sim.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sim.Start(); err != nil {
		return nil, err
	}
	defer func() {
		sim.Process.Signal(os.Interrupt)
		sim.Wait()
	}()
	addr, err := controlAddr(stdout)
	if err != nil {
		return nil, err
	}
	go io.Copy(io.Discard, stdout)
	pid := strconv.Itoa(sim.Process.Pid)
	fmt.Fprintf(out, "\n== %s tier: relaysim pid %s, control port %s, filling %d connections...\n", tier, pid, addr, conns)

	raw, err := dialRaw(addr)
	if err != nil {
		return nil, err
	}
	defer raw.Close()
	lines, err := waitFull(raw, conns)
	if err != nil {
		return nil, err
	}
	bc, err := dialBine(addr)
	if err != nil {
		return nil, err
	}
	defer bc.Close()
	cc, err := client.Dial(ctx, addr, client.Options{})
	if err != nil {
		return nil, err
	}
	defer cc.Close()

	type row struct {
		name  string
		argv  []string
		do    func() error
		times []time.Duration
	}
	var entries []connstate.Entry // reused, as a controller polling conn/all would
	rows := []*row{
		{name: clientRow, do: func() (err error) {
			entries, err = cc.AppendConnAll(ctx, entries[:0])
			return err
		}},
		{name: bineRow, do: func() error {
			_, err := bc.GetInfo("conn/all")
			return err
		}},
		{name: "ss -tnpi", argv: []string{"ss", "-tnpi"}},
		{name: "ss -tn", argv: []string{"ss", "-tn"}},
		{name: "netstat -tnp", argv: []string{"netstat", "-tnp"}},
		{name: "lsof -nP -i -a -p PID", argv: []string{"lsof", "-nP", "-i", "-a", "-p", pid}},
	}
	var missing []string
	rows = slices.DeleteFunc(rows, func(r *row) bool {
		if r.argv == nil {
			return false
		}
		if _, err := exec.LookPath(r.argv[0]); err != nil {
			missing = append(missing, r.name)
			return true
		}
		return false
	})
	var rawTimes []time.Duration
	var replyBytes int
	for range runs {
		d, n, err := raw.connAll()
		if err != nil {
			return nil, err
		}
		rawTimes, replyBytes = append(rawTimes, d), n
		for _, r := range rows {
			t0 := time.Now()
			if r.do != nil {
				err = r.do()
			} else {
				cmd := exec.Command(r.argv[0], r.argv[1:]...)
				cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
				err = cmd.Run()
				var ee *exec.ExitError
				if errors.As(err, &ee) { // lsof exits 1 when it filtered some out; the listing counts
					err = nil
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", r.name, err)
			}
			r.times = append(r.times, time.Since(t0))
		}
	}

	sockets, _ := countSockets()
	fmt.Fprintf(out, "conn/all: %d entry lines, %d reply bytes; %d TCP sockets in ss's view; medians of %d rounds\n\n", lines, replyBytes, sockets, runs)
	base := median(rawTimes)
	fmt.Fprintf(out, "%-36s %12s %10s\n", "how", "median", "ratio")
	fmt.Fprintf(out, "%-36s %12s %10s\n", "GETINFO conn/all (raw)", round(base), "1")
	ratios := map[string]float64{}
	for _, r := range rows {
		d := median(r.times)
		ratios[r.name] = float64(d) / float64(base)
		fmt.Fprintf(out, "%-36s %12s %9.1fx\n", r.name, round(d), ratios[r.name])
	}
	for _, m := range missing {
		fmt.Fprintf(out, "%-36s %12s\n", m, "not installed")
	}
	return ratios, nil
}

var controlRE = regexp.MustCompile(`relaysim: control port (\S+)`)

func controlAddr(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if m := controlRE.FindStringSubmatch(sc.Text()); m != nil {
			return m[1], nil
		}
	}
	return "", errors.New("relaysim printed no control port")
}

// rawClient speaks the control protocol by hand and reads replies as
// bytes, without decoding them.
type rawClient struct {
	c   net.Conn
	buf []byte
}

func dialRaw(addr string) (*rawClient, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	rc := &rawClient{c: c, buf: make([]byte, 256<<10)}
	if _, err := io.WriteString(c, "AUTHENTICATE\r\n"); err != nil {
		return nil, err
	}
	if _, err := rc.readUntil([]byte("250 OK\r\n"), nil); err != nil {
		return nil, err
	}
	return rc, nil
}

func (rc *rawClient) Close() error { return rc.c.Close() }

// readUntil reads until the bytes read end with end, and returns how many;
// keep, if not nil, gets them all.
func (rc *rawClient) readUntil(end []byte, keep *bytes.Buffer) (int, error) {
	var tail []byte
	total := 0
	rc.c.SetReadDeadline(time.Now().Add(time.Minute))
	for {
		n, err := rc.c.Read(rc.buf)
		if err != nil {
			return total, err
		}
		total += n
		if keep != nil {
			keep.Write(rc.buf[:n])
		}
		// Keep only the last len(end) bytes seen: the reply is not decoded.
		tail = append(tail, rc.buf[max(0, n-len(end)):n]...)
		tail = tail[max(0, len(tail)-len(end)):]
		if bytes.Equal(tail, end) {
			return total, nil
		}
	}
}

// connAll times one GETINFO conn/all, from the write to the final "250 OK".
func (rc *rawClient) connAll() (time.Duration, int, error) {
	t0 := time.Now()
	if _, err := io.WriteString(rc.c, "GETINFO conn/all\r\n"); err != nil {
		return 0, 0, err
	}
	n, err := rc.readUntil([]byte("\r\n250 OK\r\n"), nil)
	return time.Since(t0), n, err
}

// waitFull waits until relaysim holds about conns connections (its count
// stops growing near the target), and returns the number of entry lines
// then.
func waitFull(rc *rawClient, conns int) (int, error) {
	deadline := time.Now().Add(3 * time.Minute)
	last := 0
	for time.Now().Before(deadline) {
		if _, err := io.WriteString(rc.c, "GETINFO conn/all\r\n"); err != nil {
			return 0, err
		}
		var reply bytes.Buffer
		if _, err := rc.readUntil([]byte("\r\n250 OK\r\n"), &reply); err != nil {
			return 0, err
		}
		lines := strings.Split(reply.String(), "\r\n")
		open := 0
		for _, l := range lines {
			if f := strings.Fields(l); len(f) >= 2 && f[1] == "0" {
				open++
			}
		}
		if open >= conns*85/100 && open <= last+conns/100 {
			return len(lines) - 4, nil
		}
		last = open
		time.Sleep(2 * time.Second)
	}
	return 0, errors.New("relaysim did not fill in three minutes")
}

func dialBine(addr string) (*control.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	bc := control.NewConn(textproto.NewConn(c))
	if err := bc.Authenticate(""); err != nil {
		bc.Close()
		return nil, err
	}
	return bc, nil
}

// settle waits, up to 90 s, for the sockets a run left in TIME_WAIT to go,
// until the machine has about as many as before the first run, so that
// the next run's ss does not list the last one's.
func settle(quiet int, out io.Writer) {
	t0 := time.Now()
	for time.Since(t0) < 90*time.Second {
		if n, err := countSockets(); err != nil || n <= quiet+64 {
			break
		}
		time.Sleep(time.Second)
	}
	fmt.Fprintf(out, "\n(waited %s for the last run's sockets to close)\n", time.Since(t0).Round(time.Second))
}

// countSockets counts the machine's TCP sockets, from /proc.
func countSockets() (int, error) {
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			return 0, err
		}
		n += bytes.Count(b, []byte("\n")) - 1
	}
	return n, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func round(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
