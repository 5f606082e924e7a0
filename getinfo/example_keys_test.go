package getinfo_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
)

// A relay mounts the relay keys with its configured limits; unset sources
// leave their keys unregistered.
func ExampleRelay() {
	m := getinfo.NewMux()
	(&getinfo.Relay{
		Bandwidth: func() getinfo.Bandwidth { return getinfo.Bandwidth{Rate: 5 << 20, RelayRate: 2 << 20} },
	}).Register(m)

	for _, key := range []string{"info/relay/bw-limit", "relay/bw-limit", "info/relay/burst-limit"} {
		v, err := m.Answer(nil, key)
		fmt.Printf("%s=%s %v\n", key, v, err)
	}
	// Output:
	// info/relay/bw-limit=2097152 <nil>
	// relay/bw-limit=2097152 <nil>
	// info/relay/burst-limit=0 <nil>
}

// The totals are Conns' keys, answered under its policy: in the public
// tier, rounded to 256 KiB and fixed for the epoch.
func ExampleConns_totals() {
	clock := connstatetest.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	reg := connstate.NewRegistry(connstate.WithClock(clock))
	conn, _ := reg.Open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("203.0.113.5:443")})
	conn.AddRead(1 << 20)

	m := getinfo.NewMux()
	(&getinfo.Conns{Totals: reg.Totals, Clock: clock}).Register(m) // with no Source, the epochs' clock is given
	show := func() {
		read, _ := m.Answer(nil, "info/relay/read-total")
		traffic, _ := m.Answer(nil, "traffic/read")
		fmt.Printf("info/relay/read-total=%s traffic/read=%s\n", read, traffic)
	}
	show()
	conn.AddRead(262144)
	show() // the same epoch: the same answer
	clock.Advance(10 * time.Second)
	show() // the next one: 5 x 256 KiB (counts between multiples are rounded with an offset drawn each epoch)
	// Output:
	// info/relay/read-total=1048576 traffic/read=1048576
	// info/relay/read-total=1048576 traffic/read=1048576
	// info/relay/read-total=1310720 traffic/read=1310720
}

// The host reports a SIGHUP or RELOAD with Reset; a fake clock makes the
// uptimes predictable.
func ExampleProcess() {
	clock := connstatetest.NewClock(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	p := &getinfo.Process{Clock: clock}
	m := getinfo.NewMux()
	p.Register(m)

	clock.Advance(time.Hour)
	p.Reset()
	clock.Advance(90 * time.Second)

	for _, key := range []string{"info/uptime-process", "uptime", "info/uptime-reset"} {
		v, _ := m.Answer(nil, key)
		fmt.Printf("%s=%s\n", key, v)
	}
	// Output:
	// info/uptime-process=3690
	// uptime=3690
	// info/uptime-reset=90
}

func ExampleInfoNames() {
	m := getinfo.NewMux()
	(&getinfo.InfoNames{}).Register(m)
	(&getinfo.Conns{Source: connstate.NewRegistry()}).Register(m)
	v, _ := m.Answer(nil, "info/names")
	fmt.Println(string(v))
	// Output:
	// conn/* -- One entry line by circuit and connection ID: conn/<circ>/<conn>, circ 0 for the connection itself.
	// conn/all -- Every connection and circuit leg that the privacy tier shows, one entry line each.
	// info/names -- Every GETINFO key answered here, one per line with its description; prefixes end in *.
}
