//go:build !linux

package main

import (
	"fmt"
	"net/netip"
	"os/exec"
)

// netns is -netns's network namespace, which only Linux has.
type netns struct{ host, far netip.Addr }

func newNetns() (*netns, error) {
	return nil, fmt.Errorf("%w: network namespaces are Linux's", errNetnsUnavailable)
}

// command runs the program where relaysim is: there is no namespace.
func (n *netns) command(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

func (n *netns) remove() error { return nil }
