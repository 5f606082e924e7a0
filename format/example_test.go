package format_test

import (
	"fmt"
	"net/netip"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
)

func ExampleAppendEntry() {
	fp, _ := connstate.ParseFingerprint("9695DFC35FFEB861329B9F1AB04C46397020CE31")
	e := connstate.Entry{
		ConnID:      17,
		Fingerprint: fp,
		Remote:      netip.MustParseAddrPort("128.31.0.34:9101"),
		LocalPort:   51622,
		Flags:       connstate.Flags{Direction: connstate.Outbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkTor},
		Read:        1048576,
		Written:     524288,
		Uptime:      3600,
	}
	fmt.Println(string(format.AppendEntry(nil, &e)))
	// Output: 17 0 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 51622 ORT 1048576 524288 3600
}

func ExampleParse() {
	e, err := format.Parse("23 1041 0 0 0 IRt 3072 1024 42 FUTURE-FIELD")
	if err != nil {
		panic(err)
	}
	fmt.Println(e.ConnID, e.CircID, e.Flags, e.Flags.Established, e.Read, e.Uptime)
	// Output: 23 1041 IRt true 3072 42
}

// AppendAll takes what a registry's Entries yields: here, a circuit's leg
// and the line of its connection. (Scrub them first: see package scrub.)
func ExampleAppendAll() {
	reg := connstate.NewRegistry()
	c, _ := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside, Established: true})
	circ, _ := reg.OpenCircuit(connstate.CircuitConfig{})
	leg, _ := circ.BindInbound(c)
	c.AddRead(4096)
	leg.AddRead(3072)
	fmt.Printf("%s\n", format.AppendAll(nil, reg.Entries()))
	// Output:
	// 1 0 0 0 0 IRt 4096 0 0
	// 1 1 0 0 0 IRt 3072 0 0
}
