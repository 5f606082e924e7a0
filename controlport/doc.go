// Package controlport is a tor control-port server for relay test
// harnesses: real controllers (stem, nyx, bine) connect to it and ask
// GETINFO, which a getinfo.Mux answers.
//
// It speaks the control protocol as tor 0.4.9.11 does, byte for byte:
// framing and the 1 MiB line limit, the rules before authentication
// (PROTOCOLINFO, AUTHCHALLENGE, AUTHENTICATE and QUIT only; anything else
// gets "514 Authentication required." and a close), PROTOCOLINFO, the
// SAFECOOKIE challenge, AUTHENTICATE with every method tor offers (NULL,
// HASHEDPASSWORD, COOKIE and SAFECOOKIE) and tor's error texts, QUIT, 510
// for unknown commands, and tor's answers to an HTTP request and to the
// old v0 protocol, which it gives as soon as the bytes arrive. After
// authenticating it answers GETINFO, and what stem sends when it connects:
// SETEVENTS (known event names are accepted; no events are ever sent),
// GETCONF __OwningControllerProcess, and USEFEATURE.
//
// The departures are those of package getinfo: a key, an event, feature or
// option name, or an unknown command word holding a control byte is echoed
// C-escaped (tor echoes them raw, so that an ESC or BEL would reach the
// controller's terminal), and a value is never "(null)". Commands tor has
// but this server does not (SETCONF, SIGNAL, the multi-line +LOADCONF, ...)
// get "510 Unrecognized command", and GETCONF knows only
// __OwningControllerProcess. A controller that authenticates while
// [Config.MaxControllers] others are is refused with "451 Resource
// exhausted: too many controllers"; tor has no such limit.
//
// The package's conformance test (internal/conformance) replays 132
// sessions against a real tor 0.4.9.11 and requires the same bytes back.
//
// # Limits
//
// A server holds at most [Config.MaxControllers] authenticated controllers
// and, apart from them, [Config.MaxUnauthenticated] connections that have
// not authenticated yet. When the latter are full, a newcomer takes the
// place of the one with the least progress: a connection whose peer has
// hung up; else one that has sent nothing in its first 50 milliseconds
// (the oldest first); only when none is silent, one that has sent bytes
// but no complete line; and only when none of those is held, the one
// whose last line is the oldest. Until one may give way, the server stops accepting,
// and newcomers wait in the kernel's accept queue, their first bytes with
// them. So a flood of silent connections can neither evict an
// authenticated controller nor keep out an operator who speaks on
// connecting, however slowly it goes on.
//
// A controller must authenticate within [Config.AuthTimeout]; each write
// must progress within [Config.WriteTimeout], so a controller that never
// reads is cut off instead of pinning memory; lines over the limit are
// discarded as they arrive, never buffered. [Server.Shutdown] stops
// gracefully under a context.
//
// # Concurrency
//
// A Server is safe for concurrent use: it serves each connection on its own
// goroutine, and may serve several listeners. Every goroutine it starts
// ends before Shutdown or Close returns.
package controlport
