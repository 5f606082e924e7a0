// Package verify checks what a relay reports against what its operating
// system says, the proposal's own safeguard: "connection data should be
// validateable against the system's connection querying utilities".
//
// [Sockets] reads the TCP sockets of the relay's process (the pid of
// GETINFO process/pid) through gopsutil, for conninfo verify and for the
// hidden detector of a relay's own audit (audit.Findings.Sockets);
// audit.Check matches conn/all's lines with them: every endpoint a line shows must be a live socket of the
// process, and the sockets must make no more connections than there are
// lines, within the churn between the readings. Where every line shows its
// endpoint (the unscrubbed tier) the sockets no line reports are listed;
// where lines hide their peers, only their number can be compared.
//
// It is the one package of conninfo that reads the operating system's
// sockets, so that a relay linking conninfo's core never builds gopsutil.
// A reading costs: 0.45 s for the 17,000 sockets of relaysim -conns 9000
// (both ends of its links are its own), and the audit reads twice.
//
// # Concurrency
//
// The functions are safe for concurrent use.
package verify
