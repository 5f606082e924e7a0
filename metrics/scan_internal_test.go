package metrics

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/internal/entrytest"
)

// scan reads from any entry line the fields the entry was made of: the
// oracle is the drawn entry, not a parser.
func TestScanReadsEveryLine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := entrytest.Entry().Draw(t, "entry")
		family := 0
		if a := e.Remote.Addr(); a.Is4() || a.Is4In6() {
			family = 1 // an IPv4-mapped address is written as IPv4
		} else if a.IsValid() {
			family = 2
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
