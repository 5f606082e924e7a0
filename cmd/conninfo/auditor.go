package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/client"
	"github.com/conninfo/conninfo/connstate"
)

// auditOptions are conninfo audit's overrides of what the relay says
// (exit and noExit exclude each other).
type auditOptions struct {
	exit, noExit  bool
	unestablished time.Duration
}

// auditor finds what conninfo audit and top show: the relay's own
// findings (audit/findings, on what no tier shows a controller) if it
// publishes them and no threshold of our own is asked for, else those of
// an audit here on conn/all.
type auditor struct {
	conn      *client.Conn
	state     audit.State
	local     *audit.Auditor
	inProcess bool
}

func newAuditor(ctx context.Context, conn *client.Conn, o auditOptions) (*auditor, error) {
	state, err := relaySetup(ctx, conn)
	if err != nil {
		return nil, err
	}
	if o.exit || o.noExit {
		state.Exit = o.exit
	}
	return &auditor{
		conn:      conn,
		state:     state,
		local:     audit.New(audit.Config{UnestablishedAge: o.unestablished}),
		inProcess: o.unestablished == 0,
	}, nil
}

// audit returns one round's findings; connAll reads conn/all when the
// audit is here.
func (a *auditor) audit(ctx context.Context, connAll func(context.Context) ([]connstate.Entry, error)) ([]audit.Finding, error) {
	if a.inProcess {
		f, err := relayFindings(ctx, a.conn)
		if !errors.Is(err, client.ErrUnrecognized) {
			return f, err
		}
		a.inProcess = false
	}
	entries, err := connAll(ctx)
	if err != nil {
		return nil, err
	}
	s := a.state
	s.Entries = entries
	return a.local.Audit(s), nil
}

// relayFindings reads audit/findings.
func relayFindings(ctx context.Context, conn *client.Conn) ([]audit.Finding, error) {
	v, err := conn.GetInfo(ctx, audit.FindingsKey)
	if err != nil {
		return nil, err
	}
	var out []audit.Finding
	for _, line := range strings.Split(v[audit.FindingsKey], "\n") {
		if line == "" {
			continue
		}
		f, err := audit.ParseLine(line)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// relaySetup asks the relay whether it is an exit and rejects private
// addresses: GETCONF ExitRelay ("1", or "auto" with an exit policy that
// accepts something) and ExitPolicyRejectPrivate (tor's default, 1).
func relaySetup(ctx context.Context, conn *client.Conn) (audit.State, error) {
	s := audit.State{RejectPrivate: true}
	rep, err := conn.Command(ctx, "GETCONF ExitRelay ExitPolicyRejectPrivate")
	if errors.Is(err, client.ErrUnrecognized) {
		return s, nil // a host that registers neither: a non-exit rejecting private addresses
	}
	if err != nil {
		return s, err
	}
	for _, l := range rep.Lines {
		switch l.Text {
		case "ExitRelay=1":
			s.Exit = true
		case "ExitRelay=auto":
			if v, err := conn.GetInfo(ctx, "exit-policy/full"); err == nil {
				s.Exit = slices.ContainsFunc(strings.Split(v["exit-policy/full"], "\n"), func(r string) bool { return strings.HasPrefix(r, "accept") })
			}
		case "ExitPolicyRejectPrivate=0":
			s.RejectPrivate = false
		}
	}
	return s, nil
}
