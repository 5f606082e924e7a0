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
// The departures are those of package getinfo: a key (or an event, feature
// or option name) holding a control byte is echoed C-escaped, and a value is
// never "(null)". A command word is echoed raw, as tor does: it cannot hold
// the CR, LF or NUL that would break a line. Commands tor has but this
// server does not (SETCONF, SIGNAL, the multi-line +LOADCONF, ...) get
// "510 Unrecognized command", and GETCONF knows only
// __OwningControllerProcess.
//
// The package's conformance test (internal/conformance) replays 132
// sessions against a real tor 0.4.9.11 and requires the same bytes back.
//
// # Limits
//
// A server holds at most [Config.MaxControllers] connections, closing any
// beyond; a controller must authenticate within [Config.AuthTimeout]; each
// write must progress within [Config.WriteTimeout], so a controller that
// never reads is cut off instead of pinning memory; lines over the limit
// are discarded as they arrive, never buffered. [Server.Shutdown] stops
// gracefully under a context.
//
// # Concurrency
//
// A Server is safe for concurrent use: it serves each connection on its own
// goroutine, and may serve several listeners. Every goroutine it starts
// ends before Shutdown or Close returns.
package controlport
