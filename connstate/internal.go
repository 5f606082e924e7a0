package connstate

import "net/netip"

// Internal reports whether tor would call addr internal (its
// tor_addr_is_internal): an address that cannot be a peer on the public
// internet, whose connections tor does not rate limit or count in
// traffic/*. An invalid (unknown) address is internal, as tor treats an
// address of no family.
func Internal(addr netip.Addr) bool {
	if !addr.IsValid() {
		return true
	}
	addr = addr.Unmap()
	// A prefix contains no address of the other family.
	return addr.IsUnspecified() || addr.IsLoopback() || addr.IsPrivate() || addr.IsLinkLocalUnicast() ||
		zeroNet.Contains(addr) || sharedNet.Contains(addr) || siteLocal.Contains(addr)
}

var (
	zeroNet   = netip.MustParsePrefix("0.0.0.0/8")
	sharedNet = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT, RFC 6598
	siteLocal = netip.MustParsePrefix("fec0::/10")     // deprecated, still internal to tor
)
