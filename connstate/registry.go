package connstate

import (
	"fmt"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Registry holds a relay's open connections and circuits, and the byte
// totals of everything it has held.
//
// A Registry is safe for concurrent use; see the package documentation for
// what its snapshots guarantee. Make one with [NewRegistry]: a nil or zero
// Registry holds nothing, and its methods return [ErrNil] or empty results.
type Registry struct {
	clock Clock
	epoch time.Time // nanosecond offsets from here are what connections store

	// spare is a snapshot's scratch space, kept for the next one. A lone
	// pointer rather than a sync.Pool, which drops items at random under the
	// race detector: warm snapshots allocate nothing in every build.
	spare atomic.Pointer[snapshot]

	mu         sync.RWMutex
	lastConnID uint64
	lastCircID uint64
	gen        uint64 // bumped by every close, so snapshots can tell what closed before them
	conns      table[Conn]
	circs      table[Circuit]
	origins    table[Circuit]                      // the origin circuits among circs, for snapshots of their legs alone
	closed     Totals                              // bytes of closed connections
	opened     [2][UsageDirectory + 1][3][3]uint64 // connections opened, by direction, usage, network and family

	countPrivate bool // rate limit (count in Totals) private and loopback peers too

	// walksMu guards walks, the Totals calls under way; a close, which holds
	// mu too, tells each of them about a connection it has already counted.
	walksMu sync.Mutex
	walks   []*totalsWalk
}

// Option configures a [Registry].
type Option func(*Registry)

// WithClock makes the registry read time from c instead of the real clock,
// so that tests can control uptimes.
func WithClock(c Clock) Option {
	return func(r *Registry) {
		if c != nil {
			r.clock = c
		}
	}
}

// CountPrivate makes the registry count connections to loopback and
// private addresses as rate limited, so that their bytes show in
// [Totals]: tor's CountPrivateBandwidth, for test networks that run on
// one host or one private network.
func CountPrivate() Option {
	return func(r *Registry) { r.countPrivate = true }
}

// NewRegistry returns an empty registry.
func NewRegistry(opts ...Option) *Registry {
	r := &Registry{clock: realClock{}}
	for _, o := range opts {
		o(r)
	}
	r.epoch = r.clock.Now()
	return r
}

// now returns the clock's reading as nanoseconds since the registry began.
func (r *Registry) now() int64 { return r.offset(r.clock.Now()) }

// offset returns t as nanoseconds since the registry began.
func (r *Registry) offset(t time.Time) int64 { return int64(t.Sub(r.epoch)) }

// Clock returns the clock the registry reads: the one given to
// [WithClock], or the real clock; nil for a nil or zero Registry.
func (r *Registry) Clock() Clock {
	if !r.usable() {
		return nil
	}
	return r.clock
}

// usable reports whether r was made by NewRegistry.
func (r *Registry) usable() bool { return r != nil && r.clock != nil }

// errUnusable is what the methods of a nil or zero Registry return.
var errUnusable = fmt.Errorf("%w: registry not made by NewRegistry", ErrNil)

// MaxExplicitID is the largest ID that [ConnConfig] and [CircuitConfig]
// may ask for. It leaves 2^63 IDs to issue after it, so that no requested
// ID can exhaust the IDs of a registry.
const MaxExplicitID = 1<<63 - 1

// ConnConfig describes a connection being opened with [Registry.Open].
type ConnConfig struct {
	// ID is normally 0, meaning the next free ID. A nonzero ID, for replaying
	// recorded state, must exceed every connection ID issued so far and be
	// at most [MaxExplicitID].
	ID uint64

	Direction Direction // required
	Usage     Usage     // required
	// Network is required. A peer not yet known to be a relay is
	// NetworkOutside; [Conn.SetFingerprint] promotes it later.
	Network Network
	// Fingerprint is the relay's identity, if already known; it requires
	// NetworkTor.
	Fingerprint Fingerprint

	// Remote is the peer's address and port; the zero AddrPort if unknown.
	// An IPv4-mapped IPv6 address is stored as IPv4, and a zone is dropped.
	Remote    netip.AddrPort
	LocalPort uint16 // 0 if unknown

	// Established opens the connection already established, as for an
	// accepted TCP connection that needs no handshake to be counted.
	Established bool

	// Unix says that the connection runs over a unix socket or an
	// in-process link: like one to a loopback peer, it is not rate
	// limited, so its bytes are not in [Totals].
	Unix bool
}

func (cfg *ConnConfig) validate() error {
	switch {
	case !cfg.Direction.Valid():
		return fmt.Errorf("%w: direction %v", ErrInvalid, cfg.Direction)
	case !cfg.Usage.Valid():
		return fmt.Errorf("%w: usage %v", ErrInvalid, cfg.Usage)
	case !cfg.Network.Valid():
		return fmt.Errorf("%w: network %v", ErrInvalid, cfg.Network)
	case !cfg.Fingerprint.IsZero() && cfg.Network != NetworkTor:
		return fmt.Errorf("%w: a fingerprint needs NetworkTor, not %v", ErrInvalid, cfg.Network)
	}
	return nil
}

// normalizeRemote keeps what the wire format can show: no zone, and IPv4 as IPv4.
func normalizeRemote(ap netip.AddrPort) netip.AddrPort {
	if !ap.Addr().IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())
}

// nextID picks the ID for a new object: the next one, or the requested one
// if it keeps IDs increasing.
func nextID(last, want uint64) (uint64, error) {
	switch {
	case want == 0 && last == math.MaxUint64:
		return 0, fmt.Errorf("%w: IDs exhausted", ErrIDOrder)
	case want == 0:
		return last + 1, nil
	case want > MaxExplicitID:
		return 0, fmt.Errorf("%w: requested ID %d is above MaxExplicitID", ErrInvalid, want)
	case want <= last:
		return 0, fmt.Errorf("%w: %d <= %d", ErrIDOrder, want, last)
	}
	return want, nil
}

// Open registers a new connection and returns its handle. The hot path keeps
// the handle and counts bytes on it; [Conn.Close] ends it.
func (r *Registry) Open(cfg ConnConfig) (*Conn, error) {
	if !r.usable() {
		return nil, fmt.Errorf("%w: open connection", errUnusable)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	remote := normalizeRemote(cfg.Remote)
	c := &Conn{
		reg:        r,
		addr:       remote.Addr(),
		remotePort: remote.Port(),
		localPort:  cfg.LocalPort,
	}
	c.rateLimited = !cfg.Unix && (r.countPrivate || !Internal(remote.Addr()))
	c.state.Store(packState(Flags{
		Direction:   cfg.Direction,
		Established: cfg.Established,
		Usage:       cfg.Usage,
		Network:     cfg.Network,
	}))
	if !cfg.Fingerprint.IsZero() {
		fp := cfg.Fingerprint
		c.fp.Store(&fp)
	}
	c.since.Store(r.now())

	r.mu.Lock()
	defer r.mu.Unlock()
	id, err := nextID(r.lastConnID, cfg.ID)
	if err != nil {
		return nil, fmt.Errorf("%w (open connection)", err)
	}
	r.lastConnID, c.id = id, id
	r.conns.add(id, c)
	r.opened[cfg.Direction-1][cfg.Usage][cfg.Network][familyOf(remote.Addr())]++
	return c, nil
}

// familyOf is an index of the address families: none, IPv4, IPv6.
func familyOf(a netip.Addr) int {
	switch {
	case !a.IsValid():
		return 0
	case a.Is4():
		return 1
	}
	return 2
}

// OpenedCount is how many connections of one class a registry has opened
// since it began, closed ones included: C tor's count of connections
// created.
type OpenedCount struct {
	Direction Direction
	Usage     Usage
	Network   Network
	// Family is the peer's address family: 4, 6, or 0 for none (a unix
	// socket's, or an unknown peer's).
	Family int
	Count  uint64
}

// Opened returns the counts of the connections opened, a class each,
// those with none left out.
func (r *Registry) Opened() []OpenedCount {
	if !r.usable() {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []OpenedCount
	for d := range r.opened {
		for u := range r.opened[d] {
			for n := range r.opened[d][u] {
				for f, count := range r.opened[d][u][n] {
					if count > 0 {
						out = append(out, OpenedCount{Direction: Direction(d + 1), Usage: Usage(u), Network: Network(n), Family: [3]int{0, 4, 6}[f], Count: count})
					}
				}
			}
		}
	}
	return out
}

// CircuitConfig describes a circuit being opened with [Registry.OpenCircuit].
type CircuitConfig struct {
	// ID is normally 0, meaning the next free global circuit ID. A nonzero
	// ID, for replaying recorded state, must exceed every circuit ID issued
	// so far and be at most [MaxExplicitID]. These are not link-level
	// circuit IDs.
	ID uint64

	// Origin says that this relay built the circuit for its own use (its
	// testing, directory or onion-service circuits: tor's origin circuits,
	// the ones circuit-status lists), rather than carrying it for others.
	Origin bool
	// Purpose is an origin circuit's purpose as tor's CIRC event names it
	// (GENERAL, TESTING, HS_SERVICE_INTRO, ...): upper-case letters,
	// digits and underscores. Empty means GENERAL.
	Purpose string
}

// DefaultPurpose is an origin circuit's purpose when CircuitConfig.Purpose
// is empty.
const DefaultPurpose = "GENERAL"

func validPurpose(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return len(p) <= 64
}

// OpenCircuit registers a new circuit with no legs. Bind its legs with
// [Circuit.BindInbound], [Circuit.BindOutbound] and [Circuit.BindExit].
func (r *Registry) OpenCircuit(cfg CircuitConfig) (*Circuit, error) {
	if !r.usable() {
		return nil, fmt.Errorf("%w: open circuit", errUnusable)
	}
	if !validPurpose(cfg.Purpose) {
		return nil, fmt.Errorf("%w: circuit purpose %q: want upper-case letters, digits and underscores", ErrInvalid, cfg.Purpose)
	}
	purpose := cfg.Purpose
	if purpose == "" {
		purpose = DefaultPurpose
	}
	opened := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	id, err := nextID(r.lastCircID, cfg.ID)
	if err != nil {
		return nil, fmt.Errorf("%w (open circuit)", err)
	}
	c := &Circuit{reg: r, id: id}
	if cfg.Origin {
		c.origin = &originCircuit{purpose: purpose, opened: opened}
	}
	r.lastCircID = id
	r.circs.add(id, c)
	if cfg.Origin {
		r.origins.add(id, c)
	}
	return c, nil
}

// Counts returns how many connections and circuits are open.
func (r *Registry) Counts() (conns, circuits int) {
	if !r.usable() {
		return 0, 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.conns.live, r.circs.live
}
