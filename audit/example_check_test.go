package audit_test

import (
	"fmt"
	"net/netip"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
)

// A relay's line and its process's sockets: the one socket no line
// reports is listed, since every line shows its endpoint.
func ExampleCheck() {
	lines := []connstate.Entry{{ConnID: 1, Remote: netip.MustParseAddrPort("203.0.113.7:50000"), LocalPort: 9001}}
	sockets := []audit.Socket{
		{Local: netip.MustParseAddrPort("198.51.100.1:9001"), Remote: netip.MustParseAddrPort("203.0.113.7:50000")},
		{Local: netip.MustParseAddrPort("198.51.100.1:41000"), Remote: netip.MustParseAddrPort("192.0.2.9:443")},
	}
	r := audit.Check(lines, sockets, 0)
	fmt.Println(r.OK(), r.Lines, r.Sockets, r.Unreported[0].Remote)
	// Output: false 1 2 192.0.2.9:443
}
