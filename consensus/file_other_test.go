//go:build !unix

package consensus_test

import "testing"

// unreadableByEveryone: no FIFO or /proc here.
var unreadableByEveryone []struct {
	name  string
	setup func(t *testing.T, path string)
	is    error
}
