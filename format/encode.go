package format

import (
	"io"
	"net/netip"
	"strconv"
	"sync"

	"github.com/conninfo/conninfo/connstate"
)

// AppendEntry appends e's entry line to dst, without a newline, and returns
// the extended slice. An IPv4-mapped address is written as IPv4, an IPv6
// address in brackets in its RFC 5952 form, and an invalid address as "0".
// It does not allocate when dst has room.
func AppendEntry(dst []byte, e connstate.Entry) []byte {
	dst = strconv.AppendUint(dst, e.ConnID, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, e.CircID, 10)
	dst = append(dst, ' ')
	dst = e.Fingerprint.AppendText(dst)
	dst = append(dst, ' ')
	dst = appendAddrPort(dst, e.Remote)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, uint64(e.LocalPort), 10)
	dst = append(dst, ' ')
	dst = e.Flags.AppendText(dst)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, e.Read, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendUint(dst, e.Written, 10)
	dst = append(dst, ' ')
	return strconv.AppendUint(dst, e.Uptime, 10)
}

func appendAddrPort(dst []byte, ap netip.AddrPort) []byte {
	a := ap.Addr()
	if !a.IsValid() {
		return append(dst, '0')
	}
	a = a.Unmap().WithZone("")
	return netip.AddrPortFrom(a, ap.Port()).AppendTo(dst)
}

// AppendAll appends the value of conn/all for entries to dst: their lines
// in the given order, joined by "\n", with no trailing newline.
func AppendAll(dst []byte, entries []connstate.Entry) []byte {
	for i := range entries {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = AppendEntry(dst, entries[i])
	}
	return dst
}

// chunk is how much WriteAll gathers before each write.
const chunk = 32 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, chunk+256); return &b }}

// WriteAll writes the value of conn/all for entries to w, as [AppendAll]
// would build it, in writes of about 32 KiB. It returns the bytes written
// and the first write error.
func WriteAll(w io.Writer, entries []connstate.Entry) (int64, error) {
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	buf := (*bp)[:0]
	var total int64
	for i := range entries {
		if i > 0 {
			buf = append(buf, '\n')
		}
		buf = AppendEntry(buf, entries[i])
		if len(buf) >= chunk || i == len(entries)-1 {
			n, err := w.Write(buf)
			total += int64(n)
			if err != nil {
				return total, err
			}
			buf = buf[:0]
		}
	}
	*bp = buf
	return total, nil
}
