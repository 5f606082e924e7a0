package connstate

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/conninfo/conninfo/internal/hexupper"
)

// Direction says which side opened a connection.
type Direction uint8

// The directions. The zero Direction is invalid: [Registry.Open] rejects it.
const (
	Inbound  Direction = iota + 1 // the peer connected to us (or a listener)
	Outbound                      // we connected to the peer
)

// Valid reports whether d is [Inbound] or [Outbound].
func (d Direction) Valid() bool { return d == Inbound || d == Outbound }

// String returns "inbound", "outbound" or "Direction(N)".
func (d Direction) String() string {
	switch d {
	case Inbound:
		return "inbound"
	case Outbound:
		return "outbound"
	}
	return fmt.Sprintf("Direction(%d)", uint8(d))
}

// Usage says what a connection carries.
type Usage uint8

// The usages. The zero Usage is invalid: [Registry.Open] rejects it.
const (
	UsageClient        Usage = iota + 1 // client traffic (TYPE_FLAGS 'C')
	UsageRelay                          // relayed traffic ('R')
	UsageControl                        // a controller ('X')
	UsageHiddenService                  // hidden-service traffic ('H')
	UsageDirectory                      // directory requests ('D')
)

// Valid reports whether u is one of the named usages.
func (u Usage) Valid() bool { return u >= UsageClient && u <= UsageDirectory }

// String returns "client", "relay", "control", "hidden-service", "directory" or "Usage(N)".
func (u Usage) String() string {
	switch u {
	case UsageClient:
		return "client"
	case UsageRelay:
		return "relay"
	case UsageControl:
		return "control"
	case UsageHiddenService:
		return "hidden-service"
	case UsageDirectory:
		return "directory"
	}
	return fmt.Sprintf("Usage(%d)", uint8(u))
}

// Network says whether the peer is known to be a Tor relay.
type Network uint8

// The networks. The zero Network is invalid: [Registry.Open] rejects it.
// A peer whose nature is not yet known is [NetworkOutside]: the registry
// never assumes that a peer is a relay.
const (
	NetworkTor     Network = iota + 1 // the peer is a Tor relay ('T')
	NetworkOutside                    // the peer is outside the Tor network, or not known to be a relay ('t')
)

// Valid reports whether n is [NetworkTor] or [NetworkOutside].
func (n Network) Valid() bool { return n == NetworkTor || n == NetworkOutside }

// String returns "tor", "outside" or "Network(N)".
func (n Network) String() string {
	switch n {
	case NetworkTor:
		return "tor"
	case NetworkOutside:
		return "outside"
	}
	return fmt.Sprintf("Network(%d)", uint8(n))
}

// Flags is a connection's classification: the TYPE_FLAGS field of an entry line.
type Flags struct {
	Direction   Direction
	Established bool
	Usage       Usage
	Network     Network
}

// Valid reports whether every category of f holds a named value.
func (f Flags) Valid() bool {
	return f.Direction.Valid() && f.Usage.Valid() && f.Network.Valid()
}

// The TYPE_FLAGS characters, indexed by the category values.
const (
	usageChars   = "?CRXHD"
	networkChars = "?Tt"
)

// AppendText appends the three TYPE_FLAGS characters of f to b, for example
// "ORT". A category that holds no named value is written as '?', which
// [ParseFlags] rejects.
func (f Flags) AppendText(b []byte) []byte {
	var d byte = '?'
	switch f.Direction {
	case Inbound:
		d = 'i'
	case Outbound:
		d = 'o'
	}
	if f.Established && d != '?' {
		d -= 'a' - 'A'
	}
	u, n := byte('?'), byte('?')
	if f.Usage.Valid() {
		u = usageChars[f.Usage]
	}
	if f.Network.Valid() {
		n = networkChars[f.Network]
	}
	return append(b, d, u, n)
}

// String returns the TYPE_FLAGS characters of f, for example "IRt".
func (f Flags) String() string { return string(f.AppendText(make([]byte, 0, 3))) }

// ErrBadFlags is wrapped by the error [ParseFlags] returns.
var ErrBadFlags = errors.New("connstate: invalid TYPE_FLAGS")

// ParseFlags parses the TYPE_FLAGS field of an entry line. It reads the
// first three characters and ignores any that follow, as the wire format
// asks of consumers.
func ParseFlags(s string) (Flags, error) {
	if len(s) < 3 {
		return Flags{}, fmt.Errorf("%w %q: want at least 3 characters", ErrBadFlags, s)
	}
	f, bad := FlagsOf(s[0], s[1], s[2])
	switch bad {
	case 0:
		return f, nil
	case 1:
		return Flags{}, fmt.Errorf("%w %q: direction %q is none of I, i, O, o", ErrBadFlags, s, s[0])
	case 2:
		return Flags{}, fmt.Errorf("%w %q: usage %q is none of C, R, X, H, D", ErrBadFlags, s, s[1])
	}
	return Flags{}, fmt.Errorf("%w %q: network %q is neither T nor t", ErrBadFlags, s, s[2])
}

// FlagsOf reads the three TYPE_FLAGS characters direction, usage and
// network, and returns 0 with the flags, or which of the three (1, 2 or
// 3) is none of its category's: for a parser that reads lines in place,
// with no string to hand [ParseFlags].
func FlagsOf(direction, usage, network byte) (f Flags, bad int) {
	switch direction {
	case 'I':
		f.Direction, f.Established = Inbound, true
	case 'i':
		f.Direction = Inbound
	case 'O':
		f.Direction, f.Established = Outbound, true
	case 'o':
		f.Direction = Outbound
	default:
		return Flags{}, 1
	}
	for u := UsageClient; u <= UsageDirectory; u++ {
		if usage == usageChars[u] {
			f.Usage = u
		}
	}
	if f.Usage == 0 {
		return Flags{}, 2
	}
	switch network {
	case 'T':
		f.Network = NetworkTor
	case 't':
		f.Network = NetworkOutside
	default:
		return Flags{}, 3
	}
	return f, 0
}

// Fingerprint is a relay's identity fingerprint: the SHA-1 digest of its
// identity key. The zero Fingerprint means "none" (no relay has it).
type Fingerprint [20]byte

// IsZero reports whether fp is the zero Fingerprint, meaning "none".
func (fp Fingerprint) IsZero() bool {
	// Three word loads: comparing with a zero array calls memequal.
	return binary.LittleEndian.Uint64(fp[0:8])|binary.LittleEndian.Uint64(fp[8:16])|uint64(binary.LittleEndian.Uint32(fp[16:20])) == 0
}

// AppendText appends the 40 upper-case hex digits of fp to b, or "0" for the
// zero Fingerprint, as the OR_ID field of an entry line, eight digits at a
// time ([hexupper.Put20]): entry lines are written by the hundred thousand.
func (fp Fingerprint) AppendText(b []byte) []byte {
	if fp.IsZero() {
		return append(b, '0')
	}
	n := len(b)
	b = slices.Grow(b, 2*len(fp))[:n+2*len(fp)]
	hexupper.Put20(b[n:], (*[20]byte)(&fp))
	return b
}

// String returns the 40 upper-case hex digits of fp, or "0" for the zero Fingerprint.
func (fp Fingerprint) String() string { return string(fp.AppendText(make([]byte, 0, 40))) }

// ErrBadFingerprint is wrapped by the error [ParseFingerprint] returns.
var ErrBadFingerprint = errors.New("connstate: invalid relay fingerprint")

// ParseFingerprint parses 40 hex digits, in either case, with an optional
// leading '$' as controllers write them. "0" parses as the zero Fingerprint.
func ParseFingerprint(s string) (Fingerprint, error) {
	var fp Fingerprint
	if s == "0" {
		return fp, nil
	}
	h := s
	if len(h) > 0 && h[0] == '$' {
		h = h[1:]
	}
	if len(h) != 2*len(fp) {
		return fp, fmt.Errorf("%w %q: want 40 hex digits", ErrBadFingerprint, s)
	}
	if _, err := hex.Decode(fp[:], []byte(h)); err != nil {
		return Fingerprint{}, fmt.Errorf("%w %q: %v", ErrBadFingerprint, s, err)
	}
	return fp, nil
}

// Entry is the data of one entry line of conn/all: a connection as a whole
// (CircID 0), or one circuit's leg on a connection.
//
// Entries are plain values: copying one shares nothing with the registry.
type Entry struct {
	ConnID      uint64         // CONN_ID, from 1
	CircID      uint64         // CIRC_ID; 0 on a connection's own line
	Fingerprint Fingerprint    // OR_ID; zero when none
	Remote      netip.AddrPort // IP:PORT; the zero AddrPort when unknown or scrubbed
	LocalPort   uint16         // L_PORT; 0 when unknown or scrubbed
	Flags       Flags          // TYPE_FLAGS
	Read        uint64         // READ: bytes read (the circuit's bytes on a leg line)
	Written     uint64         // WRITE: bytes written (likewise)
	Uptime      uint64         // UPTIME: whole seconds since established, or since the attempt began

	// Origin is true on a leg line of a circuit this relay built for its
	// own use ([CircuitConfig.Origin]); false on every other line. It is
	// not a field of the line: scrub policies decide with it which legs
	// may be shown.
	Origin bool
}
