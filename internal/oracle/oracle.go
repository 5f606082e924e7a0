package oracle

import (
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/conninfo/conninfo/connstate"
)

// TestNetworkRound is the multiple the test-network tier rounds bytes
// to, halves up; PublicRound the public tier's.
const (
	TestNetworkRound = 1024
	PublicRound      = 256 * 1024
)

// Shown reports whether the test-network tier shows a line's IP:PORT and
// L_PORT: a peer that is a Tor relay with a known fingerprint, or a
// control connection.
func Shown(e connstate.Entry) bool {
	relay := e.Flags.Network == connstate.NetworkTor && e.Fingerprint != connstate.Fingerprint{}
	return relay || e.Flags.Usage == connstate.UsageControl
}

// TestNetworkView is what the test-network tier shows of a raw entry: no
// OR_ID unless the network is T; no IP:PORT or L_PORT unless Shown; READ
// and WRITE rounded on every line that is not Shown and on every leg.
func TestNetworkView(e connstate.Entry) connstate.Entry {
	if e.Flags.Network != connstate.NetworkTor {
		e.Fingerprint = connstate.Fingerprint{}
	}
	shown := Shown(e)
	if !shown {
		e.Remote, e.LocalPort = netip.AddrPort{}, 0
	}
	if !shown || e.CircID != 0 {
		e.Read, e.Written = RoundHalfUp(e.Read, TestNetworkRound), RoundHalfUp(e.Written, TestNetworkRound)
	}
	e.Origin = false // not a field of the line
	return e
}

// Listed is a consensus as the public tier consults it: each public
// relay's fingerprint and the ORPorts it publishes.
type Listed map[connstate.Fingerprint][]netip.AddrPort

// PublicView is what the public tier shows of a raw entry, with epochs of
// epochSeconds and the view's dithering seed, and false for a line it does
// not show: the leg of a
// circuit the relay carries for others. OR_ID and IP:PORT only for a T
// peer that listed has, when the connection's address is one of that
// relay's published ones, shown with the published port; L_PORT only
// with it on an inbound connection; every count rounded to PublicRound;
// UPTIME rounded down to whole epochs.
func PublicView(e connstate.Entry, listed Listed, epochSeconds, seed uint64) (connstate.Entry, bool) {
	if e.CircID != 0 && !e.Origin {
		return connstate.Entry{}, false
	}
	ports, isListed := listed[e.Fingerprint]
	if e.Flags.Network != connstate.NetworkTor || e.Fingerprint == (connstate.Fingerprint{}) {
		isListed = false
	}
	var published netip.AddrPort
	for _, ap := range ports {
		if isListed && e.Remote.IsValid() && ap.Addr() == e.Remote.Addr().Unmap() {
			published = ap
		}
	}
	if !published.IsValid() {
		e.Fingerprint = connstate.Fingerprint{}
	}
	inbound := e.Flags.Direction == connstate.Inbound
	if !published.IsValid() || !inbound {
		e.LocalPort = 0
	}
	e.Remote = published
	e.Read = Dither(e.Read, seed, e.ConnID, e.CircID, 1)
	e.Written = Dither(e.Written, seed, e.ConnID, e.CircID, 2)
	e.Uptime = e.Uptime / epochSeconds * epochSeconds
	e.Origin = false // not a field of the line
	return e, true
}

// Dither rounds n down to a multiple of PublicRound after adding the
// offset that the view's seed draws for field (1 READ, 2 WRITE) of line
// (conn, circ): the SplitMix64 finalizer of the seed mixed with the
// line's identity, modulo PublicRound.
func Dither(n, seed, conn, circ, field uint64) uint64 {
	x := splitmix(seed ^ conn*0x9E3779B97F4A7C15 ^ circ*0xC2B2AE3D27D4EB4F ^ field*0x165667B19E3779F9)
	sum := n + x%PublicRound
	if sum < n {
		return ^uint64(0) / PublicRound * PublicRound
	}
	return sum / PublicRound * PublicRound
}

// RoundHalfUp rounds n to the nearest multiple of m, halves up; near
// 2^64 it stays at the largest multiple that fits.
func RoundHalfUp(n, m uint64) uint64 {
	down := n / m * m
	if n-down < m/2 || down > ^uint64(0)-m {
		return down
	}
	return down + m
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

// TestNetworkLines is conn/all's value for raw entries, in the order
// given, under the test-network tier: each entry's TestNetworkView spelt by
// Line, joined by "\n".
func TestNetworkLines(entries []connstate.Entry) string {
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = Line(TestNetworkView(e))
	}
	return strings.Join(lines, "\n")
}

// PublicLines is conn/all's value for raw entries under the public tier,
// in a view whose secrets Seeds always drew as seed: the PublicView of
// each entry it shows, its CONN_ID and CIRC_ID replaced by their
// Pseudonym under the keys (seed, seed), sorted by them, spelt by Line,
// joined by "\n".
func PublicLines(entries []connstate.Entry, listed Listed, epochSeconds, seed uint64) string {
	var shown []connstate.Entry
	for _, e := range entries {
		if v, ok := PublicView(e, listed, epochSeconds, seed); ok {
			v.ConnID, v.CircID = Pseudonym(seed, seed, v.ConnID), CircuitPseudonym(seed, seed, v.CircID)
			shown = append(shown, v)
		}
	}
	sort.Slice(shown, func(i, j int) bool {
		a, b := shown[i], shown[j]
		return a.CircID < b.CircID || a.CircID == b.CircID && a.ConnID < b.ConnID
	})
	lines := make([]string, len(shown))
	for i, e := range shown {
		lines[i] = Line(e)
	}
	return strings.Join(lines, "\n")
}

// Pseudonym is the CONN_ID the public tier shows for connection id under
// the keys k0, k1. For an id below 2^52: four Feistel rounds over its two
// 26-bit halves, each round key the SplitMix64 finalizer of k0 mixed with
// the round and with the finalizer of k1 plus the round, the round
// function the low 26 bits of the finalizer of the right half mixed with
// the round key; repeated while the result is 0, so that it is at most 16
// digits. For a larger id: the same rounds over 32-bit halves, repeated
// while the result is below 2^52. 0 itself stays 0.
func Pseudonym(k0, k1, id uint64) uint64 {
	return feistel(roundKeys(k0, k1), id)
}

// CircuitPseudonym is the CIRC_ID shown for circuit id: the same rounds,
// each key the finalizer of the connection's round key mixed with
// 0xC1C5C1C5C1C5C1C5.
func CircuitPseudonym(k0, k1, id uint64) uint64 {
	keys := roundKeys(k0, k1)
	for i := range keys {
		keys[i] = splitmix(keys[i] ^ 0xC1C5C1C5C1C5C1C5)
	}
	return feistel(keys, id)
}

func roundKeys(k0, k1 uint64) [4]uint64 {
	var keys [4]uint64
	for i := range keys {
		keys[i] = splitmix(k0 ^ uint64(i)*0x9E3779B97F4A7C15 ^ splitmix(k1+uint64(i)))
	}
	return keys
}

func feistel(keys [4]uint64, id uint64) uint64 {
	const short = uint64(1) << 52
	if id == 0 {
		return 0
	}
	bits := uint(32)
	if id < short {
		bits = 26
	}
	low := func(x uint64) uint64 { return x % (uint64(1) << bits) }
	for {
		l, r := id>>bits, low(id)
		for _, k := range keys {
			l, r = r, low(l^splitmix(r^k))
		}
		id = l<<bits + r
		if bits == 26 && id != 0 || bits == 32 && id >= short {
			return id
		}
	}
}

// splitmix is the SplitMix64 finalizer.
func splitmix(x uint64) uint64 {
	x = (x ^ x>>30) * 0xBF58476D1CE4E5B9
	x = (x ^ x>>27) * 0x94D049BB133111EB
	return x ^ x>>31
}
