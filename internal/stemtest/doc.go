// Package stemtest runs Python scripts that use stem, Tor's Python
// controller library, for tests that check conninfo against a real
// controller: Debian's /usr/bin/python3 with python3-stem, which .ci/run
// installs. Where stem is missing, [Require] skips the test with a message
// that says how to install it.
//
// # Concurrency
//
// [Require] and [Run] are safe for concurrent use.
package stemtest
