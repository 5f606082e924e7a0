// Package interop holds no code: its tests drive package controlport's
// server with real tor controllers over loopback, to prove that what
// conninfo says on the wire is what they understand.
//
//   - bine v0.2.0 (github.com/cretz/bine/control), a Go client, in-process:
//     every authentication method it can use, GETINFO of every key the Mux
//     holds, unknown and duplicate keys, QUIT.
//   - stem 1.8.1, the Python controller library nyx is built on, run by
//     Debian's /usr/bin/python3 from testdata/stem_client.py: cookie and
//     password authentication, get_info of every key, get_version, and the
//     InvalidArguments stem raises for unknown keys. These tests skip when
//     Debian's python3-stem is not installed.
//
// Each answer is checked against the state behind the server: conn/all
// and conn/<circ>/<conn> against the fixture's registry as package oracle
// says the default policy shows it (a restatement of the specification
// apart from packages scrub and format, so that a bug in them fails these
// tests), every other key against getinfo.Mux.Answer at the same
// moment (the fixture's fake clock stands still). A recording listener
// keeps the bytes each controller sent, so the tests also pin down which
// authentication method each client chose.
package interop
