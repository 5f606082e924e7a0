// Package tortest starts Debian's tor for tests, offline: DisableNetwork
// 1, SocksPort 0, a control port on 127.0.0.1 with cookie authentication,
// its DataDirectory in the test's temporary directory. The test is
// skipped with a message where tor is not installed; tor is stopped, by
// its pid, when the test ends, and on Linux killed by the kernel if the
// test process dies first.
//
// Start is safe to call from parallel tests: each tor has its own port
// and directory.
package tortest
