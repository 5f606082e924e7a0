package getinfo

import (
	"bytes"
	"cmp"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/scrub"
)

// Nicknames looks up the nickname of a relay by its identity, so that a
// relay is named as tor names it, "$FINGERPRINT~nickname". A
// *consensus.Consensus and a *consensus.FileSource fit.
type Nicknames interface {
	Nickname(fp connstate.Fingerprint) (string, bool)
}

// CircuitSource is a Source that lists the relay's own circuits, as a
// *connstate.Registry does: circuit-status and CIRC need it.
type CircuitSource interface {
	OriginCircuits() []connstate.OriginCircuit
}

// ORConn is an OR connection as conn/all shows it: every connection line
// but a controller's or a directory request's that is inbound or whose
// peer is a relay. An outbound connection to a peer outside the Tor
// network is an exit stream's, which tor reports as a stream, not as an
// OR connection.
type ORConn struct {
	ID          uint64 // CONN_ID as shown (a pseudonym in the public tier)
	Target      string // the peer as tor's ORCONN names it: see [Target]
	Inbound     bool
	Established bool
	Circuits    int // the circuits whose legs conn/all shows on it
}

// Status is ORCONN's and orconn-status' word for the connection's state:
// CONNECTED once established, else LAUNCHED outbound and NEW inbound.
func (c ORConn) Status() string {
	switch {
	case c.Established:
		return "CONNECTED"
	case c.Inbound:
		return "NEW"
	}
	return "LAUNCHED"
}

// ORConns returns the OR connections of s.All, by ID, their peers named
// with names (which may be nil).
func (s Shown) ORConns(names Nicknames) []ORConn {
	var out []ORConn
	index := map[uint64]int{}
	for e := range s.Entries() {
		if e.CircID != 0 {
			if i, ok := index[e.ConnID]; ok {
				out[i].Circuits++ // the legs follow the connection lines
			}
			continue
		}
		f := e.Flags
		if f.Usage == connstate.UsageControl || f.Usage == connstate.UsageDirectory ||
			f.Direction == connstate.Outbound && f.Network != connstate.NetworkTor {
			continue
		}
		index[e.ConnID] = len(out)
		out = append(out, ORConn{ID: e.ConnID, Target: Target(e, names), Inbound: f.Direction == connstate.Inbound, Established: f.Established})
	}
	return out
}

// Entries yields the lines of s.All as entries, in order: what the tier
// shows, IDs as shown. Each entry is valid for its step only.
func (s Shown) Entries() iter.Seq[*connstate.Entry] {
	return func(yield func(*connstate.Entry) bool) {
		var e connstate.Entry
		all := s.All
		for len(all) > 0 {
			line, rest, _ := bytes.Cut(all, []byte{'\n'})
			all = rest
			var err error
			if e, err = format.Parse(string(line)); err != nil {
				continue // cannot happen: a Conns wrote it
			}
			if !yield(&e) {
				return
			}
		}
	}
}

// Target names the peer of a scrubbed line as tor's ORCONN and
// orconn-status do, but only with what the line shows:
// "$FINGERPRINT~nickname" for a relay (without "~nickname" if names
// knows none), its address and port where the tier shows only that, and
// "0", as conn/all writes what it hides, for a peer it does not show.
// tor names an unidentified peer by its address: the public tier never
// shows it.
func Target(e *connstate.Entry, names Nicknames) string {
	if !e.Fingerprint.IsZero() {
		name := "$" + e.Fingerprint.String()
		if names != nil {
			if nick, ok := names.Nickname(e.Fingerprint); ok && nick != "" {
				name += "~" + nick
			}
		}
		return name
	}
	if e.Remote.IsValid() {
		return e.Remote.String()
	}
	return "0"
}

// ShownCircuit is one of the relay's own circuits as the tier shows it.
type ShownCircuit struct {
	ID uint64 // CIRC_ID as shown (a pseudonym in the public tier)
	// Built says that its outbound leg runs over an established
	// connection; FirstHop is that relay, as [Target] names it, when the
	// tier shows it ("" otherwise).
	Built    bool
	FirstHop connstate.Entry
	Purpose  string
	// Created is when it was opened; in the public tier, the instant of
	// the first view that showed it.
	Created time.Time
}

// Status is CIRC's and circuit-status' word for the circuit's state.
func (c ShownCircuit) Status() string {
	if c.Built {
		return "BUILT"
	}
	return "LAUNCHED"
}

// shownCircuits returns the origin circuits of src as policy shows them,
// by shown ID; ids, if set, gives the pseudonyms, and created the time a
// circuit is said to have been opened. A built circuit whose first hop the
// policy does not show is left out: tor always names a built circuit's
// path, and controllers (nyx) rely on it.
func shownCircuits(src CircuitSource, policy scrub.Policy, ids *scrub.Pseudonyms, created func(connstate.OriginCircuit, uint64) time.Time) []ShownCircuit {
	circs := src.OriginCircuits()
	out := make([]ShownCircuit, 0, len(circs))
	for _, oc := range circs {
		sc := ShownCircuit{ID: oc.ID, Purpose: oc.Purpose}
		if ids != nil {
			sc.ID = ids.Circ(oc.ID)
		}
		if oc.HasFirstHop && oc.FirstHop.Flags.Established {
			hop := oc.FirstHop
			if !policy.Scrub(&hop) || hop.Fingerprint.IsZero() {
				continue
			}
			sc.Built, sc.FirstHop = true, hop
		}
		sc.Created = created(oc, sc.ID)
		out = append(out, sc)
	}
	slices.SortFunc(out, func(a, b ShownCircuit) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// AppendCircuit appends c as a line of circuit-status and the body of a
// CIRC event: "ID STATUS [PATH] PURPOSE=P TIME_CREATED=T", STATUS status
// or, if that is empty, c.Status(), the path the first hop (the only one
// a relay's registry knows), the time in tor's ISO form with
// microseconds, UTC.
func AppendCircuit(dst []byte, c ShownCircuit, status string, names Nicknames) []byte {
	if status == "" {
		status = c.Status()
	}
	dst = strconv.AppendUint(dst, c.ID, 10)
	dst = append(append(dst, ' '), status...)
	if c.Built {
		dst = append(append(dst, ' '), Target(&c.FirstHop, names)...)
	}
	dst = append(append(dst, " PURPOSE="...), c.Purpose...)
	dst = append(dst, " TIME_CREATED="...)
	return AppendISOTime(dst, c.Created)
}

// AppendISOTime appends t as tor's events write times:
// YYYY-MM-DDTHH:MM:SS.uuuuuu, UTC.
func AppendISOTime(dst []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000")
}

// Status is the family of tor's status keys read from a relay's
// connections and circuits, as its Conns shows them:
//
//   - orconn-status: "TARGET STATUS" for each OR connection ([ORConn]),
//     by CONN_ID, joined by "\n";
//   - circuit-status, if the Conns' Source is a [CircuitSource]: a line
//     for each of the relay's own circuits ([AppendCircuit]).
//
// In the public tier both are read from the epoch's view, like conn/all.
type Status struct {
	Conns     *Conns
	Nicknames Nicknames
}

// Register adds the family's keys to m.
func (s *Status) Register(m *Mux) {
	if s.Conns == nil || s.Conns.Source == nil {
		return
	}
	m.HandleFunc("orconn-status", "The OR connections and their states, one a line.", s.appendORConns)
	if _, ok := s.Conns.Source.(CircuitSource); ok {
		m.HandleFunc("circuit-status", "The relay's own circuits and their states, one a line.", s.appendCircuits)
	}
}

func (s *Status) appendORConns(dst []byte, _ string) ([]byte, error) {
	for i, c := range s.Conns.show(true, false).ORConns(s.Nicknames) {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = append(append(append(dst, c.Target...), ' '), c.Status()...)
	}
	return dst, nil
}

func (s *Status) appendCircuits(dst []byte, _ string) ([]byte, error) {
	for i, c := range s.Conns.show(true, false).Circuits {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = AppendCircuit(dst, c, "", s.Nicknames)
	}
	return dst, nil
}
