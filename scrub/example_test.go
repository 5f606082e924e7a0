package scrub_test

import (
	"fmt"
	"net/netip"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/consensus"
	"github.com/conninfo/conninfo/scrub"
)

func ExamplePublic() {
	// The host's consensus says which peers are public relays.
	c, err := consensus.LoadFile("../testdata/consensus/cached-consensus")
	if err != nil {
		fmt.Println(err)
		return
	}
	policy := scrub.Public(c)
	bastet, _ := connstate.ParseFingerprint("24E2F139121D4394C54B5BCC368B3B411857C413")
	relay := connstate.Entry{
		ConnID:      24,
		Fingerprint: bastet,
		Remote:      netip.MustParseAddrPort("204.13.164.118:38211"), // it connected to us from a source port
		LocalPort:   9001,
		Flags:       connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkTor},
		Read:        309627686,
		Written:     139878003,
		Uptime:      36055,
	}
	client := connstate.Entry{
		ConnID:    23,
		Remote:    netip.MustParseAddrPort("198.51.100.7:50312"),
		LocalPort: 9001,
		Flags:     connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside},
		Read:      4000,
		Written:   150000,
		Uptime:    42,
	}
	carriedLeg := client
	carriedLeg.CircID = 1000
	for _, e := range []connstate.Entry{relay, client, carriedLeg} {
		shown, ok := policy.Apply(e)
		if !ok {
			fmt.Println(e.ConnID, e.CircID, "not shown")
			continue
		}
		fmt.Println(shown.ConnID, shown.CircID, shown.Fingerprint, shown.Remote, shown.LocalPort, shown.Flags, shown.Read, shown.Written, shown.Uptime)
	}
	// Output:
	// 24 0 24E2F139121D4394C54B5BCC368B3B411857C413 204.13.164.118:443 9001 IRT 309592064 139984896 36050
	// 23 0 0 invalid AddrPort 0 IRt 0 262144 40
	// 23 1000 not shown
}

func ExampleTestNetwork() {
	client := connstate.Entry{
		ConnID:    23,
		CircID:    1000,
		Remote:    netip.MustParseAddrPort("198.51.100.7:50312"),
		LocalPort: 9001,
		Flags:     connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside},
		Read:      4000,
		Written:   1500,
		Uptime:    42,
	}
	shown, ok := scrub.TestNetwork().Apply(client)
	fmt.Println(ok, shown.Remote.IsValid(), shown.LocalPort, shown.Flags, shown.Read, shown.Written, shown.Uptime)
	// Output: true false 0 IRt 4096 1024 42
}

func ExampleUnscrubbed() {
	e := connstate.Entry{ConnID: 1, Remote: netip.MustParseAddrPort("198.51.100.7:50312"), Read: 4000}
	shown, _ := scrub.Unscrubbed().Apply(e)
	fmt.Println(shown.Remote, shown.Read)
	// Output: 198.51.100.7:50312 4000
}

func ExampleParseTier() {
	tier, err := scrub.ParseTier("testnet")
	fmt.Println(tier, err)
	_, err = scrub.ParseTier("full")
	fmt.Println(err)
	// Output:
	// testnet <nil>
	// scrub: unknown tier "full": want public, testnet or unscrubbed
}

func ExampleRoundHalfUp() {
	fmt.Println(scrub.RoundHalfUp(511, 1024), scrub.RoundHalfUp(512, 1024), scrub.RoundHalfUp(1535, 1024), scrub.RoundHalfUp(1536, 1024))
	// Output: 0 1024 1024 2048
}
