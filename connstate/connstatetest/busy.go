package connstatetest

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// BusyRelay generates the fixture of a busy relay with conns connections
// and twice as many circuits, reproducibly from seed: the same arguments
// always give the same fixture. It has about 5×conns entry lines: every
// connection's own line and two legs per circuit.
//
// The mix: two thirds inbound connections from clients ('IRt', some still
// in their handshake as 'iRt'), a quarter relay peers with fingerprints
// ('ORT', 'IRT', a few 'oRt' being attempted), and the rest exit streams
// ('ORt'), directory requests ('IDt') and one controller ('IXt' on
// loopback). Addresses are drawn from 198.18.0.0/15 and 2001:db8::/32,
// ranges reserved for tests; nothing ever connects to them.
//
// Nine relay peers in ten are listed as public relays at their address
// (an outbound one at the port it was dialled on, an inbound one at 443),
// the tenth not, as a bridge or an unlisted relay would be; one circuit in
// fifty is an origin circuit, built by the relay itself.
func BusyRelay(seed uint64, conns int) *Fixture {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f := &Fixture{Conns: make([]Conn, 0, conns)}
	var clients, relays, exits []uint64

	for i := range conns {
		c := Conn{
			ID:      uint64(i + 1),
			Read:    rng.Uint64N(1 << 30),
			Written: rng.Uint64N(1 << 30),
			Age:     time.Duration(rng.IntN(86400)) * time.Second,
			Remote:  randomAddrPort(rng),
		}
		in := connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside}
		switch p := rng.IntN(100); {
		case i == 0:
			c.Flags = connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageControl, Network: connstate.NetworkOutside}
			c.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(40000+rng.IntN(20000)))
			c.LocalPort = 9051
		case p < 64:
			c.Flags = in
			c.Flags.Established = p >= 4
			c.LocalPort = 9001
			clients = append(clients, c.ID)
		case p < 89:
			c.Flags = connstate.Flags{Direction: connstate.Outbound, Established: p >= 66, Usage: connstate.UsageRelay, Network: connstate.NetworkTor}
			if p >= 80 {
				c.Flags.Direction = connstate.Inbound
				c.LocalPort = 9001
			} else {
				c.LocalPort = uint16(32768 + rng.IntN(28000))
			}
			if c.Flags.Established {
				for j := range c.Fingerprint {
					c.Fingerprint[j] = byte(rng.Uint32())
				}
				relays = append(relays, c.ID)
				if len(relays)%10 != 0 {
					published := c.Remote
					if c.Flags.Direction == connstate.Inbound {
						published = netip.AddrPortFrom(c.Remote.Addr(), 443)
					}
					f.Listed = append(f.Listed, Listing{Fingerprint: c.Fingerprint, ORPorts: []netip.AddrPort{published}})
				}
			} else {
				c.Flags.Network = connstate.NetworkOutside
			}
		case p < 97:
			c.Flags = connstate.Flags{Direction: connstate.Outbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside}
			c.LocalPort = uint16(32768 + rng.IntN(28000))
			exits = append(exits, c.ID)
		default:
			c.Flags = in
			c.Flags.Usage = connstate.UsageDirectory
			c.LocalPort = 9030
		}
		f.Conns = append(f.Conns, c)
	}

	if len(relays) == 0 {
		return f
	}
	pick := func(ids []uint64) uint64 { return ids[rng.IntN(len(ids))] }
	for i := range 2 * conns {
		circ := Circuit{ID: uint64(i + 1), Origin: i%50 == 0}
		in := pick(relays)
		if len(clients) > 0 && rng.IntN(3) > 0 {
			in = pick(clients)
		}
		circ.Legs = append(circ.Legs, randomLeg(rng, connstate.RoleInbound, in))
		if len(exits) > 0 && rng.IntN(10) == 0 {
			circ.Legs = append(circ.Legs, randomLeg(rng, connstate.RoleExit, pick(exits)))
		} else if out := pick(relays); out != in {
			circ.Legs = append(circ.Legs, randomLeg(rng, connstate.RoleOutbound, out))
		}
		f.Circuits = append(f.Circuits, circ)
	}
	return f
}

func randomLeg(rng *rand.Rand, role connstate.Role, conn uint64) Leg {
	return Leg{Role: role, ConnID: conn, Read: rng.Uint64N(1 << 24), Written: rng.Uint64N(1 << 24)}
}

func randomAddrPort(rng *rand.Rand) netip.AddrPort {
	port := uint16(1 + rng.IntN(65535))
	if rng.IntN(5) == 0 {
		var a [16]byte
		a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
		for i := 4; i < 16; i++ {
			a[i] = byte(rng.Uint32())
		}
		return netip.AddrPortFrom(netip.AddrFrom16(a), port)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18 + byte(rng.IntN(2)), byte(rng.Uint32()), byte(rng.Uint32())}), port)
}
