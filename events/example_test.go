package events_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/events"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// A publisher's BW events follow traffic/read and traffic/written, a
// second at a time; a controller's writer takes them between replies.
func Example() {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	conn, _ := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay,
		Network: connstate.NetworkOutside, Remote: netip.MustParseAddrPort("203.0.113.7:50000"), Established: true})
	pub, _ := events.New(events.Config{Conns: &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.TestNetwork()}})
	defer pub.Close()

	sub := pub.Subscribe() // one per controller
	defer sub.Close()
	set, _ := events.ParseSet([]string{"BW"}) // SETEVENTS BW
	sub.Set(set)
	clk.Advance(time.Second) // the first second is the baseline
	conn.AddRead(4096)
	conn.AddWritten(512)
	clk.Advance(time.Second)
	<-sub.Ready()
	fmt.Printf("%q\n", sub.AppendPending(nil))
	// Output: "650 BW 4096 512\r\n"
}
