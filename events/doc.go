// Package events makes tor's asynchronous control-port events from what a
// relay's getinfo.Conns shows, for package controlport and for a host's
// own control loop: a [Publisher] derives them once a second while some
// [Subscription] asks for them (SETEVENTS), and each controller's writer
// takes its queued events between replies, never inside one.
//
// The events sent, in tor 0.4.9.11's formats:
//
//   - BW: "650 BW READ WRITTEN", every second, the growth of the totals
//     behind traffic/read and traffic/written over that second, as tor
//     counts them; bw-event-cache ([Publisher.Register]) keeps the last
//     300 seconds.
//   - ORCONN: "650 ORCONN TARGET STATUS [NCIRCS=N] ID=CONN_ID" when an OR
//     connection is seen to open (NEW inbound, LAUNCHED outbound),
//     establish (CONNECTED) or end (CLOSED, or FAILED if never
//     established). ID is the connection's CONN_ID as conn/all shows it.
//   - CIRC: "650 CIRC ID STATUS [PATH] PURPOSE=P TIME_CREATED=T" when one
//     of the relay's own circuits is seen to launch, be built (its first
//     hop the path) or end (CLOSED, or FAILED if never built, with
//     REASON=NONE: no view says why), as circuit-status lists them.
//   - CIRC_BW: "650 CIRC_BW ID=ID READ=N WRITTEN=N TIME=T" each second
//     one of those circuits moved bytes, its legs' growth. tor adds the
//     DELIVERED_ and OVERHEAD_ counts of cells, which a registry does
//     not keep: they are left out.
//   - CONN_BW: "650 CONN_BW ID=CONN_ID TYPE=OR|DIR|EXIT READ=N WRITTEN=N"
//     each second a connection moved bytes, in the test-network tier
//     only, as tor sends it only on test networks.
//
// And conninfo's own, [Extensions]:
//
//   - CONNINFO_AUDIT: "650 CONNINFO_AUDIT LINE", LINE a finding of the
//     relay's own audit as GETINFO audit/findings answers it, the second
//     it first appears ([Config.Findings]; in the public tier findings
//     change only at the instants of the epoch grid).
//
// SETEVENTS accepts every event name tor does ([Names], [ParseSet]) and
// the extensions; the others are never sent. events/names lists tor's.
//
// # Privacy
//
// Every event is computed from what the Conns' keys answer
// (getinfo.Conns.Show), never from the registry itself, so an event says
// nothing the keys do not. In the public tier that is one view per epoch:
// BW hands out each epoch's growth of the rounded totals evenly over the
// next epoch's seconds (so the events add up to the traffic/* totals,
// one epoch late, and say nothing of when within an epoch bytes moved;
// CIRC_BW likewise, from the legs' rounded counts);
// ORCONN reports the changes between two views, at the second a view is
// taken, with pseudonymous IDs that match conn/all, a relay named only if
// the tier shows it, any other peer as "0", and NCIRCS counting only the
// circuits whose legs the view shows (the relay's own). The test-network
// tier answers live: events follow the registry within a second.
// CIRC's time of creation is, in the public tier, the instant of the
// first view that showed the circuit. Connections and circuits that open
// and close between two views are never reported.
//
// # Memory
//
// Each subscription's queue holds at most [Config.QueueLen] events: a
// controller that stops taking them loses the newer ones (counted by
// [Subscription.Lost] and logged), and never grows the relay's memory.
// controlport also cuts off a controller whose writes stop progressing.
//
// # Concurrency
//
// A Publisher and a Subscription are safe for concurrent use. The ticks
// run on timers of the Conns' clock (a fake clock's AfterFunc in tests,
// else time.AfterFunc) only while some subscription asks for one of
// them (or for tor's other per-second events, for bw-event-cache), one
// at a time; Close stops them.
package events
