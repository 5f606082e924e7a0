package connstate

import (
	"cmp"
	"fmt"
	"slices"
	"sync/atomic"
)

// Role is the part a leg plays in its circuit.
type Role uint8

// The roles of a leg.
const (
	RoleInbound  Role = iota + 1 // towards the client: at most one per circuit
	RoleOutbound                 // towards the next hop: at most one per circuit
	RoleExit                     // an exit stream's connection: any number
)

// String returns "inbound", "outbound", "exit" or "Role(N)".
func (r Role) String() string {
	switch r {
	case RoleInbound:
		return "inbound"
	case RoleOutbound:
		return "outbound"
	case RoleExit:
		return "exit"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Valid reports whether r is one of the named roles.
func (r Role) Valid() bool { return r >= RoleInbound && r <= RoleExit }

// Circuit is the handle of one registered circuit.
//
// All methods are safe for concurrent use. On a nil *Circuit, or one not
// returned by [Registry.OpenCircuit], they return an error wrapping
// [ErrNil] (Closed reports true).
type Circuit struct {
	reg *Registry
	id  uint64
	// Guarded by reg.mu. legs is sorted by connection ID and shared with
	// snapshots, which read it without the lock: a bind either appends
	// past every length a snapshot has seen, or builds a new array, so
	// that a published element never changes.
	legs    []*Leg
	in, out *Leg // the inbound and outbound legs, if bound
	closed  bool
	// origin is set at open for an origin circuit, nil for the others,
	// and never changed: read without the lock. What only origin circuits
	// need lives apart, so that the circuits a relay carries by the
	// hundred thousand fit a smaller size class (80 bytes, not 96).
	origin *originCircuit
}

// originCircuit is what an origin circuit holds that the others do not.
type originCircuit struct {
	purpose string
	opened  int64 // Registry.now at open
}

// Leg is the handle of one circuit's use of one connection. It counts that
// circuit's bytes on that connection, separately from the connection's own
// socket-level counters.
//
// All methods are safe for concurrent use, and safe on a nil *Leg.
type Leg struct {
	read    atomic.Uint64
	written atomic.Uint64
	conn    *Conn
	circ    *Circuit
	role    Role
	_       [31]byte // to 64 bytes, a size class aligned to 64: no line shared with another Leg
}

// ID returns the circuit's global ID (0 for a nil *Circuit).
func (c *Circuit) ID() uint64 {
	if c == nil {
		return 0
	}
	return c.id
}

// Origin reports whether the circuit was opened as one this relay built
// for its own use ([CircuitConfig.Origin]); false for a nil *Circuit.
func (c *Circuit) Origin() bool { return c != nil && c.origin != nil }

// registered reports whether c was returned by Registry.OpenCircuit.
func (c *Circuit) registered() bool { return c != nil && c.reg != nil }

// BindInbound binds conn as the circuit's inbound leg: Bind with [RoleInbound].
func (c *Circuit) BindInbound(conn *Conn) (*Leg, error) { return c.Bind(conn, RoleInbound) }

// BindOutbound binds conn as the circuit's outbound leg: Bind with [RoleOutbound].
func (c *Circuit) BindOutbound(conn *Conn) (*Leg, error) { return c.Bind(conn, RoleOutbound) }

// BindExit binds conn as one of the circuit's exit-stream legs: Bind with [RoleExit].
func (c *Circuit) BindExit(conn *Conn) (*Leg, error) { return c.Bind(conn, RoleExit) }

// Bind binds conn to the circuit in the given role and returns the leg
// that counts the circuit's bytes on it. A circuit has at most one open
// inbound and one open outbound leg, any number of exit legs, and at most
// one leg on a connection; once a leg's connection has closed, another
// connection may take its role.
//
// A bind costs O(log n) in the circuit's legs, and O(1) amortised to
// store the leg when connections are bound in the order they were opened,
// as exit streams are; the legs of closed connections are dropped on the
// way, so that a long-lived circuit with many short exit streams does not
// grow without bound.
func (c *Circuit) Bind(conn *Conn, role Role) (*Leg, error) {
	switch {
	case !c.registered():
		return nil, fmt.Errorf("%w: bind %v: circuit not opened by a Registry", ErrNil, role)
	case !conn.registered():
		return nil, fmt.Errorf("%w: bind %v to circuit %d", errNotRegistered, role, c.id)
	case !role.Valid():
		return nil, fmt.Errorf("%w: bind connection %d to circuit %d: role %v", ErrInvalid, conn.id, c.id, role)
	case conn.reg != c.reg:
		return nil, fmt.Errorf("%w: bind %v connection %d to circuit %d", ErrForeign, role, conn.id, c.id)
	}
	r := c.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("%w: bind %v to circuit %d", ErrClosed, role, c.id)
	}
	if conn.Closed() {
		return nil, fmt.Errorf("%w: bind %v connection %d to circuit %d", ErrClosed, role, conn.id, c.id)
	}
	holder := c.roleLeg(role)
	if holder != nil && *holder != nil && !(*holder).conn.Closed() {
		return nil, fmt.Errorf("%w: bind %v connection %d to circuit %d: connection %d holds that role", ErrLegBound, role, conn.id, c.id, (*holder).conn.id)
	}
	i, found := c.search(conn.id)
	if found {
		// Legs are unique by connection, and a closed connection cannot
		// be bound: this is the same, open connection.
		return nil, fmt.Errorf("%w: bind %v connection %d to circuit %d: already its %v leg", ErrLegBound, role, conn.id, c.id, c.legs[i].role)
	}
	leg := &Leg{conn: conn, circ: c, role: role}
	if i == len(c.legs) && len(c.legs) < cap(c.legs) {
		c.legs = append(c.legs, leg) // past every published length
	} else {
		c.legs = rebuildLegs(c.legs, i, leg)
	}
	if holder != nil {
		*holder = leg
	}
	return leg, nil
}

// roleLeg returns where the circuit keeps its leg of role, or nil for
// exit legs, which are not unique.
func (c *Circuit) roleLeg(role Role) **Leg {
	switch role {
	case RoleInbound:
		return &c.in
	case RoleOutbound:
		return &c.out
	}
	return nil
}

// search returns where a leg on connection id is or would be in c.legs.
func (c *Circuit) search(id uint64) (int, bool) {
	return slices.BinarySearchFunc(c.legs, id, func(l *Leg, id uint64) int {
		return cmp.Compare(l.conn.id, id)
	})
}

// rebuildLegs returns a new array holding the legs of open connections
// and leg at index i of the old one, with room to append as many again.
func rebuildLegs(legs []*Leg, i int, leg *Leg) []*Leg {
	kept := 0
	for _, l := range legs {
		if !l.conn.Closed() {
			kept++
		}
	}
	out := make([]*Leg, 0, 2*(kept+1))
	for j, l := range legs {
		if j == i {
			out = append(out, leg)
		}
		if !l.conn.Closed() {
			out = append(out, l)
		}
	}
	if i == len(legs) {
		out = append(out, leg)
	}
	return out
}

// Close removes the circuit from the registry; its legs disappear from
// snapshots, and bytes added to them afterwards are not counted. Closing it
// again returns an error wrapping [ErrClosed].
func (c *Circuit) Close() error {
	if !c.registered() {
		return fmt.Errorf("%w: close circuit: not opened by a Registry", ErrNil)
	}
	r := c.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.closed {
		return fmt.Errorf("%w: close circuit %d", ErrClosed, c.id)
	}
	c.closed = true
	c.legs, c.in, c.out = nil, nil, nil
	r.circs.remove(c.id)
	if c.origin != nil {
		r.origins.remove(c.id)
	}
	return nil
}

// Closed reports whether [Circuit.Close] has been called; it is true for a
// Circuit that no registry opened.
func (c *Circuit) Closed() bool {
	if !c.registered() {
		return true
	}
	c.reg.mu.RLock()
	defer c.reg.mu.RUnlock()
	return c.closed
}

// AddRead counts n bytes of the circuit read on the leg's connection: one
// atomic add, like [Conn.AddRead].
func (l *Leg) AddRead(n uint64) {
	if l != nil {
		l.read.Add(n)
	}
}

// AddWritten counts n bytes of the circuit written on the leg's connection.
func (l *Leg) AddWritten(n uint64) {
	if l != nil {
		l.written.Add(n)
	}
}

// Read returns the circuit's bytes read on this leg so far.
func (l *Leg) Read() uint64 {
	if l == nil {
		return 0
	}
	return l.read.Load()
}

// Written returns the circuit's bytes written on this leg so far.
func (l *Leg) Written() uint64 {
	if l == nil {
		return 0
	}
	return l.written.Load()
}

// Conn returns the leg's connection.
func (l *Leg) Conn() *Conn {
	if l == nil {
		return nil
	}
	return l.conn
}

// Circuit returns the leg's circuit.
func (l *Leg) Circuit() *Circuit {
	if l == nil {
		return nil
	}
	return l.circ
}

// Role returns the leg's role.
func (l *Leg) Role() Role {
	if l == nil {
		return 0
	}
	return l.role
}
