package metrics

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
)

// scan reads from any entry line the fields the entry was made of: the
// oracle is the drawn entry, not a parser.
func TestScanReadsEveryLine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := connstate.Entry{
			ConnID:    rapid.Uint64Min(1).Draw(t, "conn"),
			CircID:    rapid.Uint64().Draw(t, "circ"),
			LocalPort: rapid.Uint16().Draw(t, "lport"),
			Read:      rapid.Uint64().Draw(t, "read"),
			Written:   rapid.Uint64().Draw(t, "written"),
			Uptime:    rapid.Uint64().Draw(t, "uptime"),
			Flags: connstate.Flags{
				Direction:   rapid.SampledFrom([]connstate.Direction{connstate.Inbound, connstate.Outbound}).Draw(t, "dir"),
				Established: rapid.Bool().Draw(t, "est"),
				Usage:       connstate.Usage(rapid.IntRange(1, 5).Draw(t, "usage")),
				Network:     rapid.SampledFrom([]connstate.Network{connstate.NetworkTor, connstate.NetworkOutside}).Draw(t, "net"),
			},
		}
		family := 0
		switch rapid.IntRange(0, 2).Draw(t, "family") {
		case 1:
			e.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "v4"))), 9001)
			family = 1
		case 2:
			a := netip.AddrFrom16([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "v6")))
			e.Remote = netip.AddrPortFrom(a, 443)
			family = 2
			if a.Is4In6() {
				family = 1 // written as IPv4
			}
		}
		b := format.AppendEntry(nil, &e)
		l, ok := scan(b)
		require.True(t, ok, "%s", b)
		assert.Equal(t, line{circ: e.CircID, family: family, flags: e.Flags, read: e.Read, written: e.Written, uptime: e.Uptime}, l, "%s", b)
	})
}

// scan takes twenty-digit numbers up to 2^64-1 and refuses what is not
// an entry line, whole.
func TestScanRefuses(t *testing.T) {
	good := "18446744073709551615 18446744073709551615 0 [2001:db8::1]:443 9001 ORT 18446744073709551615 0 7"
	l, ok := scan([]byte(good))
	require.True(t, ok)
	assert.Equal(t, uint64(1<<64-1), l.circ)
	assert.Equal(t, uint64(1<<64-1), l.read)
	for _, bad := range []string{
		"",
		"1 0 0 0 0 ORT 1 2",                      // a field short
		"1 0 0 0 0 ORT 18446744073709551616 0 7", // READ overflows
		"1 0 0 0 0 ORT 184467440737095516150 0 7", // twenty-one digits
		"1 0 0 0 0 ORT 1x 0 7",
		"1 0 0 0 0 OR 1 0 7",
		"1 0 0 0 0 ZZZ 1 0 7",
		"1  0 0 0 0 ORT 1 0 7", // two spaces
		"1 0 0 0 0 ORT 1 0 ",
	} {
		_, ok := scan([]byte(bad))
		assert.False(t, ok, "%q", bad)
	}
}

// scan never panics, whatever it is given.
func FuzzScan(f *testing.F) {
	f.Add([]byte("3 0 0 192.0.2.1:9001 9001 IRT 262144 0 10"))
	f.Add([]byte("18446744073709551615 18446744073709551615 0 [2001:db8::1]:443 9001 ORT 1 0 7"))
	f.Add([]byte("1 0 0 0 0 OR"))
	f.Add([]byte(" "))
	f.Fuzz(func(t *testing.T, b []byte) { scan(b) })
}
