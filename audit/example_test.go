package audit_test

import (
	"fmt"
	"net/netip"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
)

// A non-exit relay with a stream to the outside: a finding that names the
// connection by its ID, never its peer.
func Example() {
	stream := connstate.Entry{ConnID: 7, Remote: netip.MustParseAddrPort("192.0.2.80:443"), Uptime: 30,
		Flags: connstate.Flags{Direction: connstate.Outbound, Established: true, Usage: connstate.UsageClient, Network: connstate.NetworkOutside}}
	for _, f := range audit.New(audit.Config{}).Audit(audit.State{Entries: []connstate.Entry{stream}}) {
		fmt.Println(f.Line())
	}
	// Output: non-exit-streams critical 7 - 1 outbound connection(s) outside the Tor network on a relay that is not an exit
}
