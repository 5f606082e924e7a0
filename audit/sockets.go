package audit

import (
	"net/netip"
	"slices"

	"github.com/conninfo/conninfo/connstate"
)

// Socket is one TCP socket of the relay's process, as the operating
// system reports it (package verify reads them).
type Socket struct {
	Local  netip.AddrPort
	Remote netip.AddrPort
	Status string // ESTABLISHED, SYN_SENT, ...
}

// Report is what [Check] found.
type Report struct {
	// Lines is how many connection lines conn/all shows (CIRC_ID 0);
	// Shown how many of them show their peer and
	// local port, which can be matched with a socket one by one.
	Lines, Shown int
	// Sockets is how many connections the process's sockets make: a link
	// of the process to itself (both ends its sockets, as relaysim's are)
	// counts once.
	Sockets int
	// Dead are the shown lines with no live socket.
	Dead []connstate.Entry
	// Excess is how many connections the sockets make beyond what the
	// lines can account for, and Unreported their sockets (one a
	// connection), when Excess is over Tolerance. They are listed only
	// where every line shows its endpoint (the unscrubbed tier); otherwise
	// a line that hides its peer could be any of them, and only the count
	// says something.
	Unreported []Socket
	Excess     int
	Tolerance  int
}

// OK reports whether the lines and the sockets agree within Tolerance.
func (r Report) OK() bool { return len(r.Dead) <= r.Tolerance && r.Excess <= r.Tolerance }

// Stable returns the sockets found in both readings, a and b: those that
// lived across what was read between them (conn/all), not the ones that
// came or went meanwhile.
func Stable(a, b []Socket) []Socket {
	in := map[Socket]bool{}
	for _, s := range b {
		in[s] = true
	}
	var out []Socket
	for _, s := range a {
		if in[s] {
			out = append(out, s)
		}
	}
	return out
}

// DefaultTolerance, as Check's tolerance, asks for its default: 2 where
// every line shows its endpoint (a live conn/all, read between two
// readings of the sockets), else a tenth of the lines and at least 5 (the
// public tier's conn/all can be an epoch old).
const DefaultTolerance = -1

// Check compares a relay's conn/all with its process's sockets. Every
// shown endpoint must be a live socket of the process (a line showing a
// relay's published ORPort matches a socket from that relay's address on
// the same local port); the sockets must
// make no more connections than there are lines, within tolerance (the
// churn between the two readings, or of one epoch in the public tier).
func Check(entries []connstate.Entry, sockets []Socket, tolerance int) Report {
	var r Report
	type key struct{ local, remote netip.AddrPort }
	byKey := map[key]int{}
	for i, s := range sockets {
		byKey[key{s.Local, s.Remote}] = i
	}
	// A connection of the process to itself has both ends among its
	// sockets: its unit is the pair.
	unit := make([]int, len(sockets))
	for i := range unit {
		unit[i] = i
	}
	for i, s := range sockets {
		if j, ok := byKey[key{s.Remote, s.Local}]; ok && j != i {
			unit[i] = min(i, j)
		}
	}
	// The sockets by local port and peer address: a line's candidates.
	type peer struct {
		lport uint16
		addr  netip.Addr
	}
	candidates := map[peer][]int{}
	for i, s := range sockets {
		p := peer{s.Local.Port(), s.Remote.Addr()}
		candidates[p] = append(candidates[p], i)
	}
	matched := map[int]bool{}
	for _, e := range entries {
		if e.CircID != 0 {
			continue
		}
		r.Lines++
		if !e.Remote.IsValid() || e.LocalPort == 0 {
			continue
		}
		r.Shown++
		// The socket with this peer and local port; or, since the public
		// tier shows a relay's published ORPort rather than the port an
		// inbound connection came from, one with the peer's address.
		found := -1
		for _, i := range candidates[peer{e.LocalPort, e.Remote.Addr()}] {
			if matched[unit[i]] {
				continue
			}
			if sockets[i].Remote.Port() == e.Remote.Port() {
				found = i
				break
			}
			if found < 0 {
				found = i
			}
		}
		if found < 0 {
			r.Dead = append(r.Dead, e)
			continue
		}
		matched[unit[found]] = true
	}
	units := map[int]bool{}
	for i := range sockets {
		units[unit[i]] = true
	}
	r.Sockets = len(units)
	var unmatched []int
	for u := range units {
		if !matched[u] {
			unmatched = append(unmatched, u)
		}
	}
	slices.Sort(unmatched)
	if tolerance < 0 {
		tolerance = max(5, r.Lines/10)
		if r.Shown == r.Lines {
			tolerance = 2
		}
	}
	r.Tolerance = tolerance
	hidden := r.Lines - r.Shown // lines that could be any unmatched socket
	r.Excess = max(len(unmatched)-hidden, 0)
	if r.Excess > tolerance {
		if hidden == 0 {
			for _, u := range unmatched {
				r.Unreported = append(r.Unreported, sockets[u])
			}
		}
	}
	return r
}
