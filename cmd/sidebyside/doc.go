// Command sidebyside measures the proposal's case for conn/all: how much
// faster a relay answers it than the system's tools list the same sockets.
//
// It builds and starts relaysim holding -conns live loopback TCP
// connections (relaysim's process holds the relay's ends, its child
// processes the far ends; on loopback `ss` still lists both), waits until
// they are open, then times, round after round so that all share the
// machine's noise:
//
//   - GETINFO conn/all over a real control-port connection, from writing
//     the request to reading the reply's "250 OK" line, by a client that
//     reads bytes without decoding them;
//   - the same request through bine (github.com/cretz/bine), which
//     decodes the data block;
//   - ss -tnpi, ss -tn, netstat -tnp and lsof -nP -i -a -p PID, each run as
//     a controller would run it, output discarded.
//
// It prints the medians and each one's ratio to the raw conn/all, and
// ends with the line ratio_ss_tnpi=<x>. Tools that are not installed are
// reported and skipped (Debian: iproute2, net-tools, lsof).
//
// Usage:
//
//	go run ./cmd/sidebyside [-conns 9000] [-runs 15]
package main
