package controlport

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pair returns the server's end of a loopback TCP connection and the
// client's, both closed when the test ends.
func pair(t *testing.T, l net.Listener) (server, client net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	server, err = l.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

// giveWay's choice, at instants given to it rather than read from a clock.
func TestGiveWayOrder(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	const ms = int64(time.Millisecond)
	grace := int64(silentGrace)

	type spec struct {
		name     string
		arrived  int64
		heard    int64 // when a byte last came; 0: none
		lastLine int64 // when the last complete line came; 0: none
		authed   bool
		busy     bool // its goroutine is not waiting for the peer
		speak    bool // the client has sent bytes the server has not read
		hangUp   bool // the client has closed its end
	}
	tests := []struct {
		name  string
		now   int64
		conns []spec
		want  string // "" for none
		wait  time.Duration
	}{
		{"oldest silent past its grace", 10 * grace, []spec{
			{name: "young", arrived: 10*grace - ms},
			{name: "old", arrived: 1},
			{name: "older line", arrived: 1, heard: 2, lastLine: 2},
		}, "old", 0},
		{"silent ones still in their grace: wait, even with idle speaking ones", grace + 10*ms, []spec{
			{name: "young", arrived: 20 * ms},
			{name: "partial", arrived: 1, heard: 2},
			{name: "idle", arrived: 1, heard: 2, lastLine: 2},
		}, "", 10 * time.Millisecond},
		{"a hung-up peer at once, whatever its age", 2 * ms, []spec{
			{name: "silent", arrived: 1},
			{name: "gone", arrived: 2 * ms, hangUp: true},
		}, "gone", 0},
		{"bytes waiting unread are not silence", 10 * grace, []spec{
			{name: "speaking", arrived: 1, speak: true},
			{name: "silent", arrived: 2},
		}, "silent", 0},
		{"a busy goroutine may be reading a line", 10 * grace, []spec{
			{name: "busy", arrived: 1, busy: true},
			{name: "silent", arrived: 2},
		}, "silent", 0},
		{"only busy ones: look again soon", 10 * grace, []spec{
			{name: "busy", arrived: 1, busy: true},
		}, "", time.Millisecond},
		{"no silent one: the longest idle partial line", 10 * grace, []spec{
			{name: "trickling", arrived: 1, heard: 10*grace - ms},
			{name: "stalled", arrived: 2, heard: 3},
			{name: "lines", arrived: 1, heard: 1, lastLine: 1},
		}, "stalled", 0},
		{"only progressing ones: the oldest line past its grace", 10 * grace, []spec{
			{name: "recent", arrived: 1, heard: 10*grace - ms, lastLine: 10*grace - ms},
			{name: "stale", arrived: 2, heard: 3, lastLine: 3},
		}, "stale", 0},
		{"authenticated controllers never give way", 10 * grace, []spec{
			{name: "operator", arrived: 1, authed: true},
		}, "", silentGrace},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Server{conns: map[*conn]struct{}{}}
			names := map[*conn]string{}
			for _, sp := range tt.conns {
				srv, cli := pair(t, l)
				c := &conn{nc: srv, arrived: sp.arrived}
				c.heard.Store(sp.heard)
				c.lastLine.Store(sp.lastLine)
				c.authed.Store(sp.authed)
				c.reading.Store(!sp.busy)
				if sp.speak {
					_, err := cli.Write([]byte("PROTOCOLINFO\r\n"))
					require.NoError(t, err)
				}
				if sp.hangUp {
					require.NoError(t, cli.Close())
				}
				s.conns[c] = struct{}{}
				names[c] = sp.name
			}
			// Let the bytes and the FIN reach the server's ends.
			require.Eventually(t, func() bool {
				for c := range s.conns {
					want := nothingWaiting
					for _, sp := range tt.conns {
						if sp.name == names[c] && sp.speak {
							want = bytesWaiting
						} else if sp.name == names[c] && sp.hangUp {
							want = peerClosed
						}
					}
					if peek(c.nc) != want {
						return false
					}
				}
				return true
			}, 5*time.Second, time.Millisecond)
			victim, wait := s.giveWay(tt.now)
			assert.Equal(t, tt.want, names[victim])
			assert.Equal(t, tt.wait, wait)
		})
	}
}
