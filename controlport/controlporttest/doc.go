// Package controlporttest starts control-port servers and talks to them
// as a raw controller, for tests: those of conninfo itself, and those of a
// host that serves its own keys through package controlport. It is in the
// spirit of net/http/httptest.
//
// [NewServer] serves a [controlport.Config] on a loopback port until the
// test ends; [Serve] does the same for a server and listener of the
// caller's (a listener wrapped to record the wire, say). [Dial] and
// [Server.Dial] open a [Client], whose methods send bytes, expect exact
// bytes back, and read whole replies, checking the control protocol's
// framing as they do ([ReadReply]). [Auth] says how a controller
// authenticates to a server: with its cookie file, a password, or no
// secret.
//
// Everything talks to loopback addresses and unix sockets only.
//
// # Concurrency
//
// A Server is safe for concurrent use, as a controlport.Server is. A
// Client is not: use each from one goroutine. A Client's methods report
// failures with the testing.TB it was made with, so call them from the
// test's goroutine; elsewhere, read with [ReadReply], which returns errors.
package controlporttest
