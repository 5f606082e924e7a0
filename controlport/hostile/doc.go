// Package hostile holds the checks of how a tor control port stands up to
// hostile controllers: slow and silent clients, over-long lines, deep
// pipelines, controllers that never read, authentication brute force,
// control bytes and invalid UTF-8 in every field, and more controllers than
// the server admits. Each check is a function that takes a test, the
// address of a running control port and how to authenticate to it, so that
// the same checks run against a controlport.Server started by a test,
// against a whole relaysim, and against a host's own control loop: a Go
// relay that answers the control port itself calls [All] from its tests.
//
// Every check talks TCP to the address it is given, which must be a
// loopback IP and port (it stops the test otherwise), bounds each of its loops in count and time, and ends
// every goroutine it starts and closes every connection it opens before it
// returns, pass or fail. The checks use require only on the test's own
// goroutine.
package hostile
