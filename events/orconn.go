package events

import (
	"maps"
	"slices"
	"strconv"

	"github.com/conninfo/conninfo/getinfo"
)

// appendORConnChanges appends the ORCONN events that take the OR
// connections of one view, before, to those of the next, now, in order of
// CONN_ID: tor's statuses for each step a connection is seen to take.
//
//   - first seen: NEW if inbound, LAUNCHED if outbound; and CONNECTED at
//     once if it is already established;
//   - established since the last view: CONNECTED;
//   - gone: CLOSED if it was established, FAILED if not, with NCIRCS, the
//     circuits its legs in the last view showed, when there were any.
//
// There is no REASON: no view says why a connection closed.
func appendORConnChanges(out []event, before, now map[uint64]getinfo.ORConn) []event {
	for _, id := range slices.Sorted(maps.Keys(now)) {
		c := now[id]
		old, seen := before[id]
		switch {
		case !seen && c.Inbound:
			out = append(out, orconn(c.Target, "NEW", 0, id))
		case !seen:
			out = append(out, orconn(c.Target, "LAUNCHED", 0, id))
		}
		if c.Established && (!seen || !old.Established) {
			out = append(out, orconn(c.Target, "CONNECTED", 0, id))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if _, ok := now[id]; ok {
			continue
		}
		c := before[id]
		status := "FAILED"
		if c.Established {
			status = "CLOSED"
		}
		out = append(out, orconn(c.Target, status, c.Circuits, id))
	}
	return out
}

// orconn formats one ORCONN event as tor does:
// "650 ORCONN target status [NCIRCS=n] ID=id".
func orconn(target, status string, ncircs int, id uint64) event {
	line := "650 ORCONN " + target + " " + status
	if ncircs > 0 {
		line += " NCIRCS=" + strconv.Itoa(ncircs)
	}
	return event{ORCONN, line + " ID=" + strconv.FormatUint(id, 10)}
}

// appendCircChanges appends the CIRC events that take the relay's own
// circuits of one view, before, to those of the next, now, in order of
// CIRC_ID: LAUNCHED when first seen (and BUILT at once if it is built
// already), BUILT once built, and when gone CLOSED if it was built or
// FAILED if not, with REASON=NONE, tor's word when no reason is known.
func appendCircChanges(out []event, before, now map[uint64]getinfo.ShownCircuit, names getinfo.Nicknames) []event {
	for _, id := range slices.Sorted(maps.Keys(now)) {
		c := now[id]
		old, seen := before[id]
		if !seen {
			launched := c
			launched.Built = false
			out = append(out, circ(launched, "", names))
		}
		if c.Built && (!seen || !old.Built) {
			out = append(out, circ(c, "", names))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if _, ok := now[id]; ok {
			continue
		}
		c := before[id]
		status := "FAILED"
		if c.Built {
			status = "CLOSED"
		}
		out = append(out, circ(c, status, names))
	}
	return out
}

// circ formats one CIRC event, "650 CIRC " and the circuit as
// circuit-status shows it, with status replacing its own when given, and
// then REASON=NONE.
func circ(c getinfo.ShownCircuit, status string, names getinfo.Nicknames) event {
	line := getinfo.AppendCircuit([]byte("650 CIRC "), c, status, names)
	if status != "" {
		line = append(line, " REASON=NONE"...)
	}
	return event{CIRC, string(line)}
}
