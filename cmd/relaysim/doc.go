// Command relaysim is a simulated Tor relay on loopback with a real control
// port: conninfo working end to end, in one command.
//
// Everything but the Tor cryptography is real: TCP sockets on 127.0.0.1, an
// ORPort that simulated clients and peer relays connect to, outbound
// connections to peer relays with made-up fingerprints, exit streams to a
// local destination server, directory requests, and circuits built through
// them, all registered in a connstate.Registry with bytes counted from the
// actual reads and writes. Connections and circuits open and close all the
// time, so uptimes, unestablished connections and the totals of closed
// connections all show. The control port answers every conninfo key, under
// the privacy tier -policy names: the public one by default, with a
// simulated consensus of the peer relays, three origin circuits of the
// relay's own at a time, and one inbound relay peer in five claiming a
// fingerprint that the consensus does not list, which stays scrubbed.
// Everything being on loopback, the totals count private addresses, as a
// test network's do. The live view reads the control port's own answers,
// so it shows what a controller sees.
//
// Its process holds only the relay's ends of its connections, as a real
// relay's does: the far ends (the clients, the peer relays, the exit
// streams' destination) run in child processes, relaysim's own executable
// started again, which end when it does (a child's standard input ends;
// on Linux a SIGKILL of relaysim kills them too). So `lsof -p PID` lists
// about -conns sockets for it, as for a relay holding that many
// connections.
//
// With -netns (Linux, as root) the far ends run in a network namespace of
// their own, relaysim-PID, joined to relaysim's by a veth pair with a /30
// of the benchmarking range 198.18.0.0/15: the ORPort and DirPort listen
// on relaysim's end of it, the control port stays on 127.0.0.1, and the
// namespace has no route but the link's and no IPv6, so nothing in it can
// reach anything else. Then `ss -tnp` on the machine lists only the
// relay's sockets, as on a relay's host. The namespace and the link go
// when relaysim ends; one a SIGKILL left behind is removed by the next
// run. Without root, or off Linux, -netns says why and exits 2.
//
// Usage:
//
//	go run ./cmd/relaysim [flags]
//
// The flags:
//
//	-control ADDR      control port address (default 127.0.0.1:9051; port 0 picks one, printed)
//	-auth METHOD       cookie, password or null (default cookie)
//	-cookie-file PATH  cookie file (default: in a new temporary directory; printed)
//	-password SECRET   the password for -auth password
//	-conns N           connections held open (default 200; up to 18000 within 20,000 descriptors)
//	-duration D        run this long, then exit 0 (default 0: until interrupted)
//	-fixture FILE      serve a connstatetest fixture's state instead of simulating
//	-quiet             no live view
//	-policy TIER       public, testnet or unscrubbed (default public)
//	-epoch D           the public tier's epoch, whole seconds (default 10s)
//	-scenario NAME     add one anomaly for conninfo audit to find: asymmetric, unestablished,
//	                   private-exit, concentration, non-exit-streams, resets, hidden (default none)
//	-metrics ADDR      serve Prometheus metrics at http://ADDR/metrics
//	-metrics-policy N  the networks (comma-separated) whose clients -metrics serves (default loopback)
//	-netns             the far ends in a network namespace of their own (Linux, root)
//
// SIGINT and SIGTERM end it cleanly.
package main
