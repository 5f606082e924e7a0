// Package protocol is the request side of tor's control protocol, as tor
// 0.4.9.11 speaks it byte for byte, for a host that runs its own control
// loop: package controlport is built on it, and a Go relay with a
// dispatcher of its own can use the same pieces.
//
//   - [LineReader] reads command lines with tor's 1 MiB limit, discarding
//     an over-long line as it arrives, and with [PreAuthCheck] answers an
//     HTTP request or the old v0 protocol as soon as the bytes arrive;
//     [Refusal] gives tor's last words for each.
//   - [SplitCommand] splits a line into its command word and arguments;
//     [SplitWords] splits the arguments of GETINFO, SETEVENTS and the like;
//     [ParseArgs] and [Unquote] read positional words, keyword arguments
//     and quoted strings as tor's kvline parser does.
//   - [Session] is one controller's authentication state machine:
//     PROTOCOLINFO, AUTHCHALLENGE, AUTHENTICATE with NULL, HASHEDPASSWORD,
//     COOKIE and SAFECOOKIE, QUIT, and tor's rules before authentication,
//     with tor's error texts; [Auth] holds the methods a port accepts.
//   - [HashPassword], [ParseHashedPassword] and [WriteCookieFile] make the
//     secrets tor's HashedControlPassword and CookieAuthentication use.
//
// Replies after authentication (GETINFO's, with its framing and escapes)
// are written by package getinfo.
//
// # Concurrency
//
// A LineReader and a Session belong to one connection's goroutine and are
// not safe for concurrent use. An Auth and a HashedPassword are immutable
// and may be shared by every connection. The functions are safe for
// concurrent use.
package protocol
