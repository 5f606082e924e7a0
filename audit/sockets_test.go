package audit_test

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
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
	peer := audit.Socket{Local: ap("198.51.100.1:9001"), Remote: ap("203.0.113.7:50000")}
	out := audit.Socket{Local: ap("198.51.100.1:41000"), Remote: ap("192.0.2.9:443")}
	// A link of the process to itself: both ends.
	selfA := audit.Socket{Local: ap("127.0.0.1:41001"), Remote: ap("127.0.0.1:9001")}
	selfB := audit.Socket{Local: ap("127.0.0.1:9001"), Remote: ap("127.0.0.1:41001")}
	tests := []struct {
		name       string
		lines      []connstate.Entry
		sockets    []audit.Socket
		ok         bool
		dead       int
		unreported int
		excess     int
	}{
		{"all shown, all live", []connstate.Entry{line("203.0.113.7:50000", 9001), line("192.0.2.9:443", 41000)}, []audit.Socket{peer, out}, true, 0, 0, 0},
		{"a shown endpoint with no socket", []connstate.Entry{line("203.0.113.7:50000", 9001), line("192.0.2.9:443", 41000)}, []audit.Socket{peer}, false, 1, 0, 0},
		{"a socket no line reports, listed", []connstate.Entry{line("203.0.113.7:50000", 9001)}, []audit.Socket{peer, out}, false, 0, 1, 1},
		{"a relay's published ORPort", []connstate.Entry{line("203.0.113.7:9001", 9001)}, []audit.Socket{peer}, true, 0, 0, 0},
		{"a scrubbed line may be that socket", []connstate.Entry{line("203.0.113.7:50000", 9001), line("", 0)}, []audit.Socket{peer, out}, true, 0, 0, 0},
		{"two sockets beyond a scrubbed line: counted, not listed", []connstate.Entry{line("", 0)}, []audit.Socket{peer, out, selfA, selfB}, false, 0, 0, 2},
		{"a link to itself is one connection", []connstate.Entry{line("127.0.0.1:9001", 41001)}, []audit.Socket{selfA, selfB}, true, 0, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := audit.Check(tt.lines, tt.sockets, 0)
			assert.Equal(t, tt.ok, r.OK())
			assert.Len(t, r.Dead, tt.dead)
			assert.Len(t, r.Unreported, tt.unreported)
			assert.Equal(t, tt.excess, r.Excess)
		})
	}
	r := audit.Check([]connstate.Entry{line("", 0)}, []audit.Socket{peer, out}, 1)
	assert.True(t, r.OK(), "within the tolerance")
	assert.Equal(t, 5, audit.Check([]connstate.Entry{line("", 0)}, nil, audit.DefaultTolerance).Tolerance, "a line hides its peer")
	assert.Equal(t, 2, audit.Check([]connstate.Entry{line("203.0.113.7:50000", 9001)}, nil, audit.DefaultTolerance).Tolerance, "every line shows its endpoint")
}

// The hidden detector: sockets beyond the lines, over the tolerance; it
// does not run without sockets.
func TestHiddenDetector(t *testing.T) {
	reported := line("203.0.113.7:50000", 9001)
	peer := audit.Socket{Local: ap("198.51.100.1:9001"), Remote: ap("203.0.113.7:50000")}
	extra := func(n int) []audit.Socket {
		out := []audit.Socket{peer}
		for i := range n {
			out = append(out, audit.Socket{Local: netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), uint16(42000+i)), Remote: ap("192.0.2.9:443")})
		}
		return out
	}
	for _, tt := range []struct {
		name    string
		sockets []audit.Socket
		want    string
	}{
		{"no sockets read", nil, ""},
		{"all reported", extra(0), ""},
		{"at the tolerance", extra(2), ""},
		{"over it", extra(3), "3 connection(s) of the relay's process that no line reports (tolerance 2)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []audit.Finding
			for _, f := range audit.New(audit.Config{}).Audit(audit.State{Entries: []connstate.Entry{reported}, Sockets: tt.sockets, RejectPrivate: true}) {
				if f.Detector == audit.Hidden {
					got = append(got, f)
				}
			}
			if tt.want == "" {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			assert.Equal(t, audit.Warning, got[0].Severity)
			assert.Equal(t, tt.want, got[0].Message)
			assert.Empty(t, got[0].ConnIDs, "no line to name")
			assert.NotContains(t, got[0].Message, "192.0.2.9", "no address")
		})
	}
	f := audit.New(audit.Config{HiddenTolerance: 5}).Audit(audit.State{Entries: []connstate.Entry{reported}, Sockets: extra(5), RejectPrivate: true})
	assert.Empty(t, f, "a tolerance of its own")
}
