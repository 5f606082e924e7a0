// Package deps holds no code: its test checks that the packages a relay
// links (connstate, scrub, format, getinfo, consensus, events, options,
// controlport and its protocol, client, audit) import nothing outside the
// standard library, this module and golang.org/x/sys, so that linking
// conninfo's core never builds a terminal UI or an OS-probing library.
package deps
