package audit

import (
	"strings"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
)

// FindingsKey is the GETINFO key of [Findings].
const FindingsKey = "audit/findings"

// Findings runs an [Auditor] in-process on the registry's raw entries (its
// addresses and the circuits it carries, which no tier shows a
// controller) and publishes only the findings, as GETINFO audit/findings:
// a line per finding ([Finding.Line]), none when there is nothing to say.
//
// It audits at most once an epoch in the public tier, at the first
// question of the epoch, and answers the whole epoch from that; in the
// other tiers at most once a second. What it publishes follows the Conns'
// tier: in the public tier the CONN_IDs are conn/all's pseudonyms, the
// CIRC_IDs only those of the relay's own circuits (a circuit it carries
// is not named), and the messages hold no byte count (see
// [Finding.Public]).
//
// A Findings is safe for concurrent use; do not copy it once registered.
type Findings struct {
	// Registry is the raw state audited.
	Registry *connstate.Registry
	// Conns is what the relay's keys show: its tier and its IDs.
	Conns *getinfo.Conns
	// Setup returns what the relay says of its policy (State.Exit and
	// State.RejectPrivate); nil is a non-exit rejecting private addresses.
	Setup func() State
	// Config holds the thresholds.
	Config Config
	// Sockets, if set, reads the TCP sockets of the relay's process for
	// the hidden detector (verify.Sockets of os.Getpid(), say): read
	// before and after the registry, at each audit. An error is reported
	// as an info finding.
	Sockets func() ([]Socket, error)

	mu      sync.Mutex
	auditor *Auditor
	period  int64 // the epoch (or second) of the last audit
	lines   []byte
}

// Register mounts audit/findings on m.
func (f *Findings) Register(m *getinfo.Mux) {
	m.HandleFunc(FindingsKey, "Findings of the relay's own audit: detector, severity, CONN_IDs, CIRC_IDs, message, a line each.", f.appendFindings)
}

// Lines returns the findings as audit/findings answers them now, a line
// each (none when it is not configured): for events.Config.Findings.
func (f *Findings) Lines() []string {
	v, err := f.appendFindings(nil, FindingsKey)
	if err != nil || len(v) == 0 {
		return nil
	}
	return strings.Split(string(v), "\n")
}

func (f *Findings) appendFindings(dst []byte, _ string) ([]byte, error) {
	if f.Registry == nil || f.Conns == nil {
		return dst, getinfo.Unavailable("Audit not configured")
	}
	now := f.Conns.ClockUsed().Now()
	public := f.Conns.Policy.EpochLength() > 0
	length := time.Second
	if public {
		length = f.Conns.Policy.EpochLength()
	}
	period := now.UnixNano() / int64(length)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.auditor == nil || period != f.period {
		if f.auditor == nil {
			f.auditor = New(f.Config)
		}
		f.period = period
		f.lines = f.audit(public)
	}
	return append(dst, f.lines...), nil
}

// audit runs the detectors on the raw state and writes the findings as
// the tier allows.
func (f *Findings) audit(public bool) []byte {
	s := State{RejectPrivate: true}
	if f.Setup != nil {
		s = f.Setup()
	}
	var before []Socket
	var sockErr error
	if f.Sockets != nil {
		before, sockErr = f.Sockets()
	}
	s.Entries = f.Registry.AppendEntries(nil)
	if f.Sockets != nil && sockErr == nil {
		var after []Socket
		after, sockErr = f.Sockets()
		s.Sockets = Stable(before, after)
	}
	origin := map[uint64]bool{}
	for _, e := range s.Entries {
		if e.CircID != 0 && e.Origin {
			origin[e.CircID] = true
		}
	}
	var lines []string
	found := f.auditor.Audit(s)
	if sockErr != nil {
		found = append(found, Finding{Detector: Hidden, Severity: Info, Message: "not checked: " + strings.ReplaceAll(sockErr.Error(), "\n", " ")})
	}
	for _, x := range found {
		if public {
			x = x.Public(f.Conns.ShownConnID, func(id uint64) (uint64, bool) {
				return f.Conns.ShownCircID(id), origin[id]
			})
		}
		lines = append(lines, x.Line())
	}
	return []byte(strings.Join(lines, "\n"))
}

// Public returns the finding as the public tier may show it: its
// connections by shownConn, only the circuits shownCirc shows (the
// relay's own), and a message without byte counts, which the tier shows
// only rounded, once an epoch.
func (f Finding) Public(shownConn func(uint64) uint64, shownCirc func(uint64) (uint64, bool)) Finding {
	out := Finding{Detector: f.Detector, Severity: f.Severity, Message: f.Message}
	for _, id := range f.ConnIDs {
		out.ConnIDs = append(out.ConnIDs, shownConn(id))
	}
	for _, id := range f.CircIDs {
		if s, ok := shownCirc(id); ok {
			out.CircIDs = append(out.CircIDs, s)
		}
	}
	out.ConnIDs, out.CircIDs = sortedIDs(out.ConnIDs), sortedIDs(out.CircIDs)
	switch f.Detector {
	case Asymmetric:
		out.Message = "a circuit's two sides moved volumes far apart, over the floor"
	case Concentration:
		if strings.Contains(f.Message, "bytes") {
			out.Message = "one connection carries most of the relay's bytes"
		}
	}
	if strings.Contains(out.Message, "bytes") {
		// A detector without a public message: say what, not how much.
		out.Message = out.Detector + ": details withheld in the public tier"
	}
	return out
}
