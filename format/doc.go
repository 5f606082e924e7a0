// Package format encodes and parses the entry lines of the conn/ GETINFO
// keys.
//
// An entry line is nine fields separated by single spaces:
//
//	CONN_ID CIRC_ID OR_ID IP:PORT L_PORT TYPE_FLAGS READ WRITE UPTIME
//
// for example
//
//	17 0 9695DFC35FFEB861329B9F1AB04C46397020CE31 128.31.0.34:9101 51622 ORT 1048576 524288 3600
//
// [AppendEntry] encodes one line; [AppendAll] encodes the value of
// conn/all from an iterator of entries, lines joined by "\n" with no
// trailing newline. [Parse] and [ParseAll] read them back, ignoring any
// field after the ninth and any TYPE_FLAGS character after the third, as
// the format asks of consumers, and refusing any other spelling than the
// one AppendEntry writes: canonical decimals, OR_ID as "0" or 40
// upper-case hex digits, IPv6 in its RFC 5952 form.
//
// This package does not scrub: pass entries through package scrub first.
// An entry's Origin is not a field of the line: it is neither written nor
// read.
//
// # Concurrency
//
// Every function is pure, and safe for concurrent use on distinct
// arguments.
package format
