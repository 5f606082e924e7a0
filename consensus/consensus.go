package consensus

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/conninfo/conninfo/connstate"
)

// Consensus is the part of a consensus document that conninfo uses.
type Consensus struct {
	Microdesc  bool // the microdescriptor flavour
	ValidAfter time.Time
	FreshUntil time.Time
	ValidUntil time.Time
	Routers    []RouterStatus // in document order

	byID map[connstate.Fingerprint]int // index into Routers, the first entry of each identity
}

// RouterStatus is one router-status entry.
type RouterStatus struct {
	Nickname  string
	Identity  connstate.Fingerprint // the relay's identity fingerprint
	Published time.Time
	Addr      netip.Addr
	ORPort    uint16
	DirPort   uint16
	// ORAddrs are the further ORPorts of the entry's a lines (an IPv6 one,
	// in today's consensus), in document order.
	ORAddrs []netip.AddrPort
	Flags   []string // the s line
	// Text is the entry as the document has it, from its r line up to the
	// next entry, each line ending in "\n".
	Text string
}

// HasFlag reports whether the entry's s line lists flag.
func (r *RouterStatus) HasFlag(flag string) bool { return slices.Contains(r.Flags, flag) }

// Authorities returns the entries flagged Authority, in document order.
func (c *Consensus) Authorities() []RouterStatus {
	var out []RouterStatus
	for _, r := range c.Routers {
		if r.HasFlag("Authority") {
			out = append(out, r)
		}
	}
	return out
}

// ErrMalformed is wrapped by every error about a document's content.
var ErrMalformed = errors.New("consensus: malformed document")

// maxLine bounds one line; real consensus lines are far shorter.
const maxLine = 64 << 10

const timeLayout = "2006-01-02 15:04:05"

// Parse reads a consensus document. Errors name the line, counting from 1.
func Parse(r io.Reader) (*Consensus, error) {
	p := parser{sc: bufio.NewScanner(r)}
	p.sc.Buffer(make([]byte, 0, 4096), maxLine)
	p.sc.Split(p.splitLines)
	c, err := p.parse()
	if err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("%w: line %d: %d bytes or more", ErrMalformed, p.n+1, maxLine)
		}
		if errors.Is(err, ErrMalformed) {
			return nil, err
		}
		return nil, fmt.Errorf("consensus: reading: %w", err)
	}
	return c, nil
}

type parser struct {
	sc      *bufio.Scanner
	n       int    // number of the current line
	line    string // the current line
	partial bool   // the input ended inside a line
}

// splitLines splits at LF only, keeping any CR for the parser to refuse
// (bufio.ScanLines would drop one before the LF). A last line without its
// LF is not returned: the input ended or failed inside it, and parse
// reports which.
func (p *parser) splitLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		p.partial = true
	}
	return 0, nil, nil
}

func (p *parser) next() bool {
	if !p.sc.Scan() {
		return false
	}
	p.n++
	p.line = p.sc.Text()
	return true
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: line %d: %s", ErrMalformed, p.n, fmt.Sprintf(format, args...))
}

func (p *parser) parse() (*Consensus, error) {
	c := &Consensus{}
	if !p.next() {
		if err := p.endErr(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: empty document", ErrMalformed)
	}
	switch p.line {
	case "network-status-version 3":
	case "network-status-version 3 microdesc":
		c.Microdesc = true
	default:
		return nil, p.errorf("want \"network-status-version 3\", got %.60q", p.line)
	}

	// The header runs to the first r line.
	var sawStatus bool
	var entry *RouterStatus
	var entryLine int // where entry's r line is
	var text strings.Builder
	finish := func() error {
		if entry == nil {
			return nil
		}
		if entry.Flags == nil {
			return fmt.Errorf("%w: line %d: entry for %s has no s line", ErrMalformed, entryLine, entry.Nickname)
		}
		entry.Text = text.String()
		c.Routers = append(c.Routers, *entry)
		entry = nil
		text.Reset()
		return nil
	}
	for p.next() {
		if strings.ContainsAny(p.line, "\r\x00") {
			return nil, p.errorf("holds a CR or NUL byte")
		}
		keyword, args := p.line, ""
		if i := strings.IndexAny(p.line, " \t"); i >= 0 {
			keyword, args = p.line[:i], p.line[i+1:]
		}
		if entry == nil && keyword != "r" && keyword != "directory-footer" {
			if err := p.header(c, keyword, args, &sawStatus); err != nil {
				return nil, err
			}
			continue
		}
		switch keyword {
		case "directory-footer":
			if err := finish(); err != nil {
				return nil, err
			}
			if !sawStatus || c.ValidAfter.IsZero() || c.FreshUntil.IsZero() || c.ValidUntil.IsZero() {
				return nil, p.errorf("footer before the header's vote-status, valid-after, fresh-until and valid-until")
			}
			c.index()
			return c, nil
		case "r":
			if err := finish(); err != nil {
				return nil, err
			}
			rs, err := p.router(args, c.Microdesc)
			if err != nil {
				return nil, err
			}
			entry, entryLine = &rs, p.n
		case "a":
			ap, err := netip.ParseAddrPort(args)
			if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
				return nil, p.errorf("a line %.60q: want ADDRESS:PORT", args)
			}
			entry.ORAddrs = append(entry.ORAddrs, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
		case "s":
			if entry.Flags != nil {
				return nil, p.errorf("second s line for %s", entry.Nickname)
			}
			entry.Flags = strings.Fields(args)
			if entry.Flags == nil {
				entry.Flags = []string{}
			}
		}
		text.WriteString(p.line)
		text.WriteByte('\n')
	}
	if err := p.endErr(); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("%w: truncated after line %d: no directory-footer", ErrMalformed, p.n)
}

// endErr explains why the lines ran out: a read error, a last line cut
// short, or nil for a clean end.
func (p *parser) endErr() error {
	if err := p.sc.Err(); err != nil {
		return err
	}
	if p.partial {
		return fmt.Errorf("%w: line %d: no newline at the end of the document", ErrMalformed, p.n+1)
	}
	return nil
}

// header checks the header lines conninfo relies on; others pass unread.
func (p *parser) header(c *Consensus, keyword, args string, sawStatus *bool) error {
	var dst *time.Time
	switch keyword {
	case "vote-status":
		if args != "consensus" {
			return p.errorf("vote-status %.40q: not a consensus", args)
		}
		*sawStatus = true
		return nil
	case "valid-after":
		dst = &c.ValidAfter
	case "fresh-until":
		dst = &c.FreshUntil
	case "valid-until":
		dst = &c.ValidUntil
	default:
		return nil
	}
	t, err := time.Parse(timeLayout, args)
	if err != nil {
		return p.errorf("%s %.40q: want YYYY-MM-DD HH:MM:SS", keyword, args)
	}
	*dst = t
	return nil
}

// router parses an r line: nickname, identity, [digest,] date, time, IP,
// ORPort, DirPort.
func (p *parser) router(args string, microdesc bool) (RouterStatus, error) {
	f := strings.Fields(args)
	want := 8
	if microdesc {
		want = 7
	}
	if len(f) != want {
		return RouterStatus{}, p.errorf("r line has %d fields, want %d", len(f), want)
	}
	rs := RouterStatus{Nickname: f[0]}
	if !validNickname(f[0]) {
		return rs, p.errorf("r line nickname %.40q: want 1 to 19 letters and digits", f[0])
	}
	id, err := decodeDigest(f[1])
	if err != nil {
		return rs, p.errorf("r line identity %.40q: %v", f[1], err)
	}
	rs.Identity = connstate.Fingerprint(id)
	rest := f[2:]
	if !microdesc {
		if _, err := decodeDigest(f[2]); err != nil {
			return rs, p.errorf("r line digest %.40q: %v", f[2], err)
		}
		rest = f[3:]
	}
	if rs.Published, err = time.Parse(timeLayout, rest[0]+" "+rest[1]); err != nil {
		return rs, p.errorf("r line publication %.40q: want YYYY-MM-DD HH:MM:SS", rest[0]+" "+rest[1])
	}
	if rs.Addr, err = netip.ParseAddr(rest[2]); err != nil || !rs.Addr.Is4() {
		return rs, p.errorf("r line address %.40q: want IPv4", rest[2])
	}
	for i, dst := range []*uint16{&rs.ORPort, &rs.DirPort} {
		n, err := strconv.ParseUint(rest[3+i], 10, 16)
		if err != nil {
			return rs, p.errorf("r line port %.40q: want 0 to 65535", rest[3+i])
		}
		*dst = uint16(n)
	}
	return rs, nil
}

// decodeDigest decodes a 20-byte digest in base64, with or without padding.
func decodeDigest(s string) ([20]byte, error) {
	var d [20]byte
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return d, errors.New("not base64")
	}
	if len(b) != len(d) {
		return d, fmt.Errorf("%d bytes, want 20", len(b))
	}
	copy(d[:], b)
	return d, nil
}

func validNickname(s string) bool {
	if len(s) == 0 || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// index builds byID; the first entry of an identity wins, as a lookup by
// identity would find it in document order.
func (c *Consensus) index() {
	c.byID = make(map[connstate.Fingerprint]int, len(c.Routers))
	for i := range c.Routers {
		if _, dup := c.byID[c.Routers[i].Identity]; !dup {
			c.byID[c.Routers[i].Identity] = i
		}
	}
}

// Lookup returns the entry of the relay with identity fp, the first in
// document order, and false if the consensus lists none.
func (c *Consensus) Lookup(fp connstate.Fingerprint) (*RouterStatus, bool) {
	if c == nil {
		return nil, false
	}
	if c.byID != nil {
		i, ok := c.byID[fp]
		if !ok {
			return nil, false
		}
		return &c.Routers[i], true
	}
	for i := range c.Routers { // a Consensus built by hand, not parsed
		if c.Routers[i].Identity == fp {
			return &c.Routers[i], true
		}
	}
	return nil, false
}

// LookupRelay reports whether the consensus lists a relay with identity
// fp, and, if addr is one of the addresses it publishes an ORPort at (the
// r line's, or an a line's), that address and ORPort: the zero AddrPort
// otherwise. It is what the public tier of package scrub asks of its
// scrub.Relays.
func (c *Consensus) LookupRelay(fp connstate.Fingerprint, addr netip.Addr) (netip.AddrPort, bool) {
	r, ok := c.Lookup(fp)
	if !ok {
		return netip.AddrPort{}, false
	}
	return r.PublishedAt(addr), true
}

// Nickname returns the nickname of the relay with identity fp, as ORCONN
// events name a relay ("$FINGERPRINT~nickname"), and false if the
// consensus lists none.
func (c *Consensus) Nickname(fp connstate.Fingerprint) (string, bool) {
	r, ok := c.Lookup(fp)
	if !ok {
		return "", false
	}
	return r.Nickname, true
}

// PublishedAt returns the ORPort the entry publishes at addr (compared
// without zone, IPv4-mapped as IPv4), or the zero AddrPort if it publishes
// none there.
func (r *RouterStatus) PublishedAt(addr netip.Addr) netip.AddrPort {
	addr = addr.Unmap().WithZone("")
	if !addr.IsValid() {
		return netip.AddrPort{}
	}
	if r.Addr == addr && r.ORPort != 0 {
		return netip.AddrPortFrom(r.Addr, r.ORPort)
	}
	for _, ap := range r.ORAddrs {
		if ap.Addr() == addr {
			return ap
		}
	}
	return netip.AddrPort{}
}

// AppendAuthorities appends the text of the entries flagged Authority,
// each ending in "\n", as ns/authority answers them.
func (c *Consensus) AppendAuthorities(dst []byte) []byte {
	for _, r := range c.Authorities() {
		dst = append(dst, r.Text...)
	}
	return dst
}
