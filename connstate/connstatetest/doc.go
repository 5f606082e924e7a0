// Package connstatetest builds registries from fixtures, for tests of code
// that reads a connstate.Registry: users' tests and conninfo's own.
//
// # Fixture format
//
// A fixture is a text file, one declaration per line; blank lines and
// lines starting with '#' are ignored. Fields are separated by spaces.
//
//	conn ID FLAGS [fp=FINGERPRINT] [remote=IP:PORT] [lport=PORT] [read=N] [written=N] [age=AGE] [closed]
//	circ ID [origin]
//	leg CIRC ROLE CONN [read=N] [written=N]
//	listed FINGERPRINT IP:ORPORT [IP:ORPORT...]
//
// conn declares a connection. FLAGS is its TYPE_FLAGS, as in an entry line
// ("ORT", "iRt", ...); fp is the peer relay's fingerprint (network 'T'
// only); read and written are its socket byte counters; age is the UPTIME
// its lines show, as whole seconds ("3600") or a Go duration ("1h").
// closed opens and closes the connection: it shows in no line, but its
// bytes count in the registry's totals.
//
// circ declares a circuit; origin marks one the relay built for its own
// use. leg binds connection CONN to circuit CIRC in ROLE "in", "out" or
// "exit", with the circuit's bytes on it.
//
// listed declares a public relay, as a consensus would list it, with the
// ORPorts it publishes: [Fixture.Relays] gives them to the public scrub
// tier. It changes nothing in the registry.
//
// IDs are the registry's IDs: the loader opens connections and circuits
// with exactly these IDs, so a fixture's lines name the same numbers as
// the replies built from it.
//
// # conninfo's fixtures
//
// The fixtures conninfo's own tests use (a guard, a middle, an exit, a
// bridge, a client, an onion-service host, an empty relay) are embedded:
// [ReadNamed] and [LoadNamed] load them by name from any module, and
// [Fixtures] is their FS. [Fixture.Open] returns a registry with the
// handles of what it opened, so that a test can go on counting bytes on,
// establishing or closing what a fixture declared.
//
// # Time
//
// [Load] returns the registry with a [Clock] set to the fixture's "now":
// every connection shows its declared age. Advancing the clock ages them
// all together.
//
// # Concurrency
//
// A [Clock] is safe for concurrent use. A [Fixture] is a plain value:
// build and change it from one goroutine.
package connstatetest
