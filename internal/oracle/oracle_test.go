package oracle_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/internal/oracle"
	"github.com/conninfo/conninfo/scrub"
)

// The oracle's own expectations, as literal lines from README.md's examples.
func TestLines(t *testing.T) {
	fp, err := connstate.ParseFingerprint("9695DFC35FFEB861329B9F1AB04C46397020CE31")
	if err != nil {
		t.Fatal(err)
	}
	relay := connstate.Entry{ConnID: 17, Fingerprint: fp, Remote: netip.MustParseAddrPort("128.31.0.34:9101"), LocalPort: 51622,
		Flags: connstate.Flags{Direction: connstate.Outbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkTor},
		Read:  1048576, Written: 524288, Uptime: 3600}
	client := connstate.Entry{ConnID: 23, Remote: netip.MustParseAddrPort("[2001:db8::7]:50312"), LocalPort: 9001,
		Flags: connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside},
		Read:  4000, Written: 1000, Uptime: 42}
	leg := relay
	leg.CircID, leg.Read, leg.Written = 1041, 1536, 2560
	assert.Equal(t, "17 0 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 51622 ORT 1048576 524288 3600\n"+
		"23 0 0 0 0 IRt 4096 1024 42\n"+
		"17 1041 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 51622 ORT 2048 3072 3600",
		oracle.TestNetworkLines([]connstate.Entry{relay, client, leg}))
	listed := oracle.Listed{fp: {netip.MustParseAddrPort("128.31.0.34:9101")}}
	origin := leg
	origin.CircID, origin.Origin = 1042, true
	// Under the keys (0, 0): 17 -> 1918893424303825, 23 -> 2057966647301277,
	// circuit 1042 -> 349328337847546; sorted by those.
	assert.Equal(t, "1918893424303825 0 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 0 ORT 1048576 524288 3600\n"+
		"2057966647301277 0 0 0 0 IRt 0 0 40\n"+
		"1918893424303825 349328337847546 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 0 ORT 0 0 3600",
		oracle.PublicLines([]connstate.Entry{relay, client, leg, origin}, listed, 10, 0), "the carried leg is not shown")
	assert.Equal(t, "1918893424303825 0 0 0 0 ORT 1048576 524288 3600", oracle.PublicLines([]connstate.Entry{relay}, nil, 10, 0), "not listed")
	for seed := range uint64(20) {
		v, _ := oracle.PublicView(client, listed, 10, seed)
		assert.Contains(t, []uint64{0, oracle.PublicRound}, v.Read, "4000 bytes: 0 or 256 KiB, as the seed draws")
	}
	assert.Equal(t, "23 0 0 [2001:db8::7]:50312 9001 IRt 4000 1000 42", oracle.Line(client), "raw")
}

func ExampleTestNetworkLines() {
	e := connstate.Entry{ConnID: 5, Remote: netip.MustParseAddrPort("198.51.100.7:443"), LocalPort: 9001,
		Flags: connstate.Flags{Direction: connstate.Inbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside},
		Read:  511, Written: 512}
	fmt.Println(oracle.TestNetworkLines([]connstate.Entry{e}))
	// Output: 5 0 0 0 0 iCt 0 1024 0
}

// The oracle's restatement of the pseudonyms and scrub's implementation
// are written apart: they must agree.
func TestPseudonymMatchesScrub(t *testing.T) {
	for _, keys := range [][2]uint64{{0, 0}, {1, 2}, {0x5eed, 0x5eed}, {^uint64(0), 7}} {
		p := scrub.NewPseudonyms(keys[0], keys[1])
		for id := uint64(0); id < 20000; id++ {
			if got, want := p.Conn(id), oracle.Pseudonym(keys[0], keys[1], id); got != want {
				t.Fatalf("keys %v, connection %d: scrub %d, oracle %d", keys, id, got, want)
			}
			if got, want := p.Circ(id), oracle.CircuitPseudonym(keys[0], keys[1], id); got != want {
				t.Fatalf("keys %v, circuit %d: scrub %d, oracle %d", keys, id, got, want)
			}
		}
	}
}
