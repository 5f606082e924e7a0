package connstate

import "errors"

// Errors returned by the registry. They are sentinels for [errors.Is]. A
// returned error wraps one of them and starts with its text, then says
// what was being done: "connstate: closed: bind exit connection 7 to
// circuit 3".
var (
	// ErrClosed: the connection or circuit was closed before the call.
	ErrClosed = errors.New("connstate: closed")
	// ErrNil: the method was called on a nil or zero Registry, Conn or
	// Circuit (one that no Registry made), or such a Conn was passed.
	ErrNil = errors.New("connstate: nil handle")
	// ErrInvalid: an argument is out of range (a zero Direction, Usage or Network, a zero fingerprint, ...).
	ErrInvalid = errors.New("connstate: invalid argument")
	// ErrForeign: a connection of another registry was bound to a circuit.
	ErrForeign = errors.New("connstate: connection belongs to another registry")
	// ErrLegBound: the circuit already has a leg of that role, or already holds that connection.
	ErrLegBound = errors.New("connstate: leg already bound")
	// ErrIDOrder: a requested ID is not above every ID issued so far.
	ErrIDOrder = errors.New("connstate: ID not above every ID issued so far")
)
