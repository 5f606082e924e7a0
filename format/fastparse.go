package format

import (
	"math/bits"
	"net/netip"

	"github.com/conninfo/conninfo/connstate"
)

// text is a line as either type: Parse reads strings, AppendParsed the
// bytes of a reply in a reader's buffer, without a copy.
type text interface{ ~string | ~[]byte }

// parseFast reads a line spelled as AppendEntry writes it, in one pass
// over its bytes and without allocating but for an IPv6 address, and
// reports false for any line it is not sure of; parseFields then reads
// that one field by field, and says what is wrong. The two agree on
// every line parseFast accepts (TestParseFastAgrees): this one is
// written by hand because a controller decodes conn/all by the hundred
// thousand lines, and the field-by-field parse costs four times as much.
func parseFast[T text](s T, e *connstate.Entry) (ok bool) {
	i := skip(s, 0)
	if e.ConnID, i, ok = uintField(s, i); !ok || e.ConnID == 0 {
		return false
	}
	if e.CircID, i, ok = uintField(s, skip(s, i)); !ok {
		return false
	}
	if i = skip(s, i); i+1 < len(s) && s[i] == '0' && s[i+1] == ' ' {
		i++
	} else if e.Fingerprint, i, ok = orID(s, i); !ok {
		return false
	}
	if e.Remote, i, ok = addrPortField(s, skip(s, i)); !ok {
		return false
	}
	port, i, ok := uintField(s, skip(s, i))
	if !ok || port > 65535 {
		return false
	}
	e.LocalPort = uint16(port)
	if e.Flags, i, ok = flagsField(s, skip(s, i)); !ok {
		return false
	}
	if e.Read, i, ok = uintField(s, skip(s, i)); !ok {
		return false
	}
	if e.Written, i, ok = uintField(s, skip(s, i)); !ok {
		return false
	}
	if e.Uptime, _, ok = uintField(s, skip(s, i)); !ok {
		return false
	}
	return true
}

// skip returns the index of the first byte from i that is not a space.
func skip[T text](s T, i int) int {
	for i < len(s) && s[i] == ' ' {
		i++
	}
	return i
}

// uintField reads a canonical decimal of at most 19 digits at i, which
// must end the line or a field; a twentieth digit is left to
// parseFields, which checks the range. Eight digits at a time where eight
// bytes follow ([digits8]), else one at a time.
func uintField[T text](s T, i int) (v uint64, end int, ok bool) {
	if i+1 < len(s) && s[i] == '0' && s[i+1] == ' ' {
		return 0, i + 1, true // a client's line is mostly zeros
	}
	start := i
	for i+8 <= len(s) && i-start < 16 {
		d, n := digits8(load8(s, i))
		if n == 0 {
			break
		}
		v = v*pow10[n] + d
		i += n
		if n < 8 {
			goto done
		}
	}
	for i < len(s) && i-start < 19 {
		d := s[i] - '0'
		if d > 9 {
			break
		}
		v = v*10 + uint64(d)
		i++
	}
done:
	n := i - start
	if n == 0 || n > 19 || (n > 1 && s[start] == '0') || (i < len(s) && s[i] != ' ') {
		return 0, i, false
	}
	return v, i, true
}

// pow10 holds 10^0 to 10^19.
var pow10 = [20]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// load8 returns the eight bytes of s from i as a little-endian word: the
// first byte lowest.
func load8[T text](s T, i int) uint64 {
	s = s[i : i+8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

// digits8 returns the value of the decimal digits that begin the word x
// (eight bytes, the first lowest) and how many there are, 0 to 8.
//
// A byte is a digit when subtracting '0' does not borrow and adding
// 0x46 does not reach 0x80; the lowest byte that is not has no borrow or
// carry from below, so its flag is exact, and the bytes above it are
// left out. The digits, moved to the top of the word with zeros below
// (leading zeros, worth nothing), are summed in pairs, fours and eights,
// a multiply each.
func digits8(x uint64) (uint64, int) {
	const ones = 0x0101010101010101
	nondigit := ((x - 0x30*ones) | (x + 0x46*ones)) & (0x80 * ones)
	n := 8
	if nondigit != 0 {
		n = bits.TrailingZeros64(nondigit) / 8
	}
	if n == 0 {
		return 0, 0
	}
	d := (x & (0x0F * ones)) << (8 * (8 - n))
	d = (d * (10<<8 + 1)) >> 8
	d = ((d & 0x00FF00FF00FF00FF) * (100<<16 + 1)) >> 16
	d = ((d & 0x0000FFFF0000FFFF) * (10000<<32 + 1)) >> 32
	return d, n
}

// orID reads 40 upper-case hex digits ending a field, of a fingerprint
// that is not zero, eight digits at a time ([hex8]).
func orID[T text](s T, i int) (fp connstate.Fingerprint, end int, ok bool) {
	if i+40 > len(s) || (i+40 < len(s) && s[i+40] != ' ') {
		return fp, i, false
	}
	for k := 0; k < 5; k++ {
		v, ok := hex8(load8(s, i+8*k))
		if !ok {
			return fp, i, false
		}
		fp[4*k], fp[4*k+1], fp[4*k+2], fp[4*k+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
	return fp, i + 40, !fp.IsZero()
}

// hex8 decodes eight upper-case hex digits (the word's bytes, the first
// lowest) into four bytes (the first lowest), and reports whether all
// eight are such digits.
//
// The check runs in seven-bit lanes: with each byte's top bit set,
// subtracting a bound below 0x80 cannot borrow from the next byte, and
// the top bit left says whether the byte was at least the bound. A digit
// is worth its low nibble, a letter its low nibble plus 9 (0x40 marks the
// letters); the nibbles are then paired and the pairs packed.
func hex8(x uint64) (uint32, bool) {
	const ones, top = 0x0101010101010101, 0x8080808080808080
	atLeast := func(n uint64) uint64 { return ((x | top) - n*ones) & top }
	digit := atLeast('0') &^ atLeast('9'+1)
	letter := atLeast('A') &^ atLeast('F'+1)
	if x&top != 0 || digit|letter != top {
		return 0, false
	}
	v := x&(0x0F*ones) + 9*((x>>6)&ones)
	v = (v&0x000F000F000F000F)<<4 | (v>>8)&0x000F000F000F000F
	v = (v | v>>8) & 0x0000FFFF0000FFFF
	return uint32(v | v>>16), true
}

// addrPortField reads "0", or IPv4:PORT by hand, or [IPv6]:PORT by
// netip.
func addrPortField[T text](s T, i int) (ap netip.AddrPort, end int, ok bool) {
	if i+1 < len(s) && s[i] == '0' && s[i+1] == ' ' {
		return ap, i + 1, true
	}
	if i < len(s) && s[i] == '[' {
		return ipv6Field(s, i)
	}
	var a [4]byte
	for k := range a {
		v, start := 0, i
		for i < len(s) && i-start < 3 && s[i]-'0' <= 9 {
			v = v*10 + int(s[i]-'0')
			i++
		}
		sep := byte('.')
		if k == 3 {
			sep = ':'
		}
		if i == start || v > 255 || (i-start > 1 && s[start] == '0') || i >= len(s) || s[i] != sep {
			return ap, i, false
		}
		a[k] = byte(v)
		i++
	}
	port, i, ok := uintField(s, i)
	if !ok || port > 65535 {
		return ap, i, false
	}
	return netip.AddrPortFrom(netip.AddrFrom4(a), uint16(port)), i, true
}

// ipv6Field reads "[IPv6]:PORT" at i, where s[i] is '[', by hand: the
// address in lower-case hex groups of one to four digits, with at most one
// "::", as AppendEntry writes it (and any other zero compression). It
// reports false for anything else (upper case, a zone, a dotted tail),
// which parseFields then reads: converting the bytes to a string for
// netip would allocate a line.
func ipv6Field[T text](s T, i int) (ap netip.AddrPort, end int, ok bool) {
	var groups [8]uint16
	n, gap := 0, -1 // groups read, and how many came before "::"
	i++
	if i+1 < len(s) && s[i] == ':' && s[i+1] == ':' {
		gap, i = 0, i+2
	}
	for i < len(s) && s[i] != ']' {
		if n == len(groups) {
			return ap, i, false
		}
		v, end, ok := hexGroup(s, i)
		if !ok {
			return ap, end, false
		}
		groups[n], i = v, end
		n++
		switch {
		case i+1 < len(s) && s[i] == ':' && s[i+1] == ':':
			if gap >= 0 {
				return ap, i, false // a second "::"
			}
			gap, i = n, i+2
		case i+1 < len(s) && s[i] == ':' && s[i+1] != ']':
			i++
		case i < len(s) && s[i] != ']':
			return ap, i, false // a colon before ']', or any other byte
		}
	}
	if i+1 >= len(s) || s[i+1] != ':' || (gap < 0 && n != 8) || (gap >= 0 && n == 8) {
		return ap, i, false
	}
	var a [16]byte
	tail := 8 - n // where the groups after "::" start, in groups
	for k := range n {
		at := k
		if gap >= 0 && k >= gap {
			at = k + tail
		}
		a[2*at], a[2*at+1] = byte(groups[k]>>8), byte(groups[k])
	}
	port, i, ok := uintField(s, i+2)
	if !ok || port > 65535 {
		return ap, i, false
	}
	return netip.AddrPortFrom(netip.AddrFrom16(a).Unmap(), uint16(port)), i, true
}

// hexGroup reads an IPv6 group at i: one to four lower-case hex digits.
func hexGroup[T text](s T, i int) (v uint16, end int, ok bool) {
	start := i
	for ; i < len(s) && i-start <= 4; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | uint16(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | uint16(c-'a'+10)
		default:
			return v, i, i > start
		}
	}
	return v, i, i > start && i-start <= 4
}

// flagsField reads TYPE_FLAGS: its three characters, and skips any that
// follow.
func flagsField[T text](s T, i int) (f connstate.Flags, end int, ok bool) {
	if i+3 > len(s) {
		return f, i, false
	}
	f, bad := connstate.FlagsOf(s[i], s[i+1], s[i+2])
	if bad != 0 {
		return f, i, false
	}
	i += 3
	for i < len(s) && s[i] != ' ' {
		i++
	}
	return f, i, true
}
