package connstate_test

import (
	"fmt"
	"io"
	"net"
	"net/netip"

	"github.com/conninfo/conninfo/connstate"
)

// A relay registers a connection when it opens, keeps the handle on its
// socket path, and counts bytes on it.
func ExampleRegistry_Open() {
	reg := connstate.NewRegistry()
	conn, err := reg.Open(connstate.ConnConfig{
		Direction: connstate.Inbound,
		Usage:     connstate.UsageRelay,
		Network:   connstate.NetworkOutside, // not known to be a relay yet
		Remote:    netip.MustParseAddrPort("198.51.100.7:50312"),
		LocalPort: 9001,
	})
	if err != nil {
		panic(err)
	}
	conn.AddRead(514) // one cell
	conn.AddWritten(514)
	fmt.Println(conn.ID(), conn.Flags(), conn.Read())

	_ = conn.MarkEstablished()
	fmt.Println(conn.Flags())

	fmt.Println(conn.Close(), reg.Totals().RelayRead)
	// Output:
	// 1 iRt 514
	// IRt
	// <nil> 514
}

// A circuit binds its legs to connections; each leg counts that circuit's
// bytes on its connection.
func ExampleCircuit_BindInbound() {
	reg := connstate.NewRegistry()
	client, _ := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside, Established: true})
	fp, _ := connstate.ParseFingerprint("9695DFC35FFEB861329B9F1AB04C46397020CE31")
	relay, _ := reg.Open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkTor, Fingerprint: fp, Established: true})

	circ, _ := reg.OpenCircuit(connstate.CircuitConfig{})
	in, _ := circ.BindInbound(client)
	out, _ := circ.BindOutbound(relay)
	in.AddRead(509)
	out.AddWritten(509)

	for _, e := range reg.AppendEntries(nil) {
		fmt.Println(e.CircID, e.ConnID, e.Flags, e.Read, e.Written)
	}
	// Output:
	// 0 1 IRt 0 0
	// 0 2 ORT 0 0
	// 1 1 IRt 509 0
	// 1 2 ORT 0 509
}

func ExampleRegistry_LookupEntry() {
	reg := connstate.NewRegistry()
	conn, _ := reg.Open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageDirectory, Network: connstate.NetworkOutside})
	conn.AddRead(2048)
	e, ok := reg.LookupEntry(0, conn.ID())
	fmt.Println(ok, e.Flags, e.Read)
	_, ok = reg.LookupEntry(7, conn.ID())
	fmt.Println(ok)
	// Output:
	// true oDt 2048
	// false
}

func ExampleParseFlags() {
	f, err := connstate.ParseFlags("oRT")
	fmt.Println(f.Direction, f.Established, f.Usage, f.Network, err)
	// Output: outbound false relay tor <nil>
}

// A relay counts a connection's socket bytes by wrapping the raw
// connection before TLS, and registers it from the connection's own
// addresses.
func ExampleCountingConn() {
	reg := connstate.NewRegistry()
	raw, peer := net.Pipe() // in a relay: the accepted *net.TCPConn
	defer peer.Close()
	c, err := reg.Open(connstate.ConfigFor(raw, connstate.Inbound, connstate.UsageRelay))
	if err != nil {
		panic(err)
	}
	conn := connstate.CountingConn(raw, c) // then tls.Server(conn, config)
	go peer.Write([]byte("hello, relay"))
	buf := make([]byte, 12)
	n, _ := io.ReadFull(conn, buf)
	fmt.Println(n, c.Read())
	// Output: 12 12
}
