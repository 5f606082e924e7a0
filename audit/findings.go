package audit

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// FindingsKey is the GETINFO key of [Findings].
const FindingsKey = "audit/findings"

// Findings runs an [Auditor] in-process on the registry's raw entries (its
// addresses and the circuits it carries, which no tier shows a
// controller) and publishes only the findings, as GETINFO audit/findings:
// a line per finding ([Finding.Line]), none when there is nothing to say.
//
// In the public tier it audits when registered and then at each instant
// of the epoch grid, on a timer of the Conns' clock, until [Findings.Close];
// a question answers the last audit and never waits for one, so that
// neither when a controller asks nor how long an answer takes says
// anything of the relay's state. The counts the detectors see are
// rounded to the tier's granularity, as conn/all's are, so that no
// threshold resolves a count finer. What it publishes is
// [Finding.Public]: no connection named, only the relay's own circuits,
// counts and shares without bytes. In the other tiers it audits at the
// first question of each second, and publishes the findings whole.
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
	// before and after the registry, at each audit. An error, or no
	// socket at all while the registry holds connections, is reported as
	// an info finding.
	Sockets func() ([]Socket, error)

	auditMu sync.Mutex // one audit at a time: the Auditor remembers
	auditor *Auditor

	mu     sync.Mutex
	period int64 // the epoch (or second) of the last audit
	lines  []byte
	stop   func() bool // the public tier's timer
	closed bool
}

// timerClock is a clock that can call a function later (a fake clock's
// AfterFunc in tests); the real one uses time.AfterFunc.
type timerClock interface {
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// Register mounts audit/findings on m; in the public tier it audits now
// and sets the timer of the next instant.
func (f *Findings) Register(m *getinfo.Mux) {
	m.HandleFunc(FindingsKey, "Findings of the relay's own audit: detector, severity, CONN_IDs, CIRC_IDs, message, a line each.", f.appendFindings)
	if f.Registry == nil || f.Conns == nil {
		return
	}
	if length := f.Conns.Policy.EpochLength(); length > 0 {
		lines := f.audit(true)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.lines = lines
		f.arm(f.Conns.ClockUsed().Now().UnixNano()/int64(length)+1, length)
	}
}

// Close stops the public tier's audits; the last one's findings stay.
func (f *Findings) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.stop != nil {
		f.stop()
	}
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
	if f.Conns.Policy.EpochLength() > 0 {
		f.mu.Lock()
		defer f.mu.Unlock()
		return append(dst, f.lines...), nil
	}
	period := f.Conns.ClockUsed().Now().UnixNano() / int64(time.Second)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lines == nil || period != f.period {
		f.period, f.lines = period, f.audit(false)
	}
	return append(dst, f.lines...), nil
}

// arm sets a timer for the instant of epoch next; f.mu is held.
func (f *Findings) arm(next int64, length time.Duration) {
	if f.closed {
		return
	}
	clock := f.Conns.ClockUsed()
	d := time.Unix(0, next*int64(length)).Sub(clock.Now())
	tick := func() { f.tick(length) }
	if tc, ok := clock.(timerClock); ok {
		f.stop = tc.AfterFunc(d, tick)
		return
	}
	f.stop = time.AfterFunc(d, tick).Stop
}

// tick audits at an instant of the public tier's grid and sets the next
// timer (a late timer audits the epoch it fires in).
func (f *Findings) tick(length time.Duration) {
	k := f.Conns.ClockUsed().Now().UnixNano() / int64(length)
	lines := f.audit(true) // not under mu: a question never waits for it
	f.mu.Lock()
	defer f.mu.Unlock()
	f.period, f.lines = k, lines
	f.arm(k+1, length)
}

// audit runs the detectors on the raw state, its counts rounded in the
// public tier, and writes the findings as the tier allows.
func (f *Findings) audit(public bool) []byte {
	f.auditMu.Lock()
	defer f.auditMu.Unlock()
	if f.auditor == nil {
		f.auditor = New(f.Config)
	}
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
		if sockErr == nil && len(s.Sockets) == 0 && slices.ContainsFunc(s.Entries, func(e connstate.Entry) bool { return e.CircID == 0 }) {
			sockErr = errors.New("no socket of the process was read")
		}
	}
	origin := map[uint64]bool{}
	g := f.Conns.Policy.Granularity()
	for i := range s.Entries {
		e := &s.Entries[i]
		if e.CircID != 0 && e.Origin {
			origin[e.CircID] = true
		}
		if public {
			e.Read, e.Written = scrub.RoundHalfUp(e.Read, g), scrub.RoundHalfUp(e.Written, g)
		}
	}
	found := f.auditor.Audit(s)
	if sockErr != nil {
		found = append(found, Finding{Detector: Hidden, Severity: Info, Message: "not checked: " + printable(sockErr.Error())})
	}
	var lines []string
	for _, x := range found {
		if public {
			x = x.Public(func(id uint64) (uint64, bool) {
				return f.Conns.ShownCircID(id), origin[id]
			})
		}
		lines = append(lines, x.Line())
	}
	return []byte(strings.Join(lines, "\n"))
}

// printable replaces control characters, which would reach a
// controller's terminal, with spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// Public returns the finding as the public tier may show it: no
// connection named (two IDs of one finding would join the two sides of a
// circuit the relay carries, which the tier never links), only the
// circuits shownCirc shows (the relay's own), and a message without byte
// counts, which the tier shows only rounded, once an epoch, nor the
// hidden detector's exact count or error.
func (f Finding) Public(shownCirc func(uint64) (uint64, bool)) Finding {
	out := Finding{Detector: f.Detector, Severity: f.Severity, Message: f.Message}
	for _, id := range f.CircIDs {
		if s, ok := shownCirc(id); ok {
			out.CircIDs = append(out.CircIDs, s)
		}
	}
	out.CircIDs = sortedIDs(out.CircIDs)
	switch f.Detector {
	case Asymmetric:
		out.Message = "a circuit's two sides moved volumes far apart, over the floor"
	case Concentration:
		if strings.Contains(f.Message, "bytes") {
			out.Message = "one connection carries most of the relay's bytes"
		}
	case Hidden:
		out.Message = "connections of the relay's process that no line reports, over the tolerance"
		if f.Severity == Info {
			out.Message = "not checked: the process's sockets could not be read"
		}
	}
	if strings.Contains(out.Message, "bytes") {
		// A detector without a public message: say what, not how much.
		out.Message = out.Detector + ": details withheld in the public tier"
	}
	return out
}
