package format

import (
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/connstate"
)

// The hand-made encoders agree with the standard library's.
func TestPutUint(t *testing.T) {
	check := func(v uint64) {
		b := make([]byte, 24)
		n := putUint(b, 2, v)
		if got, want := string(b[2:n]), strconv.FormatUint(v, 10); got != want {
			t.Fatalf("putUint(%d) = %q", v, got)
		}
	}
	for d := range 20 {
		p := pow10[d]
		for _, v := range []uint64{p - 1, p, p + 1} {
			check(v)
		}
	}
	check(1<<64 - 1)
	rapid.Check(t, func(t *rapid.T) { check(rapid.Uint64().Draw(t, "v")) })
}

// putIPv6 writes what net/netip writes (RFC 5952), for any address.
func TestPutIPv6(t *testing.T) {
	check := func(a [16]byte) {
		b := make([]byte, 64)
		got := string(b[:putIPv6(b, 0, a)])
		if want := netip.AddrFrom16(a).String(); got != want {
			t.Fatalf("putIPv6(%x) = %q, want %q", a, got, want)
		}
	}
	for _, s := range []string{"::", "::1", "1::", "2001:db8::1", "2001:db8:0:0:1:0:0:1", "2001:0:0:1:0:0:0:1", "1:0:1:0:1:0:1:0", "fe80::1:2", "0:0:1::"} {
		check(netip.MustParseAddr(s).As16())
	}
	rapid.Check(t, func(t *rapid.T) {
		a := drawIPv6(t)
		if a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0 && a[4] == 0 && a[5] == 0 && a[6] == 0 && a[7] == 0 && a[8] == 0 && a[9] == 0 && a[10] == 0xff && a[11] == 0xff {
			return // an IPv4-mapped address; AppendEntry writes it as IPv4
		}
		check(a)
	})
}

// fieldText draws a field that is often right and often almost right:
// canonical and non-canonical numbers, fingerprints in either case,
// addresses of each family and spelling, flags, and random bytes.
func fieldText(t *rapid.T, label string) string {
	return rapid.OneOf(
		rapid.SampledFrom([]string{"0", "1", "01", "65535", "65536", "18446744073709551615", "18446744073709551616", "9999999999999999999", "99999999999999999999",
			"9695DFC35FFEB861329B9F1AB04C46397020CE31", "9695dfc35ffeb861329b9f1ab04c46397020ce31", "0000000000000000000000000000000000000000", "$9695DFC35FFEB861329B9F1AB04C46397020CE31",
			"1.2.3.4:443", "1.2.3.4:0", "1.2.3.4:0443", "01.2.3.4:1", "256.1.1.1:1", "1.2.3:4", "1.2.3.4", "1.2.3.4:65536", "1234.1.1.1:1",
			"[2001:db8::1]:443", "[::ffff:1.2.3.4]:5", "[fe80::1%eth0]:1", "[2001:0db8::1]:1", "[::1]:", "[::1]",
			"[::]:1", "[1::]:1", "[1:2:3:4:5:6:7:8]:1", "[1:2:3:4:5:6:7::]:1", "[::2:3:4:5:6:7:8]:1", "[1::2::3]:1", "[::ffff:102:304]:9",
			"[1:2:3:4:5:6:7:8:9]:1", "[1:2:3:4:5:6:7]:1", "[:1]:1", "[1:]:1", "[12345::]:1", "[ABCD::]:1", "[abcd::ef]:65536", "[::1]1", "[:::1]:1", "[::1:]:1",
			"IRt", "ORT", "oRtZZ", "iCT", "IXt", "XRt", "IR", "IZt", "", " ", "-1", "+1", "1.5", "0x1"}),
		rapid.StringMatching(`[0-9]{1,21}`),
		rapid.StringMatching(`[0-9.:\[\]a-fA-F]{0,12}`),
		rapid.StringMatching(`\[[0-9a-f:]{0,24}\]:[0-9]{1,5}`),
		rapid.Map(rapid.SliceOfN(rapid.Byte(), 0, 6), func(b []byte) string { return string(b) }),
	).Draw(t, label)
}

// parseFast accepts only what parseFields accepts, and reads it the same.
func TestParseFastAgrees(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 11).Draw(t, "fields")
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fieldText(t, "field")
		}
		sep := rapid.SampledFrom([]string{" ", " ", " ", "  ", "\t"}).Draw(t, "sep")
		line := rapid.SampledFrom([]string{"", " "}).Draw(t, "lead") + strings.Join(parts, sep)
		var fast, fastB connstate.Entry
		ok := parseFast(line, &fast)
		slow, err := parseFields(line)
		if ok {
			require.NoError(t, err, "parseFast accepted %q", line)
			assert.Equal(t, slow, fast, "%q", line)
		}
		okB := parseFast([]byte(line), &fastB)
		assert.Equal(t, ok, okB, "%q as bytes", line)
		assert.Equal(t, fast, fastB, "%q as bytes", line)
		prior := []connstate.Entry{{ConnID: 99}}
		appended, errB := AppendParsed(prior, []byte(line))
		assert.Equal(t, err == nil, errB == nil, "%q", line)
		if err == nil {
			assert.Equal(t, []connstate.Entry{{ConnID: 99}, slow}, appended, "%q", line)
		} else {
			assert.Equal(t, prior, appended, "%q: dst as it was", line)
		}
	})
}

// Every line AppendEntry writes takes the fast path.
func TestParseFastTakesEveryCanonicalLine(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := connstate.Entry{
			ConnID: rapid.Uint64Range(1, 1e19-1).Draw(t, "conn"), CircID: rapid.Uint64Range(0, 1e19-1).Draw(t, "circ"),
			LocalPort: rapid.Uint16().Draw(t, "lport"), Read: rapid.Uint64Range(0, 1e19-1).Draw(t, "read"),
			Written: rapid.Uint64Range(0, 1e19-1).Draw(t, "written"), Uptime: rapid.Uint64Range(0, 1e19-1).Draw(t, "uptime"),
			Flags: connstate.Flags{Direction: connstate.Outbound, Established: rapid.Bool().Draw(t, "est"), Usage: connstate.Usage(rapid.IntRange(1, 5).Draw(t, "usage")), Network: connstate.NetworkTor},
		}
		if rapid.Bool().Draw(t, "fp") {
			copy(e.Fingerprint[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "fp bytes"))
		}
		switch rapid.IntRange(0, 2).Draw(t, "family") {
		case 1:
			e.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "a"))), rapid.Uint16().Draw(t, "port"))
		case 2:
			a := netip.AddrFrom16(drawIPv6(t))
			if a.Is4In6() {
				a = a.Unmap() // written, and read back, as IPv4
			}
			e.Remote = netip.AddrPortFrom(a, rapid.Uint16().Draw(t, "port"))
		}
		line := AppendEntry(nil, &e)
		var got connstate.Entry
		require.True(t, parseFast(line, &got), "%s", line)
		assert.Equal(t, e, got)
	})
}

// digits8 agrees with a digit-by-digit reading of any eight bytes.
func TestDigits8(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOfN(rapid.SampledFrom([]byte("0123456789 /:.ABZ\x00\xff")), 8, 8).Draw(t, "bytes")
		var want uint64
		n := 0
		for n < 8 && b[n] >= '0' && b[n] <= '9' {
			want = want*10 + uint64(b[n]-'0')
			n++
		}
		got, gotN := digits8(binary.LittleEndian.Uint64(b))
		assert.Equal(t, n, gotN, "%q", b)
		assert.Equal(t, want, got, "%q", b)
	})
}

// hex8 agrees with encoding/hex on eight upper-case digits, and refuses
// any other byte.
func TestHex8(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		b := rapid.SliceOfN(rapid.SampledFrom([]byte("0123456789ABCDEFabcdef/:@G`\x00\x7f\x80\xb0\xc1\xff")), 8, 8).Draw(t, "bytes")
		want, err := hex.DecodeString(string(b))
		valid := err == nil && strings.ToUpper(string(b)) == string(b)
		got, ok := hex8(binary.LittleEndian.Uint64(b))
		require.Equal(t, valid, ok, "%q", b)
		if ok {
			var gotB [4]byte
			binary.LittleEndian.PutUint32(gotB[:], got)
			assert.Equal(t, want, gotB[:], "%q", b)
		}
	})
}

// Lines a byte or three away from canonical ones: most are still valid,
// so the fast path's acceptance is exercised, and where it accepts it
// agrees with parseFields.
func TestParseFastAgreesNearCanonical(t *testing.T) {
	accepted := 0
	rapid.Check(t, func(t *rapid.T) {
		e := connstate.Entry{
			ConnID: rapid.Uint64Min(1).Draw(t, "conn"), CircID: rapid.Uint64().Draw(t, "circ"),
			LocalPort: rapid.Uint16().Draw(t, "lport"), Read: rapid.Uint64().Draw(t, "read"),
			Written: rapid.Uint64().Draw(t, "written"), Uptime: rapid.Uint64().Draw(t, "uptime"),
			Flags: connstate.Flags{Direction: connstate.Inbound, Established: true, Usage: connstate.UsageRelay, Network: connstate.NetworkTor},
		}
		if rapid.Bool().Draw(t, "fp") {
			copy(e.Fingerprint[:], rapid.SliceOfN(rapid.Byte(), 20, 20).Draw(t, "fp bytes"))
		}
		switch rapid.IntRange(0, 2).Draw(t, "family") {
		case 1:
			e.Remote = netip.AddrPortFrom(netip.AddrFrom4([4]byte(rapid.SliceOfN(rapid.Byte(), 4, 4).Draw(t, "v4"))), rapid.Uint16().Draw(t, "port"))
		case 2:
			e.Remote = netip.AddrPortFrom(netip.AddrFrom16([16]byte(rapid.SliceOfN(rapid.Byte(), 16, 16).Draw(t, "v6"))), rapid.Uint16().Draw(t, "port"))
		}
		line := AppendEntry(nil, &e)
		for range rapid.IntRange(0, 3).Draw(t, "mutations") {
			i := rapid.IntRange(0, len(line)).Draw(t, "at")
			b := rapid.SampledFrom([]byte("0123456789 :.[]ABCDEFaf-+oOiIRCtTx\x00\xff")).Draw(t, "byte")
			switch rapid.IntRange(0, 2).Draw(t, "kind") {
			case 0:
				line = append(line[:i:i], append([]byte{b}, line[i:]...)...)
			case 1:
				if i < len(line) {
					line = append(line[:i:i], line[i+1:]...)
				}
			default:
				if i < len(line) {
					line[i] = b
				}
			}
		}
		var fast connstate.Entry
		ok := parseFast(line, &fast)
		slow, err := parseFields(string(line))
		if ok {
			accepted++
			require.NoError(t, err, "parseFast accepted %q", line)
			assert.Equal(t, slow, fast, "%q", line)
		}
	})
	assert.Positive(t, accepted, "the fast path accepted some")
}

// drawIPv6 draws an IPv6 address whose groups are often zero, so that
// runs of zero groups of every length and place come up.
func drawIPv6(t *rapid.T) [16]byte {
	var a [16]byte
	for i := 0; i < 16; i += 2 {
		if rapid.Bool().Draw(t, "zero") {
			continue
		}
		binary.BigEndian.PutUint16(a[i:], rapid.Uint16().Draw(t, "group"))
	}
	return a
}

// ipv6Field reads what netip reads, in the canonical spelling and in the
// others it takes (groups written out in full, with leading zeros, or
// any run of zero groups compressed); it leaves to parseFields what it
// does not take, and never takes what netip rejects.
func TestIPv6FieldAgreesWithNetip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := drawIPv6(t)
		groups := make([]string, 8)
		for k := range groups {
			groups[k] = strconv.FormatUint(uint64(binary.BigEndian.Uint16(a[2*k:])), 16)
			if rapid.Bool().Draw(t, "leading zeros") {
				groups[k] = strings.Repeat("0", 4-len(groups[k])) + groups[k]
			}
		}
		spelled := strings.Join(groups, ":")
		if from := rapid.IntRange(0, 8).Draw(t, "compress from"); from < 8 {
			to := rapid.IntRange(from, 8).Draw(t, "compress to")
			spelled = strings.Join(groups[:from], ":") + "::" + strings.Join(groups[to:], ":")
		}
		for _, text := range []string{netip.AddrFrom16(a).String(), spelled} {
			field := "[" + text + "]:" + strconv.Itoa(rapid.IntRange(0, 70000).Draw(t, "port"))
			got, end, ok := ipv6Field(field, 0)
			want, err := netip.ParseAddrPort(field)
			if !ok {
				assert.False(t, text == netip.AddrFrom16(a).String() && err == nil && !want.Addr().Is4In6(), "%s: the canonical spelling is left to the slow path", field)
				continue
			}
			require.NoError(t, err, "%s: taken, but netip rejects it", field)
			assert.Equal(t, netip.AddrPortFrom(want.Addr().Unmap(), want.Port()), got, field)
			assert.Equal(t, len(field), end, field)
		}
	})
}
