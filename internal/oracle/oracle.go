package oracle

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"

	"github.com/conninfo/conninfo/connstate"
)

// Round is the multiple the default policy rounds bytes to, halves up.
const Round = 1024

// Shown reports whether the default policy shows a line's IP:PORT and
// L_PORT: a peer that is a Tor relay with a known fingerprint, or a
// control connection.
func Shown(e connstate.Entry) bool {
	relay := e.Flags.Network == connstate.NetworkTor && e.Fingerprint != connstate.Fingerprint{}
	return relay || e.Flags.Usage == connstate.UsageControl
}

// DefaultView is what the default policy shows of a raw entry: no OR_ID
// unless the network is T; no IP:PORT or L_PORT unless Shown; READ and
// WRITE rounded on every line that is not Shown and on every circuit leg.
func DefaultView(e connstate.Entry) connstate.Entry {
	if e.Flags.Network != connstate.NetworkTor {
		e.Fingerprint = connstate.Fingerprint{}
	}
	shown := Shown(e)
	if !shown {
		e.Remote, e.LocalPort = netip.AddrPort{}, 0
	}
	if !shown || e.CircID != 0 {
		e.Read, e.Written = RoundHalfUp(e.Read), RoundHalfUp(e.Written)
	}
	return e
}

// RoundHalfUp rounds n to the nearest multiple of Round, halves up; near
// 2^64 it stays at the largest multiple that fits.
func RoundHalfUp(n uint64) uint64 {
	down := n / Round * Round
	if n-down < Round/2 || down > ^uint64(0)-Round {
		return down
	}
	return down + Round
}

// Line spells an entry as the wire format does: CONN_ID CIRC_ID OR_ID
// IP:PORT L_PORT TYPE_FLAGS READ WRITE UPTIME.
func Line(e connstate.Entry) string {
	fp := "0"
	if e.Fingerprint != (connstate.Fingerprint{}) {
		fp = strings.ToUpper(hex.EncodeToString(e.Fingerprint[:]))
	}
	addr := "0"
	if e.Remote.IsValid() {
		addr = netip.AddrPortFrom(e.Remote.Addr().Unmap(), e.Remote.Port()).String() // RFC 5952, IPv6 in brackets
	}
	dir := map[connstate.Direction]string{connstate.Inbound: "i", connstate.Outbound: "o"}[e.Flags.Direction]
	if e.Flags.Established {
		dir = strings.ToUpper(dir)
	}
	usage := map[connstate.Usage]string{
		connstate.UsageClient: "C", connstate.UsageRelay: "R", connstate.UsageControl: "X",
		connstate.UsageHiddenService: "H", connstate.UsageDirectory: "D",
	}[e.Flags.Usage]
	network := map[connstate.Network]string{connstate.NetworkTor: "T", connstate.NetworkOutside: "t"}[e.Flags.Network]
	return fmt.Sprintf("%d %d %s %s %d %s%s%s %d %d %d", e.ConnID, e.CircID, fp, addr, e.LocalPort,
		dir, usage, network, e.Read, e.Written, e.Uptime)
}

// DefaultLines is conn/all's value for raw entries, in the order given,
// under the default policy: each entry's DefaultView spelt by Line, joined
// by "\n".
func DefaultLines(entries []connstate.Entry) string {
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = Line(DefaultView(e))
	}
	return strings.Join(lines, "\n")
}
