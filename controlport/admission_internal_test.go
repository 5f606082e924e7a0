package controlport

import (
	"io"
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
		progress int64 // its last step; 0: none
		line     int64 // when its first line came; 0: none
		heard    int64 // when its goroutine last read bytes (which the test sends and reads); 0: none
		wasted   int32 // commands that failed to parse
		authed   bool
		busy     bool // its goroutine is not waiting for the peer
		speak    bool // the client has sent bytes the server has not read
		hangUp   bool // the client has closed its end
	}
	tests := []struct {
		name     string
		now      int64
		speaking bool // the newcomer has spoken
		conns    []spec
		want     string // "" for none
		wait     time.Duration
	}{
		{"oldest quiet one past its grace", 10 * grace, false, []spec{
			{name: "young", arrived: 10*grace - ms},
			{name: "old", arrived: 1},
			{name: "older step", arrived: 1, progress: 2},
		}, "old", 0},
		{"quiet ones in their grace: wait, even with an idle progressing one", grace + 10*ms, false, []spec{
			{name: "young", arrived: 20 * ms},
			{name: "idle", arrived: 1, progress: 2},
		}, "", 10 * time.Millisecond},
		{"a speaking newcomer takes a young quiet one's place", grace + 10*ms, true, []spec{
			{name: "young", arrived: 20 * ms},
			{name: "idle", arrived: 1, progress: 2},
		}, "young", 0},
		{"a speaking newcomer never takes a young talker's place", grace + 10*ms, true, []spec{
			{name: "talker", arrived: 20 * ms, heard: 30 * ms},
		}, "", 10 * time.Millisecond},
		{"a talker that took no step gives way once its grace is over", 10 * grace, false, []spec{
			{name: "talker", arrived: 1, heard: 10*grace - 5*ms},
		}, "talker", 0},
		{"one that has just read bytes may be taking a step", 10 * grace, true, []spec{
			{name: "reading", arrived: 1, heard: 10*grace - ms/2},
		}, "", time.Millisecond},
		{"lines that lead nowhere give way once lineGrace has passed", 10 * grace, false, []spec{
			{name: "nowhere", arrived: 1, line: 10*grace - int64(lineGrace)},
			{name: "stepped", arrived: 1, line: 1, progress: 2},
		}, "nowhere", 0},
		{"a line just read is on its way to a step", 10 * grace, true, []spec{
			{name: "line", arrived: 1, line: 10*grace - 4*ms},
			{name: "stepped", arrived: 1, line: 1, progress: 2},
		}, "", 6 * time.Millisecond},
		{"a hung-up peer at once, whatever its age", 2 * ms, false, []spec{
			{name: "quiet", arrived: 1},
			{name: "gone", arrived: 2 * ms, hangUp: true},
		}, "gone", 0},
		{"a spent one at once, whatever its age", 2 * ms, false, []spec{
			{name: "quiet", arrived: 1},
			{name: "spent", arrived: 2 * ms, progress: 2 * ms, wasted: maxWasted},
		}, "spent", 0},
		{"bytes waiting unread are not silence", 10 * grace, false, []spec{
			{name: "speaking", arrived: 1, speak: true},
			{name: "quiet", arrived: 2},
		}, "quiet", 0},
		{"a busy goroutine may be taking a step", 10 * grace, false, []spec{
			{name: "busy", arrived: 1, busy: true},
			{name: "quiet", arrived: 2},
		}, "quiet", 0},
		{"only busy ones: look again soon", 10 * grace, false, []spec{
			{name: "busy", arrived: 1, busy: true},
		}, "", time.Millisecond},
		{"only progressing ones: the oldest step past its grace", 10 * grace, false, []spec{
			{name: "recent", arrived: 1, progress: 10*grace - ms},
			{name: "stale", arrived: 2, progress: 3},
		}, "stale", 0},
		{"authenticated controllers never give way", 10 * grace, true, []spec{
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
				c.progress.Store(sp.progress)
				c.firstLine.Store(sp.line)
				c.wasted.Store(sp.wasted)
				c.authed.Store(sp.authed)
				c.reading.Store(!sp.busy)
				if sp.speak {
					_, err := cli.Write([]byte("PROTOCOLINFO\r\n"))
					require.NoError(t, err)
				}
				if sp.heard != 0 { // bytes sent, and read by the server's end
					_, err := cli.Write([]byte("PROTO"))
					require.NoError(t, err)
					_, err = io.ReadFull(srv, make([]byte, 5))
					require.NoError(t, err)
					c.heard.Store(sp.heard)
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
			victim, wait := s.giveWay(tt.now, tt.speaking)
			assert.Equal(t, tt.want, names[victim])
			assert.Equal(t, tt.wait, wait)
		})
	}
}
