package consensus

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/conninfo/conninfo/connstate"
)

// AppendControlEntry appends the entry as tor's control port writes a
// router-status entry for ns/all and ns/id/<fp>: the r line, with the
// descriptor digest (zero where the document has none, as in a
// microdescriptor consensus, or in an entry built by hand), its a lines,
// its s line and "w Bandwidth=N" when the document gives one; each line
// ends in "\n". A publication time that is unknown is written as tor
// writes it, 2038-01-01 00:00:00.
func (r *RouterStatus) AppendControlEntry(dst []byte) []byte {
	lines := strings.Split(strings.TrimSuffix(r.Text, "\n"), "\n")
	digest := strings.Repeat("A", 27) // base64 of 20 zero bytes, unpadded
	if f := strings.Fields(first(lines)); len(f) == 9 && f[0] == "r" {
		digest = f[3]
	}
	published := "2038-01-01 00:00:00"
	if !r.Published.IsZero() {
		published = r.Published.UTC().Format(timeLayout)
	}
	dst = append(dst, "r "...)
	dst = append(dst, r.Nickname...)
	dst = append(dst, ' ')
	dst = base64.RawStdEncoding.AppendEncode(dst, r.Identity[:])
	dst = append(append(dst, ' '), digest...)
	dst = append(append(dst, ' '), published...)
	dst = append(append(dst, ' '), r.Addr.String()...)
	dst = strconv.AppendUint(append(dst, ' '), uint64(r.ORPort), 10)
	dst = strconv.AppendUint(append(dst, ' '), uint64(r.DirPort), 10)
	dst = append(dst, '\n')
	for _, a := range r.ORAddrs {
		dst = append(append(append(dst, "a "...), a.String()...), '\n')
	}
	dst = append(dst, 's')
	for _, f := range r.Flags {
		dst = append(append(dst, ' '), f...)
	}
	dst = append(dst, '\n')
	for _, l := range lines {
		if bw, ok := strings.CutPrefix(l, "w "); ok {
			if f := strings.Fields(bw); len(f) > 0 && strings.HasPrefix(f[0], "Bandwidth=") {
				dst = append(append(append(dst, "w "...), f[0]...), '\n')
			}
			break
		}
	}
	return dst
}

func first(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[0]
}

// AppendNetworkStatus appends every entry, as tor answers ns/all: each
// in the control port's form ([RouterStatus.AppendControlEntry]), in
// document order. A nil Consensus appends nothing, as tor answers without
// one.
func (c *Consensus) AppendNetworkStatus(dst []byte) []byte {
	if c == nil {
		return dst
	}
	for i := range c.Routers {
		dst = c.Routers[i].AppendControlEntry(dst)
	}
	return dst
}

// AppendRouterStatus appends the entry of the relay with identity fp, as
// tor answers ns/id/<fp>, and reports whether the consensus lists it.
func (c *Consensus) AppendRouterStatus(dst []byte, fp connstate.Fingerprint) ([]byte, bool) {
	r, ok := c.Lookup(fp)
	if !ok {
		return dst, false
	}
	return r.AppendControlEntry(dst), true
}
