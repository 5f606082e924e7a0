package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// netns is the network namespace of -netns: the far ends run in it, joined
// to relaysim's namespace by a veth pair whose two addresses share a /30
// of the benchmarking range 198.18.0.0/15. The namespace has no route but
// the link's, so its processes can reach only relaysim's address; it has
// no IPv6 and relaysim's veth end no IPv6 address, so nothing else
// crosses the link.
type netns struct {
	name          string     // relaysim-PID, under /run/netns
	hostIf, farIf string     // the veth ends: relaysim's side, the far ends' side
	host, far     netip.Addr // their addresses
}

// netnsPrefix names relaysim's namespaces: the PID that follows says whose.
const netnsPrefix = "relaysim-"

// benchmarkNet is where the veth addresses come from (RFC 2544).
var benchmarkNet = netip.MustParsePrefix("198.18.0.0/15")

// newNetns removes the namespaces of relaysim runs that are gone, then
// makes one for this run.
func newNetns() (*netns, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("%w: it makes a network namespace and a veth pair, which needs root", errNetnsUnavailable)
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("%w: no ip command (Debian package iproute2)", errNetnsUnavailable)
	}
	removeStaleNetns()
	pid := os.Getpid()
	sub, err := freeSubnet(pid)
	if err != nil {
		return nil, err
	}
	n := &netns{
		name:   netnsPrefix + strconv.Itoa(pid),
		hostIf: "rsim" + strconv.Itoa(pid) + "h", // at most 15 bytes: "rsim" and a PID of up to 7 digits and a letter
		farIf:  "rsim" + strconv.Itoa(pid) + "f",
		host:   sub.Addr().Next(),
		far:    sub.Addr().Next().Next(),
	}
	bits := strconv.Itoa(sub.Bits())
	steps := [][]string{
		{"netns", "add", n.name},
		// No IPv6 in the namespace: no link-local address, no multicast route.
		{"netns", "exec", n.name, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"},
		{"link", "add", n.hostIf, "type", "veth", "peer", "name", n.farIf},
		{"link", "set", n.hostIf, "addrgenmode", "none"},
		{"link", "set", n.farIf, "netns", n.name},
		{"addr", "add", n.host.String() + "/" + bits, "dev", n.hostIf},
		{"link", "set", n.hostIf, "up"},
		{"-n", n.name, "addr", "add", n.far.String() + "/" + bits, "dev", n.farIf},
		{"-n", n.name, "link", "set", n.farIf, "up"},
		{"-n", n.name, "link", "set", "lo", "up"},
	}
	for _, args := range steps {
		if err := ip(args...); err != nil {
			n.remove()
			return nil, err
		}
	}
	return n, nil
}

// command runs the program in the namespace; a nil n, where relaysim is.
func (n *netns) command(name string, args ...string) *exec.Cmd {
	if n == nil {
		return exec.Command(name, args...)
	}
	return exec.Command("ip", append([]string{"netns", "exec", n.name, name}, args...)...)
}

// remove deletes the veth pair (both ends go together) and the
// namespace.
func (n *netns) remove() error {
	var err error
	if exec.Command("ip", "link", "show", n.hostIf).Run() == nil {
		err = ip("link", "delete", n.hostIf)
	}
	return errors.Join(err, ip("netns", "delete", n.name))
}

// removeStaleNetns deletes the namespaces whose relaysim is no longer
// running: what a SIGKILL left behind.
func removeStaleNetns() {
	names, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range names {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), netnsPrefix))
		if !strings.HasPrefix(e.Name(), netnsPrefix) || err != nil || pid <= 0 || running(pid) {
			continue
		}
		ip("netns", "delete", e.Name())
	}
}

// running reports whether a process pid exists.
func running(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// freeSubnet picks a /30 of the benchmarking range that no interface of
// relaysim's namespace uses, starting from one the PID picks, so that
// runs at once get different ones.
func freeSubnet(pid int) (netip.Prefix, error) {
	out, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("-netns: ip addr show: %w", err)
	}
	used := map[netip.Prefix]bool{}
	for _, f := range strings.Fields(string(out)) {
		if p, err := netip.ParsePrefix(f); err == nil {
			used[netip.PrefixFrom(p.Addr(), 30).Masked()] = true
		}
	}
	const subnets = 1 << (32 - 15 - 2)
	base := benchmarkNet.Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16
	for i := range subnets {
		k := uint32((pid + i) % subnets)
		a := start + 4*k
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), 30)
		if !used[p] {
			return p, nil
		}
	}
	return netip.Prefix{}, errors.New("-netns: every /30 of 198.18.0.0/15 is in use")
}

// ip runs the ip command, its output in the error.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("-netns: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
