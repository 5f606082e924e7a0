package format

import (
	"encoding/binary"
	"iter"
	"math/bits"
	"slices"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/internal/hexupper"
)

// maxLine is the longest entry line: five 20-digit numbers, a 40-digit
// OR_ID, a bracketed IPv6 address with its port, a port and the flags.
const maxLine = 5*20 + 40 + len("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535") + 5 + 3 + 8

// AppendEntry appends e's entry line to dst, without a newline, and returns
// the extended slice. An IPv4-mapped address is written as IPv4, an IPv6
// address in brackets in its RFC 5952 form, and an invalid address as "0".
// It does not allocate when dst has room for a line (about 230 bytes). e is
// a pointer only to spare copying it; it is not changed. The line never
// starts with '.' nor holds CR or LF, so it can go into a control-port
// data block as it is.
func AppendEntry(dst []byte, e *connstate.Entry) []byte {
	dst = slices.Grow(dst, maxLine)
	start := len(dst)
	// Write into the room grown above by index, not append: every field has
	// a known bound, and one capacity check serves the whole line.
	b := dst[start : start+maxLine]
	n := putUint(b, 0, e.ConnID)
	b[n] = ' '
	n = putUint(b, n+1, e.CircID)
	b[n] = ' '
	n = putFingerprint(b, n+1, &e.Fingerprint)
	b[n] = ' '
	n++
	if a := e.Remote.Addr(); a.Is4() || a.Is4In6() {
		n = putIPv4(b, n, a.Unmap().As4())
		b[n] = ':'
		n = putUint(b, n+1, uint64(e.Remote.Port()))
	} else if a.IsValid() {
		b[n] = '['
		n = putIPv6(b, n+1, a.As16())
		b[n], b[n+1] = ']', ':'
		n = putUint(b, n+2, uint64(e.Remote.Port()))
	} else {
		b[n] = '0'
		n++
	}
	b[n] = ' '
	n = putUint(b, n+1, uint64(e.LocalPort))
	b[n] = ' '
	n += len(e.Flags.AppendText(b[n+1:n+1])) + 1
	// putUint stores whole words, up to seven bytes past a number's
	// digits, which the next field overwrites. The counts end the line,
	// and what lies past it in dst's capacity is not ours to write: they
	// go through a buffer of their own.
	var counts [3*20 + 2 + 8]byte
	c := putUint(counts[:], 0, e.Read)
	counts[c] = ' '
	c = putUint(counts[:], c+1, e.Written)
	counts[c] = ' '
	c = putUint(counts[:], c+1, e.Uptime)
	b[n] = ' '
	n += 1 + copy(b[n+1:], counts[:c])
	return dst[:start+n]
}

// digitPairs holds "00" to "99", for writing two digits at a time.
const digitPairs = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879" +
	"8081828384858687888990919293949596979899"

// putUint writes v in decimal at b[n:] and returns the index after it;
// below 1e8 it writes eight bytes, so b must have room for eight from n.
// Numbers are most of an entry line's cost, and their lengths vary from
// line to line, so the common case has no branch to mispredict: all eight
// digits are worked out at once in one word (decimal8), shifted past the
// leading zeros and stored whole.
func putUint(b []byte, n int, v uint64) int {
	if v >= 1e8 {
		return putLong(b, n, v)
	}
	digits := decimal8(v)
	skip := min(bits.TrailingZeros64(digits)>>3, 7) // leading zeros; "0" keeps one
	binary.LittleEndian.PutUint64(b[n:], (digits+ascii0)>>(8*skip))
	return n + 8 - skip
}

// putLong writes v, at least 1e8, in 8-digit blocks.
func putLong(b []byte, n int, v uint64) int {
	if v < 1e16 {
		n = putUint(b, n, v/1e8)
	} else {
		n = putUint(b, n, v/1e16) // at most 1844
		binary.LittleEndian.PutUint64(b[n:], decimal8(v/1e8%1e8)+ascii0)
		n += 8
	}
	binary.LittleEndian.PutUint64(b[n:], decimal8(v%1e8)+ascii0)
	return n + 8
}

// decimal8 returns the eight decimal digits of v, below 1e8, as the values
// 0 to 9 in the bytes of a little-endian word, the first digit lowest,
// leading zeros included. It divides lanes of the
// word at once: v into two 4-digit halves in 32-bit lanes, each into two
// 2-digit pairs in 16-bit lanes, each into two digits in bytes, dividing
// by multiplying (x*10486>>20 is x/100 below 10,000; x*103>>10 is x/10
// below 100) and masking off what spills from the lane above.
func decimal8(v uint64) uint64 {
	x := v/1e4 | v%1e4<<32
	q := x * 10486 >> 20 & 0x0000_007f_0000_007f
	x = q | (x-q*100)<<16
	q = x * 103 >> 10 & 0x000f_000f_000f_000f
	x = q | (x-q*10)<<8
	return x
}

// ascii0 turns eight digit values into their characters.
const ascii0 = 0x3030_3030_3030_3030

// putFingerprint writes fp as the OR_ID field at b[n:], as
// [connstate.Fingerprint.AppendText] does, but reading fp in place: the
// method's copy of its receiver costs a relay's line about 8 ns.
func putFingerprint(b []byte, n int, fp *connstate.Fingerprint) int {
	if fp.IsZero() {
		b[n] = '0'
		return n + 1
	}
	hexupper.Put20(b[n:], (*[20]byte)(fp))
	return n + 40
}

// putIPv4 writes a dotted quad at b[n:].
func putIPv4(b []byte, n int, ip [4]byte) int {
	for i, octet := range ip {
		if i > 0 {
			b[n] = '.'
			n++
		}
		if octet >= 100 {
			b[n] = '0' + octet/100
			octet %= 100
			b[n+1], b[n+2] = digitPairs[2*octet], digitPairs[2*octet+1]
			n += 3
		} else {
			n = putUint(b, n, uint64(octet))
		}
	}
	return n
}

// putIPv6 writes an IPv6 address at b[n:] in its RFC 5952 form: groups in
// lower-case hex without leading zeros, the longest run of two or more zero
// groups (the first, on a tie) as "::".
func putIPv6(b []byte, n int, ip [16]byte) int {
	var g [8]uint16
	for i := range g {
		g[i] = binary.BigEndian.Uint16(ip[2*i:])
	}
	zeroStart, zeroLen := -1, 1
	for i := 0; i < len(g); {
		j := i
		for j < len(g) && g[j] == 0 {
			j++
		}
		if j-i > zeroLen {
			zeroStart, zeroLen = i, j-i
		}
		i = j + 1
	}
	for i := 0; i < len(g); i++ {
		if i == zeroStart {
			b[n], b[n+1] = ':', ':'
			n += 2
			i += zeroLen - 1
			continue
		}
		if i > 0 && i != zeroStart+zeroLen {
			b[n] = ':'
			n++
		}
		n = putHex16(b, n, g[i])
	}
	return n
}

const lowerHex = "0123456789abcdef"

// putHex16 writes v in lower-case hex without leading zeros.
func putHex16(b []byte, n int, v uint16) int {
	switch {
	case v >= 0x1000:
		b[n], b[n+1], b[n+2], b[n+3] = lowerHex[v>>12], lowerHex[v>>8&0xf], lowerHex[v>>4&0xf], lowerHex[v&0xf]
		return n + 4
	case v >= 0x100:
		b[n], b[n+1], b[n+2] = lowerHex[v>>8], lowerHex[v>>4&0xf], lowerHex[v&0xf]
		return n + 3
	case v >= 0x10:
		b[n], b[n+1] = lowerHex[v>>4], lowerHex[v&0xf]
		return n + 2
	}
	b[n] = lowerHex[v]
	return n + 1
}

// AppendAll appends the value of conn/all to dst: the line of each entry
// that entries yields, in order, joined by "\n", with no trailing newline.
// It is the one place that joins entry lines.
func AppendAll(dst []byte, entries iter.Seq[*connstate.Entry]) []byte {
	first := true
	for e := range entries {
		if !first {
			dst = append(dst, '\n')
		}
		first = false
		dst = AppendEntry(dst, e)
	}
	return dst
}
