// Package decimal parses the canonical decimal numbers of the wire format:
// digits only, no sign, no leading zero (but "0" itself), within the type's
// range. strconv accepts leading zeros, which would let two spellings name
// one connection.
//
// Its functions are pure and safe for concurrent use.
package decimal
