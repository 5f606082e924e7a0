package audit

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// Severity ranks a finding.
type Severity int

// The severities, lowest first.
const (
	Info Severity = iota + 1
	Warning
	Critical
)

var severityNames = map[Severity]string{Info: "info", Warning: "warning", Critical: "critical"}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return "Severity(" + strconv.Itoa(int(s)) + ")"
}

// ErrSeverity is wrapped by the error of [ParseSeverity].
var ErrSeverity = errors.New("audit: unknown severity")

// ParseSeverity reads a severity's name: info, warning or critical.
func ParseSeverity(s string) (Severity, error) {
	for v, n := range severityNames {
		if n == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w %q: want info, warning or critical", ErrSeverity, s)
}

// MarshalText writes the severity's name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a severity's name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	*s = v
	return err
}

// The detectors' names, as findings carry them.
const (
	Unestablished  = "unestablished"
	Asymmetric     = "asymmetric"
	PrivateExit    = "private-exit"
	Concentration  = "concentration"
	NonExitStreams = "non-exit-streams"
	ShortLived     = "short-lived"
	Hidden         = "hidden"
)

// Finding is one anomaly: which detector saw it, how bad, the IDs it
// concerns as the state showed them, and a message that names no peer's
// address (only counts, shares and the IDs).
type Finding struct {
	Detector string   `json:"detector"`
	Severity Severity `json:"severity"`
	ConnIDs  []uint64 `json:"conn_ids,omitempty"`
	CircIDs  []uint64 `json:"circ_ids,omitempty"`
	Message  string   `json:"message"`
}

// Line is the finding as GETINFO audit/findings shows it: the detector,
// the severity, CONN_IDs and CIRC_IDs comma-separated ("-" for none), and
// the message, space-separated.
func (f Finding) Line() string {
	ids := func(v []uint64) string {
		if len(v) == 0 {
			return "-"
		}
		s := make([]string, len(v))
		for i, id := range v {
			s[i] = strconv.FormatUint(id, 10)
		}
		return strings.Join(s, ",")
	}
	return f.Detector + " " + f.Severity.String() + " " + ids(f.ConnIDs) + " " + ids(f.CircIDs) + " " + f.Message
}

// ErrLine is wrapped by the errors of [ParseLine].
var ErrLine = errors.New("audit: malformed finding line")

// ParseLine reads a line as [Finding.Line] writes it.
func ParseLine(line string) (Finding, error) {
	f := strings.SplitN(line, " ", 5)
	if len(f) != 5 {
		return Finding{}, fmt.Errorf("%w: %q", ErrLine, line)
	}
	sev, err := ParseSeverity(f[1])
	if err != nil {
		return Finding{}, fmt.Errorf("%w: %q: %w", ErrLine, line, err)
	}
	ids := func(s string) ([]uint64, error) {
		if s == "-" {
			return nil, nil
		}
		var v []uint64
		for _, p := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(p, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: %q: ID %q", ErrLine, line, p)
			}
			v = append(v, n)
		}
		return v, nil
	}
	out := Finding{Detector: f[0], Severity: sev, Message: f[4]}
	if out.ConnIDs, err = ids(f[2]); err != nil {
		return Finding{}, err
	}
	if out.CircIDs, err = ids(f[3]); err != nil {
		return Finding{}, err
	}
	return out, nil
}

// JSON is the finding as one JSON object, for `conninfo audit -json`.
func (f Finding) JSON() []byte {
	b, _ := json.Marshal(f) // cannot fail: plain fields
	return b
}

// Config holds the detectors' thresholds; the zero value of each field
// takes its default.
type Config struct {
	// UnestablishedAge: a connection not established after this long
	// (default 60 s).
	UnestablishedAge time.Duration
	// AsymmetricRatio and AsymmetricFloor: a circuit whose legs on one side
	// moved this many times the other's, the larger side at least the
	// floor (defaults 20 and 8 MiB).
	AsymmetricRatio float64
	AsymmetricFloor uint64
	// ConcentrationConns: outbound OR connections to one relay's address
	// and port (default 16: tor keeps one or two); ConcentrationShare: the share of all connections' bytes one
	// connection carries, above ConcentrationFloor of bytes in all
	// (defaults 0.5 and 64 MiB).
	ConcentrationConns  int
	ConcentrationShare  float64
	ConcentrationFloor  uint64
	ShortLivedAge       time.Duration // a connection gone within this (default 5 s) ...
	ShortLivedShare     float64       // ... being this share of those gone (default 0.5) ...
	ShortLivedMinClosed int           // ... of at least this many (default 20)
	// HiddenTolerance: how many more connections the process's sockets
	// may make than the lines report, the churn between the readings
	// (default 2; see [Check]).
	HiddenTolerance int
}

func (c Config) withDefaults() Config {
	c.UnestablishedAge = cmp.Or(c.UnestablishedAge, 60*time.Second)
	c.AsymmetricRatio = cmp.Or(c.AsymmetricRatio, 20)
	c.AsymmetricFloor = cmp.Or(c.AsymmetricFloor, 8<<20)
	c.ConcentrationConns = cmp.Or(c.ConcentrationConns, 16)
	c.ConcentrationShare = cmp.Or(c.ConcentrationShare, 0.5)
	c.ConcentrationFloor = cmp.Or(c.ConcentrationFloor, 64<<20)
	c.ShortLivedAge = cmp.Or(c.ShortLivedAge, 5*time.Second)
	c.ShortLivedShare = cmp.Or(c.ShortLivedShare, 0.5)
	c.ShortLivedMinClosed = cmp.Or(c.ShortLivedMinClosed, 20)
	c.HiddenTolerance = cmp.Or(c.HiddenTolerance, 2)
	return c
}

// State is what one audit looks at: the lines of conn/all (raw, from the
// registry in-process, or a test-network view), and the relay's setup.
type State struct {
	Entries []connstate.Entry
	// Exit says the relay's exit policy allows streams; RejectPrivate that
	// it rejects private addresses (ExitPolicyRejectPrivate).
	Exit          bool
	RejectPrivate bool
	// Sockets are the TCP sockets of the relay's process that lived
	// across the reading of Entries ([Stable] of a reading before and one
	// after), for the hidden detector, which runs only with some: the
	// host reads them (package verify), in-process, on raw Entries.
	Sockets []Socket
}

// Auditor runs the detectors, remembering what it saw between audits (for
// the short-lived connections). It is not safe for concurrent use.
type Auditor struct {
	cfg  Config
	seen map[uint64]uint64 // connection ID: its uptime at the last audit
	// gone counts the connections seen to go, and those that went within
	// ShortLivedAge, over the last audits.
	gone, short int
}

// New returns an Auditor with cfg's thresholds.
func New(cfg Config) *Auditor { return &Auditor{cfg: cfg.withDefaults(), seen: map[uint64]uint64{}} }

// Audit runs every detector on s and returns the findings, by detector.
func (a *Auditor) Audit(s State) []Finding {
	var out []Finding
	conns, circs := split(s.Entries)
	out = append(out, a.unestablished(conns)...)
	out = append(out, a.asymmetric(conns, circs)...)
	out = append(out, a.privateExit(conns, s)...)
	out = append(out, a.concentration(conns)...)
	out = append(out, a.nonExitStreams(conns, s)...)
	out = append(out, a.shortLived(conns)...)
	out = append(out, a.hidden(s)...)
	return out
}

// hidden finds the connections of the relay's process that no line
// reports: sockets beyond what the lines account for ([Check]), over the
// tolerance. Its finding names no connection (none has a line) and no
// address, only the count.
func (a *Auditor) hidden(s State) []Finding {
	if len(s.Sockets) == 0 {
		return nil
	}
	r := Check(s.Entries, s.Sockets, a.cfg.HiddenTolerance)
	if r.Excess <= r.Tolerance {
		return nil
	}
	return []Finding{{Detector: Hidden, Severity: Warning,
		Message: fmt.Sprintf("%d connection(s) of the relay's process that no line reports (tolerance %d)", r.Excess, r.Tolerance)}}
}

// split returns the connection lines by ID and the leg lines by circuit.
func split(entries []connstate.Entry) (map[uint64]connstate.Entry, map[uint64][]connstate.Entry) {
	conns := map[uint64]connstate.Entry{}
	circs := map[uint64][]connstate.Entry{}
	for _, e := range entries {
		if e.CircID == 0 {
			conns[e.ConnID] = e
		} else {
			circs[e.CircID] = append(circs[e.CircID], e)
		}
	}
	return conns, circs
}

func sortedIDs(ids []uint64) []uint64 {
	slices.Sort(ids)
	return slices.Compact(ids)
}

// isStream reports whether a connection line is an exit stream's: outbound
// to a peer outside the Tor network, neither a controller's nor a
// directory request's.
func isStream(e connstate.Entry) bool {
	f := e.Flags
	return f.Direction == connstate.Outbound && f.Network == connstate.NetworkOutside &&
		f.Usage != connstate.UsageControl && f.Usage != connstate.UsageDirectory
}

// isOR reports whether a connection line is an OR connection's: not a
// stream's, a controller's or a directory request's, which are short by
// nature.
func isOR(e connstate.Entry) bool {
	u := e.Flags.Usage
	return !isStream(e) && u != connstate.UsageControl && u != connstate.UsageDirectory
}

// unestablished: outbound connections that have not established for
// UnestablishedAge (an inbound one that never finishes its handshake is a
// client's or a scanner's doing, not the relay's) (a firewall dropping what the exit policy allows shows
// as 'oRt' streams), and the circuits with legs on them.
func (a *Auditor) unestablished(conns map[uint64]connstate.Entry) []Finding {
	var ids []uint64
	for id, e := range conns {
		if e.Flags.Direction == connstate.Outbound && !e.Flags.Established && time.Duration(e.Uptime)*time.Second >= a.cfg.UnestablishedAge {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return []Finding{{Detector: Unestablished, Severity: Warning, ConnIDs: sortedIDs(ids),
		Message: fmt.Sprintf("%d outbound connection(s) not established after %v", len(ids), a.cfg.UnestablishedAge)}}
}

// asymmetric: circuits whose inbound and outbound sides moved very
// different volumes.
func (a *Auditor) asymmetric(conns map[uint64]connstate.Entry, circs map[uint64][]connstate.Entry) []Finding {
	var out []Finding
	for _, id := range sortedKeys(circs) {
		var in, outb uint64
		for _, leg := range circs[id] {
			v := leg.Read + leg.Written
			if leg.Flags.Direction == connstate.Inbound {
				in += v
			} else {
				outb += v
			}
		}
		lo, hi := min(in, outb), max(in, outb)
		if hi < a.cfg.AsymmetricFloor || float64(hi) < a.cfg.AsymmetricRatio*float64(lo) {
			continue
		}
		var legConns []uint64
		for _, leg := range circs[id] {
			legConns = append(legConns, leg.ConnID)
		}
		out = append(out, Finding{Detector: Asymmetric, Severity: Warning, CircIDs: []uint64{id}, ConnIDs: sortedIDs(legConns),
			Message: fmt.Sprintf("circuit moved %d bytes inbound and %d outbound (ratio over %g)", in, outb, a.cfg.AsymmetricRatio)})
	}
	return out
}

// privateExit: exit streams to private addresses while the policy rejects
// them.
func (a *Auditor) privateExit(conns map[uint64]connstate.Entry, s State) []Finding {
	if !s.RejectPrivate {
		return nil
	}
	var ids []uint64
	for id, e := range conns {
		if isStream(e) && e.Remote.IsValid() && connstate.Internal(e.Remote.Addr()) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return []Finding{{Detector: PrivateExit, Severity: Critical, ConnIDs: sortedIDs(ids),
		Message: fmt.Sprintf("%d exit stream(s) to private addresses, which the exit policy rejects", len(ids))}}
}

// concentration: many outbound OR connections to one address and port,
// or one connection carrying most of the bytes. Exit streams are not
// counted by address: an exit's streams to a busy destination are many.
func (a *Auditor) concentration(conns map[uint64]connstate.Entry) []Finding {
	var out []Finding
	byAddr := map[string][]uint64{}
	var total uint64
	for id, e := range conns {
		total += e.Read + e.Written
		if e.Flags.Direction == connstate.Outbound && e.Remote.IsValid() && !isStream(e) {
			k := e.Remote.String()
			byAddr[k] = append(byAddr[k], id)
		}
	}
	for _, k := range sortedKeys(byAddr) {
		if ids := byAddr[k]; len(ids) >= a.cfg.ConcentrationConns {
			out = append(out, Finding{Detector: Concentration, Severity: Warning, ConnIDs: sortedIDs(ids),
				Message: fmt.Sprintf("%d outbound connections to one relay's address", len(ids))})
		}
	}
	if total >= a.cfg.ConcentrationFloor {
		for _, id := range sortedKeys(conns) {
			e := conns[id]
			if share := float64(e.Read+e.Written) / float64(total); share >= a.cfg.ConcentrationShare {
				out = append(out, Finding{Detector: Concentration, Severity: Warning, ConnIDs: []uint64{id},
					Message: fmt.Sprintf("one connection carries %.0f%% of %d bytes", 100*share, total)})
			}
		}
	}
	return out
}

// nonExitStreams: exit streams on a relay that is not an exit.
func (a *Auditor) nonExitStreams(conns map[uint64]connstate.Entry, s State) []Finding {
	if s.Exit {
		return nil
	}
	var ids []uint64
	for id, e := range conns {
		if isStream(e) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return []Finding{{Detector: NonExitStreams, Severity: Critical, ConnIDs: sortedIDs(ids),
		Message: fmt.Sprintf("%d outbound connection(s) outside the Tor network on a relay that is not an exit", len(ids))}}
}

// shortLived: a large share of the OR connections seen to go went within
// seconds of opening (middleboxes resetting them). It counts over the
// audits since the last finding or the last ShortLivedMinClosed gone.
func (a *Auditor) shortLived(conns map[uint64]connstate.Entry) []Finding {
	for id, up := range a.seen {
		if _, ok := conns[id]; ok {
			continue
		}
		a.gone++
		if time.Duration(up)*time.Second < a.cfg.ShortLivedAge {
			a.short++
		}
		delete(a.seen, id)
	}
	for id, e := range conns {
		if isOR(e) {
			a.seen[id] = e.Uptime
		}
	}
	if a.gone < a.cfg.ShortLivedMinClosed {
		return nil
	}
	gone, short := a.gone, a.short
	a.gone, a.short = 0, 0
	if share := float64(short) / float64(gone); share >= a.cfg.ShortLivedShare {
		return []Finding{{Detector: ShortLived, Severity: Warning,
			Message: fmt.Sprintf("%d of %d connections gone within %v of opening", short, gone, a.cfg.ShortLivedAge)}}
	}
	return nil
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	return slices.Sorted(maps.Keys(m))
}
