package scrub_test

import (
	"fmt"
	"net/netip"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/scrub"
)

func ExamplePolicy_Apply() {
	client := connstate.Entry{
		ConnID:    23,
		Remote:    netip.MustParseAddrPort("198.51.100.7:50312"),
		LocalPort: 9001,
		Flags:     connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside},
		Read:      4000,
		Written:   1500,
		Uptime:    42,
	}
	shown := scrub.Default().Apply(client)
	fmt.Println(shown.Remote.IsValid(), shown.LocalPort, shown.Flags, shown.Read, shown.Written, shown.Uptime)
	// Output: false 0 IRt 4096 1024 42
}

func ExampleUnscrubbed() {
	e := connstate.Entry{ConnID: 1, Remote: netip.MustParseAddrPort("198.51.100.7:50312"), Read: 4000}
	fmt.Println(scrub.Unscrubbed().Apply(e).Remote, scrub.Unscrubbed().Apply(e).Read)
	// Output: 198.51.100.7:50312 4000
}

func ExampleRoundHalfUp() {
	fmt.Println(scrub.RoundHalfUp(511, 1024), scrub.RoundHalfUp(512, 1024), scrub.RoundHalfUp(1535, 1024), scrub.RoundHalfUp(1536, 1024))
	// Output: 0 1024 1024 2048
}
