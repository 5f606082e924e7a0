package connstate

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is the handle of one registered connection. The hot path keeps it and
// calls [Conn.AddRead] and [Conn.AddWritten], each a single atomic add.
//
// All methods are safe for concurrent use. On a nil *Conn, or a Conn not
// returned by [Registry.Open], the counters do nothing, the accessors
// return zero values (Closed reports true), and the methods that change
// the connection return an error wrapping [ErrNil].
type Conn struct {
	// The first 64 bytes hold all that a snapshot reads for a leg's line,
	// so that each leg costs one cache miss on its connection, not two.
	id         uint64
	addr       netip.Addr // the remote address, stored apart from its port to fit the line
	remotePort uint16
	localPort  uint16
	state      atomic.Uint32 // packed Flags and the closed bit
	fp         atomic.Pointer[Fingerprint]
	since      atomic.Int64  // registry-relative nanoseconds: the open, then the establishment
	closedGen  atomic.Uint64 // the registry generation of the close; 0 while open

	// The second 64 bytes: the counters the hot path writes, and the rest.
	read        atomic.Uint64
	written     atomic.Uint64
	reg         *Registry
	mu          sync.Mutex // serialises the rare state changes; readers use the atomics
	rateLimited bool       // counts towards Totals
	_           [31]byte   // to 128 bytes, a size class aligned to 128: no line shared with another Conn
}

// The layout of Conn.state.
const (
	dirShift     = 0 // 2 bits
	estBit       = 1 << 2
	usageShift   = 3 // 3 bits
	netShift     = 6 // 2 bits
	closedBit    = 1 << 8
	usageMask    = 7 << usageShift
	networkMask  = 3 << netShift
	directionMsk = 3 << dirShift
)

func packState(f Flags) uint32 {
	s := uint32(f.Direction)<<dirShift | uint32(f.Usage)<<usageShift | uint32(f.Network)<<netShift
	if f.Established {
		s |= estBit
	}
	return s
}

func usageOf(s uint32) Usage { return Usage(s & usageMask >> usageShift) }

func flagsOf(s uint32) Flags {
	return Flags{
		Direction:   Direction(s & directionMsk >> dirShift),
		Established: s&estBit != 0,
		Usage:       usageOf(s),
		Network:     Network(s & networkMask >> netShift),
	}
}

// AddRead counts n bytes read from the connection's socket. It is one atomic
// add: no lock, no lookup, no allocation. Bytes added after [Conn.Close] are
// not counted anywhere.
func (c *Conn) AddRead(n uint64) {
	if c != nil {
		c.read.Add(n)
	}
}

// AddWritten counts n bytes written to the connection's socket, as
// [Conn.AddRead] does for reads.
func (c *Conn) AddWritten(n uint64) {
	if c != nil {
		c.written.Add(n)
	}
}

// ID returns the connection's ID (0 for a nil *Conn).
func (c *Conn) ID() uint64 {
	if c == nil {
		return 0
	}
	return c.id
}

// Read returns the bytes read so far.
func (c *Conn) Read() uint64 {
	if c == nil {
		return 0
	}
	return c.read.Load()
}

// Written returns the bytes written so far.
func (c *Conn) Written() uint64 {
	if c == nil {
		return 0
	}
	return c.written.Load()
}

// Flags returns the connection's current classification.
func (c *Conn) Flags() Flags {
	if c == nil {
		return Flags{}
	}
	return flagsOf(c.state.Load())
}

// Fingerprint returns the peer relay's fingerprint, or the zero Fingerprint.
func (c *Conn) Fingerprint() Fingerprint {
	if c == nil {
		return Fingerprint{}
	}
	if p := c.fp.Load(); p != nil {
		return *p
	}
	return Fingerprint{}
}

// Remote returns the peer's address and port as registered.
func (c *Conn) Remote() netip.AddrPort {
	if c == nil {
		return netip.AddrPort{}
	}
	return c.remote()
}

// LocalPort returns the local port as registered.
func (c *Conn) LocalPort() uint16 {
	if c == nil {
		return 0
	}
	return c.localPort
}

// remote returns the remote address and port as one.
func (c *Conn) remote() netip.AddrPort {
	if !c.addr.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(c.addr, c.remotePort)
}

// Closed reports whether [Conn.Close] has been called; it is true for a
// Conn that no registry opened.
func (c *Conn) Closed() bool { return !c.registered() || c.state.Load()&closedBit != 0 }

// registered reports whether c was returned by Registry.Open.
func (c *Conn) registered() bool { return c != nil && c.reg != nil }

// errNotRegistered is what the changes of a nil or zero Conn return.
var errNotRegistered = fmt.Errorf("%w: connection not opened by a Registry", ErrNil)

// change applies f to the state under the connection's lock, unless the
// connection is closed.
func (c *Conn) change(f func(s uint32) uint32) error {
	if !c.registered() {
		return errNotRegistered
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.state.Load()
	if s&closedBit != 0 {
		return fmt.Errorf("%w: connection %d", ErrClosed, c.id)
	}
	c.state.Store(f(s))
	return nil
}

// MarkEstablished records that the connection's handshake finished: its
// direction flag turns from 'i' to 'I' or 'o' to 'O', and its uptime counts
// from now. Marking an established connection again does nothing.
func (c *Conn) MarkEstablished() error {
	return c.change(func(s uint32) uint32 {
		if s&estBit == 0 {
			// The time before the flag: a reader that sees 'I' or 'O' sees the
			// uptime count from the establishment.
			c.since.Store(c.reg.now())
		}
		return s | estBit
	})
}

// SetFingerprint records that the peer authenticated as the relay with the
// given fingerprint: the connection's network becomes [NetworkTor].
func (c *Conn) SetFingerprint(fp Fingerprint) error {
	if fp.IsZero() {
		return fmt.Errorf("%w: set fingerprint: zero fingerprint", ErrInvalid)
	}
	return c.change(func(s uint32) uint32 {
		// Fingerprint before network: a reader that sees 'T' sees the fingerprint.
		c.fp.Store(&fp)
		return s&^networkMask | uint32(NetworkTor)<<netShift
	})
}

// SetNotRelay records that the peer is not a relay: the connection's network
// becomes [NetworkOutside] and any fingerprint is forgotten.
func (c *Conn) SetNotRelay() error {
	return c.change(func(s uint32) uint32 {
		// Network before fingerprint: a reader that still sees 'T' sees the
		// fingerprint that went with it. One that sees 't' may briefly see
		// the old fingerprint too, which scrubbing hides on 't' lines.
		c.state.Store(s&^networkMask | uint32(NetworkOutside)<<netShift)
		c.fp.Store(nil)
		return s&^networkMask | uint32(NetworkOutside)<<netShift
	})
}

// Close removes the connection from the registry. Its bytes stay in the
// registry's [Totals]; its lines, and its circuits' legs on it, disappear
// from snapshots. Closing it again returns an error wrapping [ErrClosed].
func (c *Conn) Close() error {
	if !c.registered() {
		return errNotRegistered
	}
	r := c.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := c.change(func(s uint32) uint32 { return s | closedBit }); err != nil {
		return err
	}
	r.gen++
	c.closedGen.Store(r.gen)
	r.conns.remove(c.id)
	r.countClose(c)
	return nil
}

// openAt reports whether the connection was open at registry generation g.
func (c *Conn) openAt(g uint64) bool {
	cg := c.closedGen.Load()
	return cg == 0 || cg > g
}

// fill writes the connection's line for circuit circ, with the given
// counters, into *e.
func (c *Conn) fill(e *Entry, now int64, circ, read, written uint64) {
	f := flagsOf(c.state.Load())
	since := c.since.Load()
	var up uint64
	if now > since {
		up = uint64(time.Duration(now-since) / time.Second)
	}
	e.ConnID, e.CircID = c.id, circ
	e.Remote, e.LocalPort = c.remote(), c.localPort
	e.Flags = f
	e.Read, e.Written, e.Uptime = read, written, up
	e.Origin = false
	if p := c.fp.Load(); p != nil {
		e.Fingerprint = *p
	} else {
		e.Fingerprint = Fingerprint{}
	}
}
