package format_test

import (
	"fmt"
	"net/netip"
	"os"

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

func ExampleWriteAll() {
	entries := []connstate.Entry{
		{ConnID: 23, Flags: connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside}, Read: 4096, Written: 1024, Uptime: 42},
		{ConnID: 23, CircID: 1041, Flags: connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside}, Read: 3072, Written: 1024, Uptime: 42},
	}
	if _, err := format.WriteAll(os.Stdout, entries); err != nil {
		panic(err)
	}
	fmt.Println()
	// Output:
	// 23 0 0 0 0 IRt 4096 1024 42
	// 23 1041 0 0 0 IRt 3072 1024 42
}
