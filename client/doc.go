// Package client is a Go controller for a tor control port: conninfo's
// controlport, a Go relay's own, or a C tor's.
//
// [Dial] connects over TCP ("HOST:PORT") or a unix socket ("unix:PATH"),
// reads PROTOCOLINFO and authenticates with the best method offered:
// SAFECOOKIE (checking the server's hash, so that a port that does not
// hold the cookie is refused), then COOKIE, HASHEDPASSWORD with
// [Options.Password], NULL. [Conn.GetInfo] asks many keys at once;
// replies of another status are an [*Error] matching [ErrUnrecognized]
// (552) or [ErrInternal] (551). [Conn.ConnAll] decodes conn/all into
// entries (format.AppendParsed), and says [ErrNoConnAll] for a port that
// does not answer it, as a C tor does not; [Conn.AppendConnAll] reuses a
// slice. The reply is decoded as it arrives: the reader copies its lines
// into 64 KiB batches, which a worker a CPU parses while the reader reads
// on. A line longer than [MaxLine] ends the connection. [Conn.Subscribe] asks for events, which
// arrive on [Conn.Events], apart from the replies.
//
// # Concurrency
//
// A Conn is safe for concurrent use: commands are sent one at a time, each
// caller waiting for its reply; one goroutine per Conn reads replies and
// events, and ends with Close; a conn/all of more than a batch starts
// workers for its decoding, which end before ConnAll returns. A command whose context ends or whose
// reply does not come within [Options.Timeout] closes the connection,
// since a late reply would answer the next command.
package client
