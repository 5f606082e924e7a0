package controlport_test

import (
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/events"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// eventsServer serves a registry on a fake clock, in the test-network
// tier, with its events.
func eventsServer(t *testing.T) (*controlporttest.Server, *connstatetest.Clock, *connstate.Conn) {
	t.Helper()
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	conn, err := reg.Open(connstate.ConnConfig{Direction: connstate.Inbound, Usage: connstate.UsageRelay, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("203.0.113.7:50000"), Established: true})
	require.NoError(t, err)
	conns := &getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.TestNetwork()}
	mux := getinfo.NewMux()
	conns.Register(mux)
	pub, err := events.New(events.Config{Conns: conns})
	require.NoError(t, err)
	t.Cleanup(pub.Close)
	pub.Register(mux)
	return startServer(t, controlport.Config{Mux: mux, Events: pub}), clk, conn
}

func TestSetEventsSendsBW(t *testing.T) {
	srv, clk, conn := eventsServer(t)
	c := srv.Dial(t)
	c.Authenticate(srv.Auth)
	c.Send("SETEVENTS BOGUS\r\n")
	c.Expect("552 Unrecognized event \"BOGUS\"\r\n")
	c.Send("SETEVENTS bw EXTENDED\r\n")
	c.Expect("250 OK\r\n")
	clk.Advance(time.Second) // the baseline
	conn.AddRead(4096)
	conn.AddWritten(100)
	clk.Advance(time.Second)
	c.Expect("650 BW 4096 100\r\n")
	c.Send("GETINFO bw-event-cache\r\n")
	c.Expect("250-bw-event-cache=4096,100\r\n250 OK\r\n")
	c.Send("SETEVENTS\r\n")
	c.Expect("250 OK\r\n")
	clk.Advance(time.Second)
	c.Send("GETINFO traffic/read\r\n")
	c.Expect("250-traffic/read=4096\r\n250 OK\r\n") // no BW in between
}

// Events go between replies, never inside one, however the commands are
// pipelined while the seconds tick.
func TestEventsBetweenReplies(t *testing.T) {
	srv, clk, conn := eventsServer(t)
	c := srv.Dial(t)
	c.Authenticate(srv.Auth)
	c.Send("SETEVENTS BW\r\n")
	c.Expect("250 OK\r\n")
	const n = 300
	var wg sync.WaitGroup
	wg.Go(func() {
		for range n {
			conn.AddRead(1)
			clk.Advance(time.Second)
		}
	})
	c.Send(strings.Repeat("GETINFO conn/all traffic/read bw-event-cache\r\n", n))
	replies, bw := 0, 0
	inReply := false
	for replies < n {
		line := strings.TrimSuffix(c.ReadLine(), "\r\n")
		switch {
		case strings.HasPrefix(line, "650 "):
			require.False(t, inReply, "an event inside a reply: %q", line)
			require.Regexp(t, `^650 BW \d+ \d+$`, line)
			bw++
		case strings.HasPrefix(line, "250-"), strings.HasPrefix(line, "250+"):
			inReply = true
			if line[3] == '+' {
				for c.ReadLine() != ".\r\n" {
				}
			}
		case line == "250 OK":
			inReply = false
			replies++
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
	wg.Wait()
	t.Logf("%d replies with %d BW events between them", replies, bw)
	assert.Positive(t, bw)
}
