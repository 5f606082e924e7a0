package connstate

import (
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

// Circuit is the handle of one registered circuit.
//
// All methods are safe for concurrent use, and safe on a nil *Circuit: they
// then return [ErrNil].
type Circuit struct {
	reg *Registry
	id  uint64
	// Guarded by reg.mu. legs is copy-on-write, sorted by connection ID:
	// a published slice is never modified, so snapshots read it unlocked.
	legs   []*Leg
	closed bool
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

// BindInbound binds conn as the circuit's inbound leg.
func (c *Circuit) BindInbound(conn *Conn) (*Leg, error) { return c.bind(conn, RoleInbound) }

// BindOutbound binds conn as the circuit's outbound leg.
func (c *Circuit) BindOutbound(conn *Conn) (*Leg, error) { return c.bind(conn, RoleOutbound) }

// BindExit binds conn as one of the circuit's exit-stream legs.
func (c *Circuit) BindExit(conn *Conn) (*Leg, error) { return c.bind(conn, RoleExit) }

// bind checks and adds a leg. Legs whose connection has closed are dropped on
// the way, so that a long-lived circuit with many short exit streams does not
// grow without bound; a closed inbound or outbound leg may then be replaced.
func (c *Circuit) bind(conn *Conn, role Role) (*Leg, error) {
	switch {
	case c == nil:
		return nil, fmt.Errorf("bind %v: nil circuit: %w", role, ErrNil)
	case conn == nil:
		return nil, fmt.Errorf("bind %v to circuit %d: nil connection: %w", role, c.id, ErrNil)
	case conn.reg != c.reg:
		return nil, fmt.Errorf("bind %v connection %d to circuit %d: %w", role, conn.id, c.id, ErrForeign)
	}
	r := c.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.closed {
		return nil, fmt.Errorf("bind %v to circuit %d: %w", role, c.id, ErrClosed)
	}
	if conn.Closed() {
		return nil, fmt.Errorf("bind %v connection %d to circuit %d: %w", role, conn.id, c.id, ErrClosed)
	}
	legs := make([]*Leg, 0, len(c.legs)+1)
	for _, l := range c.legs {
		if l.conn.Closed() {
			continue
		}
		if l.conn == conn {
			return nil, fmt.Errorf("bind %v connection %d to circuit %d: already its %v leg: %w", role, conn.id, c.id, l.role, ErrLegBound)
		}
		if role != RoleExit && l.role == role {
			return nil, fmt.Errorf("bind %v connection %d to circuit %d: connection %d is bound: %w", role, conn.id, c.id, l.conn.id, ErrLegBound)
		}
		legs = append(legs, l)
	}
	leg := &Leg{conn: conn, circ: c, role: role}
	i, _ := slices.BinarySearchFunc(legs, conn.id, func(l *Leg, id uint64) int {
		if l.conn.id < id {
			return -1
		}
		return 1
	})
	c.legs = slices.Insert(legs, i, leg)
	return leg, nil
}

// Close removes the circuit from the registry; its legs disappear from
// snapshots, and bytes added to them afterwards are not counted. Closing it
// again returns an error wrapping [ErrClosed].
func (c *Circuit) Close() error {
	if c == nil {
		return ErrNil
	}
	r := c.reg
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.closed {
		return fmt.Errorf("circuit %d: %w", c.id, ErrClosed)
	}
	c.closed = true
	c.legs = nil
	r.circs.remove(c.id)
	return nil
}

// Closed reports whether [Circuit.Close] has been called.
func (c *Circuit) Closed() bool {
	if c == nil {
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
