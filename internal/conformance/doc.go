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
// A second set of sessions compares tor's standard keys (orconn-status,
// circuit-status, net/listeners/*, fingerprint, address,
// status/version/current, ns/all, accounting/enabled, ip-to-country/*),
// GETCONF and SETEVENTS, with our server set up as the offline tor is (no
// connection, no consensus, not a relay, tor's defaults for the options),
// and the first BW event of each.
//
// Without tor on PATH or at /usr/sbin/tor the tests skip.
package conformance
