// Command sidebyside measures the proposal's case for conn/all: how much
// faster a relay answers it than the system's tools list the same sockets.
//
// It builds relaysim and runs it twice, under the test-network tier (each
// conn/all formatted live from a snapshot, as ss lists sockets) and then
// the public one (every controller sent the epoch's reply, encoded once),
// each holding -conns live TCP connections with their traffic running.
// By default (-netns, Linux, root) relaysim's far ends are in a network
// namespace of their own, so that ss, netstat and lsof on the machine see
// only the relay's sockets, as on a relay's host; -netns=false keeps them
// on loopback, where the tools list both ends. Once the connections are
// open it times, round after round so that all share the machine's
// noise:
//
//   - GETINFO conn/all over a real control-port connection, from writing
//     the request to reading the reply's "250 OK" line, by a client that
//     reads bytes without decoding them (the base of the ratios);
//   - the same request through the project's client (client.AppendConnAll,
//     decoding every line into entries) and through bine
//     (github.com/cretz/bine), which decodes the data block;
//   - ss -tnpi, ss -tn, netstat -tnp and lsof -nP -i -a -p PID, each run as
//     a controller would run it, output discarded.
//
// It prints each run's medians and their ratios to the raw conn/all, then
// ratio_bine, ratio_client and ratio_ss_tnpi_public, and last
// ratio_ss_tnpi=<x>: `ss -tnpi` against the test-network tier's conn/all.
// Between the runs it waits for the first one's sockets to close. Tools
// that are not installed are reported and skipped (Debian: iproute2,
// net-tools, lsof).
//
// Usage:
//
//	go run ./cmd/sidebyside [-conns 9000] [-runs 15] [-netns=false]
package main
