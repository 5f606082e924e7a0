package events

import (
	"strings"

	"github.com/conninfo/conninfo/controlport/protocol"
)

// Names are the event names tor 0.4.9.11 accepts in SETEVENTS, in the
// order of its events/names.
const Names = "CIRC CIRC_MINOR STREAM ORCONN BW DEBUG INFO NOTICE WARN ERR NEWDESC ADDRMAP DESCCHANGED NS STATUS_GENERAL STATUS_CLIENT STATUS_SERVER GUARD STREAM_BW CLIENTS_SEEN NEWCONSENSUS BUILDTIMEOUT_SET SIGNAL CONF_CHANGED CONN_BW CELL_STATS CIRC_BW TRANSPORT_LAUNCHED HS_DESC HS_DESC_CONTENT NETWORK_LIVENESS"

// Extensions are conninfo's own events, beyond tor's: SETEVENTS accepts
// them, and events/names, tor's list, does not name them.
const Extensions = "CONNINFO_AUDIT"

// A Set is a set of event names, as one SETEVENTS asks for them.
type Set uint64

var names = strings.Fields(Names + " " + Extensions)

// The events a Publisher sends. Every other name in Names is accepted
// and never sent.
var (
	BW     = mustSet("BW")
	ORCONN = mustSet("ORCONN")
	CIRC   = mustSet("CIRC")
	CIRCBW = mustSet("CIRC_BW")
	CONNBW = mustSet("CONN_BW")
	// AUDIT is conninfo's CONNINFO_AUDIT: a finding of the relay's own
	// audit as it appears.
	AUDIT = mustSet("CONNINFO_AUDIT")
)

func mustSet(name string) Set {
	s, bad := ParseSet([]string{name})
	if bad != "" {
		panic("events: unknown event " + name)
	}
	return s
}

// ParseSet reads the words of a SETEVENTS command as tor does: each an
// event name in any case of ASCII letters, or EXTENDED or the obsolete
// AUTHDIR_NEWDESCS, which tor accepts and ignores. It returns the set, or
// the first word that is none of these ("" if all are).
func ParseSet(words []string) (set Set, unknown string) {
	for _, w := range words {
		if protocol.EqualFold(w, "EXTENDED") || protocol.EqualFold(w, "AUTHDIR_NEWDESCS") {
			continue
		}
		i := indexOf(w)
		if i < 0 {
			return 0, w
		}
		set |= 1 << i
	}
	return set, ""
}

func indexOf(name string) int {
	for i, n := range names {
		if protocol.EqualFold(n, name) {
			return i
		}
	}
	return -1
}

// Has reports whether s holds every event of t.
func (s Set) Has(t Set) bool { return s&t == t && t != 0 }

// String returns the set's names, space-separated, in Names' order.
func (s Set) String() string {
	var out []string
	for i, n := range names {
		if s&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, " ")
}
