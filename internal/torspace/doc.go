// Package torspace is tor's notion of whitespace in control-port commands,
// TOR_ISSPACE, shared by the command splitter and the argument parsers.
//
// # Concurrency
//
// Its functions are pure and safe for concurrent use.
package torspace
