package format_test

import (
	"bytes"
	"errors"
	"iter"
	"math"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/internal/entrytest"
)

var moria1 = mustFP("9695DFC35FFEB861329B9F1AB04C46397020CE31")

func mustFP(s string) connstate.Fingerprint {
	fp, err := connstate.ParseFingerprint(s)
	if err != nil {
		panic(err)
	}
	return fp
}

func flags(s string) connstate.Flags {
	f, err := connstate.ParseFlags(s)
	if err != nil {
		panic(err)
	}
	return f
}

// The lines of README.md's example, and the address forms.
var encodeTests = []struct {
	name string
	e    connstate.Entry
	line string
}{
	{"relay", connstate.Entry{ConnID: 17, Fingerprint: moria1, Remote: netip.MustParseAddrPort("128.31.0.34:9101"), LocalPort: 51622, Flags: flags("ORT"), Read: 1048576, Written: 524288, Uptime: 3600},
		"17 0 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 51622 ORT 1048576 524288 3600"},
	{"scrubbed", connstate.Entry{ConnID: 23, Flags: flags("IRt"), Read: 4096, Written: 1024, Uptime: 42},
		"23 0 0 0 0 IRt 4096 1024 42"},
	{"leg", connstate.Entry{ConnID: 23, CircID: 1041, Flags: flags("IRt"), Read: 3072, Written: 1024, Uptime: 42},
		"23 1041 0 0 0 IRt 3072 1024 42"},
	{"ipv6 in brackets, RFC 5952", connstate.Entry{ConnID: 1, Remote: netip.MustParseAddrPort("[2001:0DB8:0000:0000:0000:0000:0000:0001]:443"), Flags: flags("oRT")},
		"1 0 0 [2001:db8::1]:443 0 oRT 0 0 0"},
	{"ipv4-mapped shown as ipv4", connstate.Entry{ConnID: 2, Remote: netip.MustParseAddrPort("[::ffff:192.0.2.1]:9001"), Flags: flags("iXt")},
		"2 0 0 192.0.2.1:9001 0 iXt 0 0 0"},
	{"zone dropped", connstate.Entry{ConnID: 3, Remote: netip.MustParseAddrPort("[fe80::1%eth0]:9001"), Flags: flags("ICt")},
		"3 0 0 [fe80::1]:9001 0 ICt 0 0 0"},
	{"extremes", connstate.Entry{ConnID: math.MaxUint64, CircID: math.MaxUint64, LocalPort: 65535, Flags: flags("IHT"), Read: math.MaxUint64, Written: math.MaxUint64, Uptime: math.MaxUint64},
		"18446744073709551615 18446744073709551615 0 0 65535 IHT 18446744073709551615 18446744073709551615 18446744073709551615"},
	{"invalid flags written as ?", connstate.Entry{ConnID: 4},
		"4 0 0 0 0 ??? 0 0 0"},
}

func TestAppendEntry(t *testing.T) {
	for _, tt := range encodeTests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.line, string(format.AppendEntry(nil, &tt.e)))
			assert.Equal(t, "x"+tt.line, string(format.AppendEntry([]byte("x"), &tt.e)), "appends")
		})
	}
}

func TestAppendEntryDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 256)
	e := encodeTests[0].e
	e.Remote = netip.MustParseAddrPort("[2001:db8::1]:443")
	allocs := testing.AllocsPerRun(1000, func() { buf = format.AppendEntry(buf[:0], &e) })
	assert.Zero(t, allocs)
}

func TestParse(t *testing.T) {
	for _, tt := range encodeTests {
		if !tt.e.Flags.Valid() {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			got, err := format.Parse(tt.line)
			require.NoError(t, err)
			want := tt.e
			want.Remote = normalize(want.Remote)
			assert.Equal(t, want, got)
		})
	}
}

func TestParseIgnoresWhatFollows(t *testing.T) {
	got, err := format.Parse("23 1041 0 0 0 IRtZZ 3072 1024 42 UPDATED=5 more fields")
	require.NoError(t, err)
	assert.Equal(t, connstate.Entry{ConnID: 23, CircID: 1041, Flags: flags("IRt"), Read: 3072, Written: 1024, Uptime: 42}, got)
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ line, field string }{
		{"", "0 fields"},
		{"1 0 0 0 0 IRt 0 0", "8 fields"},
		{"0 0 0 0 0 IRt 0 0 0", "CONN_ID"},
		{"01 0 0 0 0 IRt 0 0 0", "CONN_ID"},
		{"-1 0 0 0 0 IRt 0 0 0", "CONN_ID"},
		{"1 +0 0 0 0 IRt 0 0 0", "CIRC_ID"},
		{"1 18446744073709551616 0 0 0 IRt 0 0 0", "CIRC_ID"},
		{"1 0 9695dfc35ffeb861329b9f1ab04c46397020ce31 0 0 IRt 0 0 0", "OR_ID"},
		{"1 0 $9695DFC35FFEB861329B9F1AB04C46397020CE31 0 0 IRt 0 0 0", "OR_ID"},
		{"1 0 9695DFC35FFEB861 0 0 IRt 0 0 0", "OR_ID"},
		{"1 0 0 1.2.3.4 0 IRt 0 0 0", "IP:PORT"},
		{"1 0 0 2001:db8::1:443 0 IRt 0 0 0", "IP:PORT"},
		{"1 0 0 [fe80::1%eth0]:1 0 IRt 0 0 0", "IP:PORT"},
		{"1 0 0 host:443 0 IRt 0 0 0", "IP:PORT"},
		{"1 0 0 0 65536 IRt 0 0 0", "L_PORT"},
		{"1 0 0 0 0 IR 0 0 0", "TYPE_FLAGS"},
		{"1 0 0 0 0 XRt 0 0 0", "TYPE_FLAGS"},
		{"1 0 0 0 0 IZt 0 0 0", "TYPE_FLAGS"},
		{"1 0 0 0 0 IRx 0 0 0", "TYPE_FLAGS"},
		{"1 0 0 0 0 IRt 1.5 0 0", "READ"},
		{"1 0 0 0 0 IRt 0 0x1 0", "WRITE"},
		{"1 0 0 0 0 IRt 0 0 -3", "UPTIME"},
		{"1\t0 0 0 0 IRt 0 0 0", "fields"},
	}
	for _, tt := range tests {
		_, err := format.Parse(tt.line)
		require.Error(t, err, "%q", tt.line)
		assert.ErrorIs(t, err, format.ErrSyntax)
		assert.Contains(t, err.Error(), tt.field, "%q", tt.line)
	}
}

func normalize(ap netip.AddrPort) netip.AddrPort {
	if !ap.Addr().IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// TestRoundTrip: Parse(AppendEntry(e)) is e, up to the address
// normalisation the wire format defines (IPv4-mapped as IPv4, no zone).
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := entrytest.Entry().Draw(t, "entry")
		line := string(format.AppendEntry(nil, &e))
		got, err := format.Parse(line)
		require.NoError(t, err, line)
		want := e
		want.Remote = normalize(e.Remote)
		assert.Equal(t, want, got, line)
		assert.Equal(t, line, string(format.AppendEntry(nil, &got)), "the line is canonical")
		// getinfo streams lines into a data block as they are: that needs both.
		assert.NotContains(t, line, "\r", "no CR")
		assert.NotContains(t, line, "\n", "no LF")
		assert.False(t, strings.HasPrefix(line, "."), "no leading '.'")
	})
}

// AppendEntry writes only the bytes it appends: what lies in dst's
// capacity past the line is someone else's (another slice of the array).
func TestAppendEntryWritesOnlyItsLine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := entrytest.Entry().Draw(t, "entry")
		prefix := rapid.IntRange(0, 64).Draw(t, "prefix")
		buf := bytes.Repeat([]byte{'Z'}, prefix+512)
		line := format.AppendEntry(buf[:prefix], &e)
		require.Equal(t, &buf[0], &line[0], "appended in place")
		assert.Equal(t, strings.Repeat("Z", len(buf)-len(line)), string(buf[len(line):]), "bytes past the line")
		assert.Equal(t, strings.Repeat("Z", prefix), string(line[:prefix]), "bytes before it")
	})
}

func TestAllAndParseAll(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		entries := rapid.SliceOfN(entrytest.Entry(), 0, 40).Draw(t, "entries")
		value := format.AppendAll(nil, pointers(entries))
		assert.Equal(t, len(entries) > 1, bytes.Contains(value, []byte("\n")), "lines joined by LF")
		assert.False(t, bytes.HasSuffix(value, []byte("\n")), "no trailing newline")
		got, err := format.ParseAll(string(value))
		require.NoError(t, err)
		require.Len(t, got, len(entries))
		for i := range entries {
			entries[i].Remote = normalize(entries[i].Remote)
		}
		if len(entries) > 0 {
			assert.Equal(t, entries, got)
		}
	})
}

// The value of a busy relay's conn/all parses back, with LF or CR LF
// between its lines, and a bad line is named.
func TestParseAllBusyRelay(t *testing.T) {
	reg, _, err := connstatetest.BusyRelay(3, 2000).Build()
	require.NoError(t, err)
	entries := reg.AppendEntries(nil)
	for i := range entries {
		entries[i].Origin = false // not a field of the line
	}
	value := string(format.AppendAll(nil, reg.Entries()))
	for _, sep := range []string{"\n", "\r\n"} {
		got, err := format.ParseAll(strings.ReplaceAll(value, "\n", sep))
		require.NoError(t, err, "lines separated by %q", sep)
		assert.Equal(t, entries, got)
	}
	_, err = format.ParseAll("1 0 0 0 0 IRt 0 0 0\n2 0 0 0 0 IRt 0 0")
	assert.ErrorContains(t, err, "line 2")
}

// pointers yields a pointer to each entry, as a registry's iterator does.
func pointers(entries []connstate.Entry) iter.Seq[*connstate.Entry] {
	return func(yield func(*connstate.Entry) bool) {
		for i := range entries {
			if !yield(&entries[i]) {
				return
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range encodeTests {
		f.Add(tt.line)
	}
	for _, s := range []string{"", " ", "1 0 0 [::ffff:1.2.3.4]:5 0 IRt 0 0 0", "1 0 0 0 0 IRt 0 0 0 extra", "1  0 0 0 0 IRt 0 0 0", "1 0 0 [::1%]:1 0 IRt 0 0 0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		e, err := format.Parse(line)
		if err != nil {
			if !errors.Is(err, format.ErrSyntax) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrSyntax", line, err)
			}
			return
		}
		again, err := format.Parse(string(format.AppendEntry(nil, &e)))
		if err != nil || again != e {
			t.Fatalf("Parse(%q) = %+v, which does not round-trip: %+v, %v", line, e, again, err)
		}
	})
}
