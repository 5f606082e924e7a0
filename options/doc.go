// Package options answers GETCONF, config/names and config-text for the
// configuration options a host registers, as tor 0.4.9.11 answers them:
// a relay written in Go has options of its own, and controllers (stem,
// nyx) ask for tor's names (ORPort, Nickname, BandwidthRate, ExitPolicy,
// ...). controlport.Config.Options takes a [Set].
//
// Departures from tor: a Set knows only the options registered, so
// GETCONF of any other tor option is "552 Unrecognized configuration
// key", and config/names lists only them; tor's prefix abbreviations
// (GETCONF SocksPo) are not accepted; a key holding a control byte is
// echoed C-escaped.
//
// # Concurrency
//
// A Set is immutable and safe for concurrent use; each option's Values
// function is called from controllers' goroutines and must be too.
package options
