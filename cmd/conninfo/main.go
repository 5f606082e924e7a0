// Command conninfo is the operator's side of a relay that links conninfo:
// it reads the relay's control port.
//
// Usage:
//
//	conninfo get [flags] KEY...     the raw values of GETINFO keys, as tor-prompt prints one command
//	conninfo audit [flags]          the audit's findings: the relay's own (audit/findings) if it
//	                                publishes them, else found here on conn/all
//	conninfo verify [flags]         conn/all against the sockets the OS lists for process/pid
//	                                (on the relay's machine, with the right to see its sockets)
//	conninfo top [flags]            the live view: connections, circuits as chains, bandwidth,
//	                                findings (keys: s sort, r reverse, / filter, p pause, q quit)
//
// The flags every command takes:
//
//	-control ADDR      the control port: HOST:PORT (default 127.0.0.1:9051), or unix:PATH
//	-cookie-file PATH  the cookie file, if not the one PROTOCOLINFO names
//	-password SECRET   for HASHEDPASSWORD (or the CONNINFO_PASSWORD environment variable)
//
// audit's own:
//
//	-json              one JSON object a finding, a line each
//	-severity LEVEL    the exit status counts findings at or above it: info, warning (default), critical
//	-watch             audit again every -every until interrupted, printing what is found
//	-every D           the time between audits with -watch (default 10s, the public tier's epoch)
//	-exit / -no-exit   take the relay for an exit or not, instead of asking GETCONF ExitRelay
//	-unestablished-after D  report connections not established after D (default 1m)
//
// top's own: -every D (the time between refreshes, default 2s), -sort
// COLUMN (rate, bytes, uptime, id or flags), -reverse, -filter TEXT.
//
// verify's own: -json (one JSON object), -tolerance N (the lines and
// sockets may differ by N; default 2 where every line shows its endpoint,
// else a tenth of the lines, at least 5).
//
// The exit status is 0 with no finding at or above -severity (verify: no
// mismatch), 1 with some,
// and 2 on an error (an unreachable port, a refused authentication, a port
// without conn/all, such as a C tor's).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/client"
	"github.com/conninfo/conninfo/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

const usage = `usage: conninfo get [flags] KEY...
       conninfo audit [flags]
       conninfo verify [flags]
       conninfo top [flags]
Run "conninfo COMMAND -h" for a command's flags.`

// Exit statuses.
const (
	exitOK       = 0
	exitFindings = 1
	exitError    = 2
)

// run is the whole program, for the tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return exitError
	}
	var err error
	status := exitOK
	switch args[0] {
	case "get":
		err = get(ctx, args[1:], stdout, stderr, getenv)
	case "audit":
		status, err = auditCmd(ctx, args[1:], stdout, stderr, getenv)
	case "verify":
		status, err = verifyCmd(ctx, args[1:], stdout, stderr, getenv)
	case "top":
		err = topCmd(ctx, args[1:], stdout, stderr, getenv)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return exitOK
	default:
		err = fmt.Errorf("unknown command %q\n%s", args[0], usage)
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "conninfo:", err)
		return exitError
	}
	return status
}

// common are the flags every command takes.
type common struct {
	control, cookieFile, password string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.control, "control", "127.0.0.1:9051", "the control port: `HOST:PORT` or unix:PATH")
	fs.StringVar(&c.cookieFile, "cookie-file", "", "the cookie file `path`, if not the one PROTOCOLINFO names")
	fs.StringVar(&c.password, "password", "", "the `secret` for HASHEDPASSWORD (default $CONNINFO_PASSWORD)")
}

func (c *common) dial(ctx context.Context, getenv func(string) string) (*client.Conn, error) {
	if c.password == "" {
		c.password = getenv("CONNINFO_PASSWORD")
	}
	return client.Dial(ctx, c.control, client.Options{CookieFile: c.cookieFile, Password: c.password})
}

// get prints the values of keys, each "KEY=VALUE", a multi-line value
// after "KEY=" on lines of its own.
func get(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("conninfo get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("get: which keys? (conninfo get conn/all traffic/read ...)")
	}
	conn, err := c.dial(ctx, getenv)
	if err != nil {
		return err
	}
	defer conn.Close()
	vals, err := conn.GetInfo(ctx, fs.Args()...)
	if err != nil {
		return err
	}
	for _, k := range fs.Args() {
		v := vals[k]
		if strings.Contains(v, "\n") {
			fmt.Fprintf(stdout, "%s=\n%s\n", k, v)
		} else {
			fmt.Fprintf(stdout, "%s=%s\n", k, v)
		}
	}
	return nil
}

// auditCmd audits conn/all once, or every -every with -watch.
func auditCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) (int, error) {
	fs := flag.NewFlagSet("conninfo audit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "one JSON object a finding, a line each")
	severity := fs.String("severity", "warning", "the exit status counts findings at or above this `level`: info, warning or critical")
	watch := fs.Bool("watch", false, "audit again every -every until interrupted")
	every := fs.Duration("every", 10*time.Second, "the `time` between audits with -watch")
	exit := fs.Bool("exit", false, "take the relay for an exit, instead of asking GETCONF ExitRelay")
	noExit := fs.Bool("no-exit", false, "take the relay for a non-exit, instead of asking GETCONF ExitRelay")
	unestablished := fs.Duration("unestablished-after", 0, "report connections not established after this `time` (default 1m)")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	minSeverity, err := audit.ParseSeverity(*severity)
	switch {
	case err != nil:
		return exitError, fmt.Errorf("-severity: %w", err)
	case fs.NArg() > 0:
		return exitError, fmt.Errorf("audit: unexpected arguments %q", fs.Args())
	case *exit && *noExit:
		return exitError, errors.New("audit: -exit and -no-exit exclude each other")
	case *every <= 0:
		return exitError, fmt.Errorf("-every %v: want more than 0", *every)
	}
	conn, err := c.dial(ctx, getenv)
	if err != nil {
		return exitError, err
	}
	defer conn.Close()
	a, err := newAuditor(ctx, conn, auditOptions{exit: *exit, noExit: *noExit, unestablished: *unestablished})
	if err != nil {
		return exitError, err
	}
	status := exitOK
	for {
		findings, err := a.audit(ctx, conn.ConnAll)
		if err != nil {
			if ctx.Err() != nil && *watch {
				return status, nil
			}
			return exitError, err
		}
		for _, f := range findings {
			if f.Severity >= minSeverity {
				status = exitFindings
			}
			if *asJSON {
				fmt.Fprintf(stdout, "%s\n", f.JSON())
			} else {
				fmt.Fprintf(stdout, "%-8s %-16s %s%s\n", f.Severity, f.Detector, f.Message, ids(f))
			}
		}
		if !*watch {
			return status, nil
		}
		select {
		case <-ctx.Done():
			return status, nil
		case <-time.After(*every):
		}
	}
}

// ids writes a finding's IDs after its message.
func ids(f audit.Finding) string {
	var s []string
	if len(f.ConnIDs) > 0 {
		s = append(s, "conns "+join(f.ConnIDs))
	}
	if len(f.CircIDs) > 0 {
		s = append(s, "circuits "+join(f.CircIDs))
	}
	if len(s) == 0 {
		return ""
	}
	return " (" + strings.Join(s, "; ") + ")"
}

func join(v []uint64) string {
	const most = 12
	s := make([]string, 0, min(len(v), most))
	for _, id := range v[:min(len(v), most)] {
		s = append(s, fmt.Sprint(id))
	}
	if len(v) > most {
		s = append(s, fmt.Sprintf("and %d more", len(v)-most))
	}
	return strings.Join(s, ", ")
}

// verifyCmd checks conn/all against the OS's sockets of the relay.
func verifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) (int, error) {
	fs := flag.NewFlagSet("conninfo verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "one JSON object")
	tolerance := fs.Int("tolerance", audit.DefaultTolerance, "how many the lines and sockets may differ by (default a tenth of the lines, at least 5)")
	if err := fs.Parse(args); err != nil {
		return exitError, err
	}
	if fs.NArg() > 0 {
		return exitError, fmt.Errorf("verify: unexpected arguments %q", fs.Args())
	}
	conn, err := c.dial(ctx, getenv)
	if err != nil {
		return exitError, err
	}
	defer conn.Close()
	v, err := conn.GetInfo(ctx, "process/pid")
	if err != nil {
		return exitError, fmt.Errorf("verify needs process/pid: %w", err)
	}
	pid, err := strconv.ParseInt(v["process/pid"], 10, 32)
	if err != nil {
		return exitError, fmt.Errorf("verify: process/pid %q: %w", v["process/pid"], err)
	}
	// The sockets that lived across the reading of conn/all.
	before, err := verify.Sockets(ctx, int32(pid))
	if err != nil {
		return exitError, err
	}
	entries, err := conn.ConnAll(ctx)
	if err != nil {
		return exitError, err
	}
	after, err := verify.Sockets(ctx, int32(pid))
	if err != nil {
		return exitError, err
	}
	sockets := audit.Stable(before, after)
	r := audit.Check(entries, sockets, *tolerance)
	if *asJSON {
		b, _ := json.Marshal(verifyJSON(r))
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		fmt.Fprintf(stdout, "process %d: %d connection lines (%d with endpoints), %d connections of its sockets, tolerance %d\n", pid, r.Lines, r.Shown, r.Sockets, r.Tolerance)
		for _, e := range r.Dead {
			fmt.Fprintf(stdout, "no socket for line %d (%s, local port %d)\n", e.ConnID, e.Remote, e.LocalPort)
		}
		if r.Excess > r.Tolerance {
			fmt.Fprintf(stdout, "%d connection(s) of the process that no line reports\n", r.Excess)
		}
		for _, s := range r.Unreported {
			fmt.Fprintf(stdout, "unreported socket %s -> %s (%s)\n", s.Local, s.Remote, s.Status)
		}
		if r.OK() {
			fmt.Fprintln(stdout, "ok")
		}
	}
	if !r.OK() {
		return exitFindings, nil
	}
	return exitOK, nil
}

// verifyJSON is a report as conninfo verify -json writes it.
func verifyJSON(r audit.Report) any {
	type sock struct{ Local, Remote, Status string }
	out := struct {
		OK         bool     `json:"ok"`
		Lines      int      `json:"lines"`
		Shown      int      `json:"shown"`
		Sockets    int      `json:"sockets"`
		Tolerance  int      `json:"tolerance"`
		Dead       []uint64 `json:"dead_conn_ids,omitempty"`
		Excess     int      `json:"excess,omitempty"`
		Unreported []sock   `json:"unreported,omitempty"`
	}{OK: r.OK(), Lines: r.Lines, Shown: r.Shown, Sockets: r.Sockets, Tolerance: r.Tolerance, Excess: r.Excess}
	for _, e := range r.Dead {
		out.Dead = append(out.Dead, e.ConnID)
	}
	for _, s := range r.Unreported {
		out.Unreported = append(out.Unreported, sock{s.Local.String(), s.Remote.String(), s.Status})
	}
	return out
}
