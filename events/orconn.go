package events

import (
	"maps"
	"slices"
	"strconv"
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
func appendORConnChanges(out []event, before, now map[uint64]connSeen) []event {
	for _, id := range slices.Sorted(maps.Keys(now)) {
		c := now[id]
		old, seen := before[id]
		switch {
		case !seen && c.inbound:
			out = append(out, orconn(c.target, "NEW", 0, id))
		case !seen:
			out = append(out, orconn(c.target, "LAUNCHED", 0, id))
		}
		if c.established && (!seen || !old.established) {
			out = append(out, orconn(c.target, "CONNECTED", 0, id))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if _, ok := now[id]; ok {
			continue
		}
		c := before[id]
		status := "FAILED"
		if c.established {
			status = "CLOSED"
		}
		out = append(out, orconn(c.target, status, c.circuits, id))
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
