// Package oracle restates, for tests, what README.md's specification says
// a connection entry line is and what the public and test-network privacy
// tiers let it show, with nothing taken from packages format and scrub. A test that
// compares their output with this package's catches a bug in either; a
// change to the specification is made here by hand, deliberately.
//
// # Concurrency
//
// Its functions are pure and safe for concurrent use.
package oracle
