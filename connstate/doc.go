// Package connstate is an in-process registry of a Tor relay's connections
// and circuits, with byte counters cheap enough to bump for every cell.
//
// A relay opens a [Conn] with [Registry.Open] when a connection starts,
// keeps the returned handle, and counts bytes on it with [Conn.AddRead] and
// [Conn.AddWritten]. A circuit is opened with [Registry.OpenCircuit]; its
// legs are bound to connections with [Circuit.Bind] (or its named forms
// [Circuit.BindInbound], [Circuit.BindOutbound] and [Circuit.BindExit]),
// and each returned [Leg] counts that circuit's bytes on that connection.
// A circuit the relay builds for its own use (its testing, directory or
// onion-service circuits) is opened with [CircuitConfig.Origin]: its legs'
// entries say so ([Entry.Origin]), and the public scrub tier shows only
// those legs.
//
// Readers take snapshots: [Registry.Entries] iterates over every entry
// line of conn/all as an [Entry], sorted by (CircID, ConnID), without
// building a list; [Registry.AppendEntries] appends them to a slice;
// [Registry.EntryParts] splits one snapshot into ordered parts for
// goroutines to format at once, and [Registry.EntryPartsAt] does so with
// every UPTIME computed at a given instant, as the public tier's epochs
// need; [Registry.LookupEntry] finds one line. [Registry.Totals] gives
// byte totals that keep the bytes of closed connections, over the
// connections tor would rate limit: not over a unix socket
// ([ConnConfig.Unix]), not to an unknown or [Internal] address unless the
// registry was made with [CountPrivate].
//
// Entries are raw: they hold every address the registry knows. Pass them
// through package scrub before showing them to anyone.
//
// # What is counted
//
// A connection's own counters count the bytes read from and written to
// its socket, TLS records and all, as tor's traffic counters do: wrap the
// raw connection with [CountingConn] before TLS, and open it with
// [ConfigFor]'s addresses. A leg's counters count that circuit's cell
// bytes on that connection (514 a cell on a link, the payload on an exit
// stream), added by the relay where it moves a cell. Counted so, a
// connection's line is at least the sum of its legs, the difference being
// the link's own overhead.
//
// # IDs
//
// Connection and circuit IDs start at 1, only increase, and are never
// reused. A nonzero ID in [ConnConfig] or [CircuitConfig] lets fixtures
// replay recorded state, as long as it keeps IDs increasing.
//
// # Concurrency
//
// All exported functions and methods are safe for concurrent use.
//
// Counting bytes is one atomic add on the held handle: no lock, no map
// lookup, no allocation, and it never waits for a snapshot. Opening,
// closing and binding take the registry's lock briefly.
//
// A snapshot holds the registry's read lock only while it copies pointers.
// The set of lines it returns is the registry's membership at one instant;
// the counters of those lines are read just after, while they keep moving,
// so each is at least its value at that instant and no counter ever goes
// back from one snapshot to the next. This is the contract of expvar's
// Map.Do: the set is fixed for the iteration, existing entries may be
// concurrently updated.
//
// [Registry.Totals] reads the open connections a few dozen at a time under
// the read lock, so that it never holds the lock for a walk over them
// all; each connection is still counted exactly once, and no total goes
// down from one call to the next.
//
// # Misuse
//
// No method panics, whatever the caller does. Closing twice, binding a
// closed connection or a second inbound or outbound leg, asking for an ID
// out of order or above [MaxExplicitID], or calling a method on a nil
// handle or on one no Registry made (a zero Registry, Conn or Circuit)
// returns an error wrapping one of the sentinels below; readers of such a
// Registry see it empty. Bytes added after a close are a documented no-op:
// they are not counted anywhere, since the connection's totals were taken
// when it closed.
package connstate
