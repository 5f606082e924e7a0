package entrytest

import (
	"net/netip"

	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/connstate"
)

// Entry draws any entry with valid flags: IDs, ports and counts over their
// whole range, a fingerprint or none, and no address, an IPv4 one, an IPv6
// one (IPv4-mapped ones included) or an IPv6 one with a zone.
func Entry() *rapid.Generator[connstate.Entry] {
	return rapid.Custom(func(t *rapid.T) connstate.Entry {
		e := connstate.Entry{
			ConnID:    rapid.Uint64Min(1).Draw(t, "conn"),
			CircID:    rapid.Uint64().Draw(t, "circ"),
			LocalPort: rapid.Uint16().Draw(t, "lport"),
			Read:      rapid.Uint64().Draw(t, "read"),
			Written:   rapid.Uint64().Draw(t, "written"),
			Uptime:    rapid.Uint64().Draw(t, "uptime"),
			Flags: connstate.Flags{
				Direction:   rapid.SampledFrom([]connstate.Direction{connstate.Inbound, connstate.Outbound}).Draw(t, "dir"),
				Established: rapid.Bool().Draw(t, "est"),
				Usage:       connstate.Usage(rapid.IntRange(1, 5).Draw(t, "usage")),
				Network:     rapid.SampledFrom([]connstate.Network{connstate.NetworkTor, connstate.NetworkOutside}).Draw(t, "net"),
			},
		}
		if rapid.Bool().Draw(t, "hasFP") {
			copy(e.Fingerprint[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "fp"))
		}
		port := rapid.Uint16().Draw(t, "port")
		switch rapid.IntRange(0, 3).Draw(t, "family") {
		case 1:
			e.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "v4"))), port)
		case 2:
			e.Remote = netip.AddrPortFrom(netip.AddrFrom16([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "v6"))), port)
		case 3:
			e.Remote = netip.AddrPortFrom(netip.AddrFrom16([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "v6z"))).WithZone("eth0"), port)
		}
		return e
	})
}
