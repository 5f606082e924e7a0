package format

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"testing"

	"pgregory.net/rapid"
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
		var a [16]byte
		for i := 0; i < 16; i += 2 {
			if rapid.Bool().Draw(t, "zero") {
				continue // runs of zero groups are the interesting case
			}
			v := rapid.Uint16().Draw(t, "group")
			binary.BigEndian.PutUint16(a[i:], v)
		}
		if a[0] == 0 && a[1] == 0 && a[2] == 0 && a[3] == 0 && a[4] == 0 && a[5] == 0 && a[6] == 0 && a[7] == 0 && a[8] == 0 && a[9] == 0 && a[10] == 0xff && a[11] == 0xff {
			return // an IPv4-mapped address; AppendEntry writes it as IPv4
		}
		check(a)
	})
}
