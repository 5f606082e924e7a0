// Package top is the live terminal view of conninfo top: a relay's
// connections with their flags, bytes, rates and uptimes, its circuits as
// chains, a bandwidth sparkline from BW events, the audit's findings, and
// the relay's keys in a header. It is a bubbletea program; what it shows
// comes from a [Source] the command gives it, so that the view itself
// reads no control port and is tested on fixture snapshots.
//
// It shows what a controller is told and nothing more: every row is one
// line of conn/all as the relay's tier wrote it, and the rates are the
// differences of the counts it shows (in the public tier they move once an
// epoch, and so do the rates).
//
// A [Model] is driven by one bubbletea program: it is not safe for
// concurrent use. [Source.Fetch] is called from bubbletea's command
// goroutines, one call at a time.
package top
