package verify

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"

	psnet "github.com/shirou/gopsutil/v4/net"

	"github.com/conninfo/conninfo/audit"
)

// Sockets returns the TCP sockets of process pid that are connected or
// connecting (ESTABLISHED, SYN_SENT, SYN_RECV): its listeners, and the
// sockets being torn down (CLOSE_WAIT, TIME_WAIT, ...), are left out. It reads what the operating
// system tells (gopsutil's ConnectionsPid: /proc on Linux), which needs
// the right to see that process's descriptors.
func Sockets(ctx context.Context, pid int32) ([]audit.Socket, error) {
	var stats []psnet.ConnectionStat
	for _, kind := range []string{"tcp4", "tcp6"} {
		s, err := psnet.ConnectionsPidWithContext(ctx, kind, pid)
		if kind == "tcp6" && errors.Is(err, fs.ErrNotExist) {
			continue // a host without IPv6 has no table of its sockets
		}
		if err != nil {
			return nil, fmt.Errorf("verify: the sockets of process %d: %w", pid, err)
		}
		stats = append(stats, s...)
	}
	var out []audit.Socket
	for _, s := range stats {
		switch s.Status {
		case "ESTABLISHED", "SYN_SENT", "SYN_RECV":
		default:
			continue // listening, or being torn down: no connection a relay holds
		}
		if s.Raddr.Port == 0 {
			continue
		}
		local, ok1 := addrPort(s.Laddr)
		remote, ok2 := addrPort(s.Raddr)
		if !ok1 || !ok2 {
			continue
		}
		out = append(out, audit.Socket{Local: local, Remote: remote, Status: s.Status})
	}
	return out, nil
}

func addrPort(a psnet.Addr) (netip.AddrPort, bool) {
	ip, err := netip.ParseAddr(a.IP)
	if err != nil || a.Port > 65535 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(a.Port)), true
}
