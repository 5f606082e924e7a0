// Package controlport is a tor control-port server for a Go relay and
// for relay test harnesses: real controllers (stem, nyx, bine) connect to
// it and ask GETINFO, which a getinfo.Mux answers. It is built on package
// controlport/protocol, the request side of the protocol, which a host
// with a control loop of its own can use directly.
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
// SETEVENTS (tor's names are accepted; with [Config.Events] the events
// package's are sent, between replies, never inside one),
// GETCONF __OwningControllerProcess, and USEFEATURE.
//
// The departures are those of package getinfo: a key, an event, feature or
// option name, or an unknown command word holding a control byte is echoed
// C-escaped (tor echoes them raw, so that an ESC or BEL would reach the
// controller's terminal), and a value is never "(null)". The host adds
// commands of its own ([Config.Commands]: SIGNAL, SETCONF, ...); others
// tor has (the multi-line +LOADCONF, ...) get "510 Unrecognized command",
// and GETCONF knows the options the host registers ([Config.Options]) and
// __OwningControllerProcess. A controller that authenticates while
// [Config.MaxControllers] others are is refused with "451 Resource
// exhausted: too many controllers"; tor has no such limit.
//
// The package's conformance test (internal/conformance) replays 131
// sessions against a real tor 0.4.9.11 and requires the same bytes back.
//
// # Limits
//
// A server holds at most [Config.MaxControllers] authenticated controllers
// and, apart from them, [Config.MaxUnauthenticated] connections that have
// not authenticated yet, so that the latter never take the former's place.
// When the unauthenticated ones are full, a newcomer takes the place of
// the one with the least progress (see Config.MaxUnauthenticated): a
// connection whose peer hung up, or that sent three commands that failed
// to parse; a silent one that has had 50 milliseconds to speak, the oldest
// first, the newcomer itself included, or, for a newcomer that has
// spoken, any silent one 10 milliseconds old; one that sent bytes but no
// line, past the same grace;
// one whose lines took no step, 10 milliseconds after its first (time for
// a line to be handled); and only when none of those is held, the one
// whose last step (PROTOCOLINFO, or an AUTHCHALLENGE answered) is the
// oldest. Until one may give way, the
// server stops accepting, at most 50 milliseconds, and newcomers wait in
// the kernel's accept queue with their first bytes. Over TCP on Linux the
// kernel tells how long a connection waited there and whether its peer
// has sent a byte, so a flood deep enough to fill the queue is drained at
// the speed of accepting, every silent connection in it closed at once.
//
// So a local process flooding the port with silent, trickling or
// malformed connections can neither evict an authenticated controller nor
// keep out an operator who speaks on connecting, however slowly it goes
// on. One that completes PROTOCOLINFO on many connections competes with
// the operator on equal terms until it authenticates. A unix socket admits
// only the relay's own user, who could do worse, and has no kernel
// account of its connections' ages: there a deep flood delays the
// operator.
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
// ends before Close returns, and before Shutdown returns nil; a Shutdown
// whose context ends first returns at once, and a handler still running
// then ends on its own.
package controlport
