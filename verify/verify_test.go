package verify_test

import (
	"context"
	"net"
	"net/netip"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/verify"
)

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

func line(remote string, lport uint16) connstate.Entry {
	e := connstate.Entry{ConnID: 1, LocalPort: lport}
	if remote != "" {
		e.Remote = ap(remote)
	}
	return e
}

func TestCheck(t *testing.T) {
	peer := verify.Socket{Local: ap("198.51.100.1:9001"), Remote: ap("203.0.113.7:50000")}
	out := verify.Socket{Local: ap("198.51.100.1:41000"), Remote: ap("192.0.2.9:443")}
	// A link of the process to itself: both ends.
	selfA := verify.Socket{Local: ap("127.0.0.1:41001"), Remote: ap("127.0.0.1:9001")}
	selfB := verify.Socket{Local: ap("127.0.0.1:9001"), Remote: ap("127.0.0.1:41001")}
	tests := []struct {
		name       string
		lines      []connstate.Entry
		sockets    []verify.Socket
		ok         bool
		dead       int
		unreported int
		excess     int
	}{
		{"all shown, all live", []connstate.Entry{line("203.0.113.7:50000", 9001), line("192.0.2.9:443", 41000)}, []verify.Socket{peer, out}, true, 0, 0, 0},
		{"a shown endpoint with no socket", []connstate.Entry{line("203.0.113.7:50000", 9001), line("192.0.2.9:443", 41000)}, []verify.Socket{peer}, false, 1, 0, 0},
		{"a socket no line reports, listed", []connstate.Entry{line("203.0.113.7:50000", 9001)}, []verify.Socket{peer, out}, false, 0, 1, 1},
		{"a relay's published ORPort", []connstate.Entry{line("203.0.113.7:9001", 9001)}, []verify.Socket{peer}, true, 0, 0, 0},
		{"a scrubbed line may be that socket", []connstate.Entry{line("203.0.113.7:50000", 9001), line("", 0)}, []verify.Socket{peer, out}, true, 0, 0, 0},
		{"two sockets beyond a scrubbed line: counted, not listed", []connstate.Entry{line("", 0)}, []verify.Socket{peer, out, selfA, selfB}, false, 0, 0, 2},
		{"a link to itself is one connection", []connstate.Entry{line("127.0.0.1:9001", 41001)}, []verify.Socket{selfA, selfB}, true, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := verify.Check(tt.lines, tt.sockets, 0)
			assert.Equal(t, tt.ok, r.OK())
			assert.Len(t, r.Dead, tt.dead)
			assert.Len(t, r.Unreported, tt.unreported)
			assert.Equal(t, tt.excess, r.Excess)
		})
	}
	r := verify.Check([]connstate.Entry{line("", 0)}, []verify.Socket{peer, out}, 1)
	assert.True(t, r.OK(), "within the tolerance")
	assert.Equal(t, 5, verify.Check([]connstate.Entry{line("", 0)}, nil, verify.DefaultTolerance).Tolerance, "a line hides its peer")
	assert.Equal(t, 2, verify.Check([]connstate.Entry{line("203.0.113.7:50000", 9001)}, nil, verify.DefaultTolerance).Tolerance, "every line shows its endpoint")
}

// Sockets reads this very process's sockets.
func TestSocketsOfThisProcess(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	s, err := l.Accept()
	require.NoError(t, err)
	defer s.Close()
	got, err := verify.Sockets(context.Background(), int32(os.Getpid()))
	if err != nil {
		t.Skipf("the OS does not tell this process's sockets here: %v", err)
	}
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	found := 0
	for _, x := range got {
		if x.Local == local || x.Remote == local {
			found++
		}
		assert.NotEqual(t, "LISTEN", x.Status)
	}
	assert.Equal(t, 2, found, "both ends of the link: %v", got)
}
