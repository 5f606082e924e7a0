// Package conformance checks package controlport against a real tor, byte
// for byte. It holds no code: its tests start tor 0.4.9.11 (the Debian
// package "tor", which .ci/run installs) offline on loopback, and a
// controlport.Server beside it, send both the same raw byte sequences on
// fresh connections, and require identical replies and the same decision
// to close the connection.
//
// Only values that legitimately differ are normalised before comparing: the
// version string, the cookie file's path, and the random SERVERHASH and
// SERVERNONCE of AUTHCHALLENGE. The documented departures from tor (a key
// holding a control byte is echoed C-escaped, a value is never "(null)")
// are checked in a test of their own against literal bytes for each side.
// A difference that is a known bug of the server is listed, with its
// description, in the test's knownDifferences, which the test keeps honest:
// once the bug is fixed the entry must go.
//
// Without tor on PATH or at /usr/sbin/tor the tests skip.
package conformance
