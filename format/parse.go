package format

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/internal/decimal"
)

// ErrSyntax is wrapped by every error of [Parse] and [ParseAll].
var ErrSyntax = errors.New("format: invalid entry line")

// fieldNames are the wire names of the nine fields, for error messages.
var fieldNames = [9]string{"CONN_ID", "CIRC_ID", "OR_ID", "IP:PORT", "L_PORT", "TYPE_FLAGS", "READ", "WRITE", "UPTIME"}

// Parse parses one entry line. Fields are separated by runs of spaces;
// fields after the ninth and TYPE_FLAGS characters after the third are
// ignored. Numbers must be canonical decimal (no sign, no leading zero)
// within range, OR_ID "0" or 40 upper-case hex digits, IP:PORT "0" or an
// address and port with IPv6 in brackets and no zone. An IPv4-mapped
// address is returned as IPv4.
func Parse(line string) (connstate.Entry, error) {
	var e connstate.Entry
	if parseFast(line, &e) {
		return e, nil
	}
	return parseFields(line)
}

// AppendParsed appends the entry of line, as [Parse] reads it, to dst.
// It keeps nothing of line: a reader decodes the lines in its buffer,
// without a copy, and into the slice it returns, without one either. On
// an error dst is returned as it was.
func AppendParsed(dst []connstate.Entry, line []byte) ([]connstate.Entry, error) {
	dst = append(dst, connstate.Entry{})
	if parseFast(line, &dst[len(dst)-1]) {
		return dst, nil
	}
	e, err := parseFields(string(line))
	if err != nil {
		return dst[:len(dst)-1], err
	}
	dst[len(dst)-1] = e
	return dst, nil
}

// parseFields parses a line field by field, and says which is wrong.
func parseFields(line string) (connstate.Entry, error) {
	// One pass over the bytes: fields are short, and a call per field to
	// a byte search costs more than the search.
	var f [9]string
	j := 0
	for i := range f {
		for j < len(line) && line[j] == ' ' {
			j++
		}
		if j == len(line) {
			return connstate.Entry{}, fmt.Errorf("%w: %d fields, want 9", ErrSyntax, i)
		}
		k := j
		for k < len(line) && line[k] != ' ' {
			k++
		}
		f[i], j = line[j:k], k
	}

	var e connstate.Entry
	var ok bool
	bad := func(i int, why string) (connstate.Entry, error) {
		return connstate.Entry{}, fmt.Errorf("%w: %s %q: %s", ErrSyntax, fieldNames[i], f[i], why)
	}
	if e.ConnID, ok = decimal.ParseUint64(f[0]); !ok || e.ConnID == 0 {
		return bad(0, "want a canonical decimal number from 1")
	}
	if e.CircID, ok = decimal.ParseUint64(f[1]); !ok {
		return bad(1, "want a canonical decimal number")
	}
	if e.Fingerprint, ok = parseORID(f[2]); !ok {
		return bad(2, `want "0" or 40 upper-case hex digits`)
	}
	var err error
	if e.Remote, err = parseAddrPort(f[3]); err != nil {
		return bad(3, err.Error())
	}
	port, ok := decimal.ParseUint64(f[4])
	if !ok || port > 65535 {
		return bad(4, "want a canonical decimal port")
	}
	e.LocalPort = uint16(port)
	if e.Flags, err = connstate.ParseFlags(f[5]); err != nil {
		return bad(5, err.Error())
	}
	for i, p := range []*uint64{&e.Read, &e.Written, &e.Uptime} {
		if *p, ok = decimal.ParseUint64(f[6+i]); !ok {
			return bad(6+i, "want a canonical decimal number")
		}
	}
	return e, nil
}

// parseORID reads the OR_ID field as the wire format spells it: "0", or 40
// upper-case hex digits of a fingerprint that is not zero. Controllers'
// spellings ('$', lower case) are connstate.ParseFingerprint's.
func parseORID(s string) (connstate.Fingerprint, bool) {
	var fp connstate.Fingerprint
	if s == "0" {
		return fp, true
	}
	if len(s) != 2*len(fp) {
		return fp, false
	}
	bad := byte(0)
	for i := range fp {
		hi, lo := upperHex[s[2*i]], upperHex[s[2*i+1]]
		bad |= hi | lo
		fp[i] = hi<<4 | lo&0x0f
	}
	if bad&0x80 != 0 {
		return connstate.Fingerprint{}, false
	}
	return fp, !fp.IsZero()
}

// upperHex maps an upper-case hex digit to its value and any other byte
// to 0x80: a table, since a fingerprint's 40 digits are most of a relay
// line's parse.
var upperHex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0x80
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('A'); c <= 'F'; c++ {
		t[c] = c - 'A' + 10
	}
	return t
}()

func parseAddrPort(s string) (netip.AddrPort, error) {
	if s == "0" {
		return netip.AddrPort{}, nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil {
		return netip.AddrPort{}, errors.New(`want "0", IPv4:PORT or [IPv6]:PORT`)
	}
	if ap.Addr().Zone() != "" {
		return netip.AddrPort{}, errors.New("an IPv6 zone is not allowed")
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// ParseAll parses the value of conn/all: entry lines separated by "\n" (a
// "\r" before it is allowed). An empty value holds no entries. The error
// names the first bad line, counting from 1.
func ParseAll(value string) ([]connstate.Entry, error) {
	if value == "" {
		return nil, nil
	}
	var entries []connstate.Entry
	for n := 1; ; n++ {
		line, rest, more := strings.Cut(value, "\n")
		e, err := Parse(strings.TrimSuffix(line, "\r"))
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		entries = append(entries, e)
		if !more {
			return entries, nil
		}
		value = rest
	}
}
