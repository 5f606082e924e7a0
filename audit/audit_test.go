package audit_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
)

var (
	established = func(d connstate.Direction, u connstate.Usage, n connstate.Network) connstate.Flags {
		return connstate.Flags{Direction: d, Established: true, Usage: u, Network: n}
	}
	clientIn  = established(connstate.Inbound, connstate.UsageClient, connstate.NetworkOutside)
	relayOut  = established(connstate.Outbound, connstate.UsageRelay, connstate.NetworkTor)
	streamOut = established(connstate.Outbound, connstate.UsageClient, connstate.NetworkOutside)
)

func conn(id uint64, f connstate.Flags, remote string, read, written, uptime uint64) connstate.Entry {
	e := connstate.Entry{ConnID: id, Flags: f, Read: read, Written: written, Uptime: uptime}
	if remote != "" {
		e.Remote = netip.MustParseAddrPort(remote)
	}
	return e
}

func leg(c connstate.Entry, circ uint64, read, written uint64) connstate.Entry {
	c.CircID, c.Read, c.Written = circ, read, written
	return c
}

func detectors(f []audit.Finding) []string {
	var d []string
	for _, x := range f {
		d = append(d, x.Detector)
	}
	return d
}

func TestDetectorsAtTheirEdges(t *testing.T) {
	pending := func(uptime uint64) connstate.Entry {
		f := streamOut
		f.Established = false
		return conn(9, f, "192.0.2.80:443", 0, 0, uptime)
	}
	in := conn(1, clientIn, "203.0.113.7:50000", 0, 0, 100)
	out := conn(2, relayOut, "198.51.100.9:9001", 0, 0, 100)
	stream := conn(3, streamOut, "192.0.2.80:443", 0, 0, 100)
	many := func(n int) []connstate.Entry {
		var e []connstate.Entry
		for i := range n {
			e = append(e, conn(uint64(100+i), relayOut, "198.51.100.9:9001", 0, 0, 100))
		}
		return e
	}
	tests := []struct {
		name  string
		state audit.State
		want  []string
	}{
		{"nothing", audit.State{Entries: []connstate.Entry{in, out}, Exit: true}, nil},
		{"unestablished at 59 s", audit.State{Entries: []connstate.Entry{pending(59)}, Exit: true}, nil},
		{"unestablished at 60 s", audit.State{Entries: []connstate.Entry{pending(60)}, Exit: true}, []string{audit.Unestablished}},
		{"an inbound handshake unfinished for long", audit.State{Entries: []connstate.Entry{conn(4, connstate.Flags{Direction: connstate.Inbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside}, "", 0, 0, 600)}, Exit: true}, nil},
		{"asymmetric under the floor", audit.State{Entries: []connstate.Entry{in, out, leg(in, 5, 8<<20-1, 0), leg(out, 5, 0, 0)}, Exit: true}, nil},
		{"asymmetric at the floor", audit.State{Entries: []connstate.Entry{in, out, leg(in, 5, 8<<20, 0), leg(out, 5, 0, 0)}, Exit: true}, []string{audit.Asymmetric}},
		{"asymmetric within the ratio", audit.State{Entries: []connstate.Entry{in, out, leg(in, 5, 20<<20, 0), leg(out, 5, 1<<20+1, 0)}, Exit: true}, nil},
		{"asymmetric at the ratio", audit.State{Entries: []connstate.Entry{in, out, leg(in, 5, 20<<20, 0), leg(out, 5, 1<<20, 0)}, Exit: true}, []string{audit.Asymmetric}},
		{"private stream, policy allows", audit.State{Entries: []connstate.Entry{conn(3, streamOut, "10.0.0.5:80", 0, 0, 1)}, Exit: true}, nil},
		{"private stream, policy rejects", audit.State{Entries: []connstate.Entry{conn(3, streamOut, "10.0.0.5:80", 0, 0, 1)}, Exit: true, RejectPrivate: true}, []string{audit.PrivateExit}},
		{"public stream, policy rejects private", audit.State{Entries: []connstate.Entry{stream}, Exit: true, RejectPrivate: true}, nil},
		{"15 to one address", audit.State{Entries: many(15), Exit: true}, nil},
		{"16 to one address", audit.State{Entries: many(16), Exit: true}, []string{audit.Concentration}},
		{"one connection, most bytes, under the floor", audit.State{Entries: []connstate.Entry{conn(1, clientIn, "", 60<<20, 0, 1), conn(2, clientIn, "", 1<<20, 0, 1)}, Exit: true}, nil},
		{"one connection, most bytes", audit.State{Entries: []connstate.Entry{conn(1, clientIn, "", 64<<20, 0, 1), conn(2, clientIn, "", 1<<20, 0, 1)}, Exit: true}, []string{audit.Concentration}},
		{"streams on an exit", audit.State{Entries: []connstate.Entry{stream}, Exit: true}, nil},
		{"an exit's many streams to one destination", audit.State{Entries: func() []connstate.Entry {
			var e []connstate.Entry
			for i := range 40 {
				e = append(e, conn(uint64(200+i), streamOut, "192.0.2.80:443", 0, 0, 5))
			}
			return e
		}(), Exit: true}, nil},
		{"streams on a non-exit", audit.State{Entries: []connstate.Entry{stream}}, []string{audit.NonExitStreams}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := audit.New(audit.Config{}).Audit(tt.state)
			assert.Equal(t, tt.want, detectors(got))
			for _, f := range got {
				for _, addr := range []string{"203.0.113", "192.0.2", "198.51.100", "10.0.0"} {
					assert.NotContains(t, f.Message, addr, "a finding names no address")
					assert.NotContains(t, f.Line(), addr)
				}
			}
		})
	}
}

// Short-lived connections are counted across audits, as they go.
func TestShortLived(t *testing.T) {
	for _, tt := range []struct {
		name    string
		uptime  uint64
		n       int
		finding bool
	}{
		{"20 gone within 4 s", 4, 20, true},
		{"19 gone within 4 s: too few", 4, 19, false},
		{"20 gone after 5 s", 5, 20, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := audit.New(audit.Config{})
			var open []connstate.Entry
			for i := range tt.n {
				open = append(open, conn(uint64(i+1), clientIn, "", 0, 0, tt.uptime))
			}
			require.Empty(t, a.Audit(audit.State{Entries: open, Exit: true}))
			got := a.Audit(audit.State{Exit: true})
			if tt.finding {
				require.Len(t, got, 1)
				assert.Equal(t, audit.ShortLived, got[0].Detector)
				assert.Equal(t, "20 of 20 connections gone within 5s of opening", got[0].Message)
			} else {
				assert.Empty(t, got)
			}
		})
	}
}

func TestFindingForms(t *testing.T) {
	f := audit.Finding{Detector: audit.Asymmetric, Severity: audit.Warning, ConnIDs: []uint64{1, 2}, CircIDs: []uint64{5}, Message: "m"}
	assert.Equal(t, "asymmetric warning 1,2 5 m", f.Line())
	assert.Equal(t, `{"detector":"asymmetric","severity":"warning","conn_ids":[1,2],"circ_ids":[5],"message":"m"}`, string(f.JSON()))
	assert.Equal(t, "short-lived info - - x", audit.Finding{Detector: audit.ShortLived, Severity: audit.Info, Message: "x"}.Line())
	for _, s := range []audit.Severity{audit.Info, audit.Warning, audit.Critical} {
		got, err := audit.ParseSeverity(s.String())
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
	_, err := audit.ParseSeverity("loud")
	assert.ErrorIs(t, err, audit.ErrSeverity)
	assert.True(t, strings.HasPrefix(audit.Severity(9).String(), "Severity("))
}

// ParseLine reads back what Line writes.
func TestLineRoundTrips(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		f := audit.Finding{
			Detector: rapid.SampledFrom([]string{audit.Asymmetric, audit.ShortLived, audit.Unestablished}).Draw(t, "detector"),
			Severity: rapid.SampledFrom([]audit.Severity{audit.Info, audit.Warning, audit.Critical}).Draw(t, "severity"),
			ConnIDs:  rapid.SliceOf(rapid.Uint64()).Draw(t, "conns"),
			CircIDs:  rapid.SliceOf(rapid.Uint64()).Draw(t, "circs"),
			Message:  rapid.StringMatching(`[a-z0-9 ()%,]{1,40}`).Draw(t, "message"),
		}
		if len(f.ConnIDs) == 0 {
			f.ConnIDs = nil
		}
		if len(f.CircIDs) == 0 {
			f.CircIDs = nil
		}
		got, err := audit.ParseLine(f.Line())
		require.NoError(t, err)
		assert.Equal(t, f, got)
	})
	for _, bad := range []string{"", "asymmetric warning 1 2", "asymmetric loud - - m", "asymmetric info x - m"} {
		_, err := audit.ParseLine(bad)
		assert.ErrorIs(t, err, audit.ErrLine, "%q", bad)
	}
}
