// Package hexupper writes upper-case hex digits eight at a time, with no
// table: the form of a relay fingerprint on an entry line, written by the
// hundred thousand in one conn/all. connstate's Fingerprint.AppendText and
// format's entry-line encoder share it, so that there is one encoder.
//
// Its functions are pure and safe for concurrent use.
package hexupper
