// Package audit runs the detectors the 2010 proposal was written for on a
// relay's connections: is it doing anything it should not?
//
//   - unestablished: outbound connections that have not established after a minute
//     (an exit whose firewall drops what its policy allows shows 'oRt'
//     streams that never connect);
//   - asymmetric: circuits whose inbound and outbound sides moved volumes
//     far apart, above a floor;
//   - private-exit: exit streams to private addresses while the exit
//     policy rejects them;
//   - concentration: many outbound OR connections to one relay's address,
//     or one connection carrying most of the relay's bytes;
//   - non-exit-streams: streams outside the Tor network on a relay that is
//     not an exit;
//   - short-lived: a large share of connections going within seconds of
//     opening (resets by middleboxes);
//   - hidden: connections of the relay's process that no line reports, its
//     TCP sockets ([State.Sockets], read by the host: package verify) set
//     against the lines by [Check], beyond a tolerance for churn.
//
// Each [Finding] has a detector, a [Severity], the CONN_IDs and CIRC_IDs
// it concerns and a message that names no peer's address: counts, shares
// and IDs only. The detectors that need raw addresses or the circuits a
// relay carries run in-process, on the registry's entries, and only their
// findings leave the process ([Findings]: GETINFO audit/findings, and the
// CONNINFO_AUDIT event through events.Config.Findings); the same
// [Auditor] runs controller-side on the test-network tier's conn/all, for
// harnesses. [Check] is also conninfo verify's comparison of a conn/all
// with the sockets the operating system lists.
//
// # Concurrency
//
// An Auditor remembers what it saw between audits and is not safe for
// concurrent use; give each loop its own. A Findings is safe for
// concurrent use; [Check] and [Stable] are pure.
package audit
