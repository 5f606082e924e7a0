package getinfo_test

import (
	"fmt"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/getinfo"
)

// A relay mounts the relay keys with its configured limits and the
// registry's totals; unset sources leave their keys unregistered.
func ExampleRelay() {
	reg := connstate.NewRegistry()
	conn, _ := reg.Open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside})
	conn.AddRead(1 << 20)

	m := getinfo.NewMux()
	(&getinfo.Relay{
		Bandwidth: func() getinfo.Bandwidth { return getinfo.Bandwidth{Rate: 5 << 20, RelayRate: 2 << 20} },
		Totals:    reg.Totals,
	}).Register(m)

	for _, key := range []string{"info/relay/bw-limit", "relay/bw-limit", "info/relay/read-total", "traffic/read"} {
		v, _ := m.Answer(nil, key)
		fmt.Printf("%s=%s\n", key, v)
	}
	// Output:
	// info/relay/bw-limit=2097152
	// relay/bw-limit=2097152
	// info/relay/read-total=1048576
	// traffic/read=1048576
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
	// conn/all -- Every connection and circuit leg, one entry line each, client and exit endpoints scrubbed.
	// info/names -- Every GETINFO key answered here, one per line with its description; prefixes end in *.
}
