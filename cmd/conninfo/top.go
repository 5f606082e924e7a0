package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/conninfo/conninfo/client"
	"github.com/conninfo/conninfo/cmd/conninfo/internal/top"
	"github.com/conninfo/conninfo/connstate"
)

// topCmd runs the live view until q, ctrl+c or the context's end.
func topCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("conninfo top", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs)
	every := fs.Duration("every", top.DefaultEvery, "the `time` between refreshes")
	sortBy := fs.String("sort", "rate", "the `column` rows sort by: rate, bytes, uptime, id or flags")
	reverse := fs.Bool("reverse", false, "turn the order")
	filter := fs.String("filter", "", "keep the rows whose text holds this `text`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("top: unexpected arguments %q", fs.Args())
	}
	if *every <= 0 {
		return fmt.Errorf("-every %v: want more than 0", *every)
	}
	conn, err := c.dial(ctx, getenv)
	if err != nil {
		return err
	}
	defer conn.Close()
	// The first reading says at once what this port cannot show, before
	// the screen is taken.
	if _, err := conn.ConnAll(ctx); err != nil {
		return err
	}
	aud, err := newAuditor(ctx, conn, auditOptions{})
	if err != nil {
		return err
	}
	src := &relaySource{conn: conn, auditor: aud}
	bw, err := bandwidth(ctx, conn)
	if err != nil {
		return err
	}
	m, err := top.New(ctx, top.Config{Source: src, Every: *every, BW: bw, Title: c.control, Sort: *sortBy, Reverse: *reverse, Filter: *filter})
	if err != nil {
		return err
	}
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithContext(ctx), tea.WithOutput(stdout), tea.WithInput(os.Stdin))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return err
	}
	return nil
}

// relaySource reads what top shows: the header's keys, conn/all and the
// findings.
type relaySource struct {
	conn    *client.Conn
	auditor *auditor
	fixed   []top.Field // the keys that do not change, read once
}

// The header's keys: those that name the relay, read once, and those
// read at every refresh.
var (
	fixedKeys  = []string{"version", "address", "fingerprint"}
	statusKeys = []string{"uptime", "traffic/read", "traffic/written"}
)

func (s *relaySource) Fetch(ctx context.Context) (top.Snapshot, error) {
	if s.fixed == nil {
		fields, err := optionalKeys(ctx, s.conn, fixedKeys)
		if err != nil {
			return top.Snapshot{}, err
		}
		exit := "no"
		if s.auditor.state.Exit {
			exit = "yes"
		}
		// The fingerprint, the longest, last: a narrow screen cuts it.
		at := slices.IndexFunc(fields, func(f top.Field) bool { return f.Name == "fingerprint" })
		if at < 0 {
			at = len(fields)
		}
		s.fixed = slices.Insert(fields, at, top.Field{Name: "exit", Value: exit})
	}
	status, err := optionalKeys(ctx, s.conn, statusKeys)
	if err != nil {
		return top.Snapshot{}, err
	}
	at := time.Now()
	entries, err := s.conn.ConnAll(ctx)
	if err != nil {
		return top.Snapshot{}, err
	}
	findings, err := s.auditor.audit(ctx, func(context.Context) ([]connstate.Entry, error) { return entries, nil })
	if err != nil {
		return top.Snapshot{}, err
	}
	return top.Snapshot{At: at, Header: s.fixed, Status: status, Entries: entries, Findings: findings}, nil
}

// optionalKeys reads keys one at a time, leaving out those the relay
// does not answer (552 and 551): a relay registers only what it has.
func optionalKeys(ctx context.Context, conn *client.Conn, keys []string) ([]top.Field, error) {
	var out []top.Field
	for _, k := range keys {
		v, err := conn.GetInfo(ctx, k)
		var reply *client.Error
		if errors.As(err, &reply) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, top.Field{Name: k, Value: v[k]})
	}
	return out, nil
}

// bandwidth subscribes to BW events, the last seconds first from
// bw-event-cache, and delivers them as top.BW; nil if the relay has none.
func bandwidth(ctx context.Context, conn *client.Conn) (<-chan top.BW, error) {
	err := conn.Subscribe(ctx, "BW")
	if errors.Is(err, client.ErrUnrecognized) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var seed []top.BW
	if v, err := conn.GetInfo(ctx, "bw-event-cache"); err == nil {
		for _, pair := range strings.Fields(v["bw-event-cache"]) {
			r, w, _ := strings.Cut(pair, ",")
			if b, ok := parseBW(r, w); ok {
				seed = append(seed, b)
			}
		}
	}
	out := make(chan top.BW, len(seed)+64)
	for _, b := range seed {
		out <- b
	}
	go func() {
		defer close(out)
		for ev := range conn.Events() {
			f := strings.Fields(ev.Line)
			if ev.Name != "BW" || len(f) < 3 {
				continue
			}
			if b, ok := parseBW(f[1], f[2]); ok {
				select {
				case out <- b:
				default: // the view is behind: it misses a second
				}
			}
		}
	}()
	return out, nil
}

func parseBW(read, written string) (top.BW, bool) {
	r, err1 := strconv.ParseUint(read, 10, 64)
	w, err2 := strconv.ParseUint(written, 10, 64)
	return top.BW{Read: r, Written: w}, err1 == nil && err2 == nil
}
