package getinfo

import (
	"strings"

	"github.com/conninfo/conninfo/connstate"
)

// NetworkStatusSource supplies the consensus' router-status entries in
// the control port's form; a *consensus.Consensus and a
// *consensus.FileSource are ones.
type NetworkStatusSource interface {
	// AppendNetworkStatus appends every entry, each ending in "\n".
	AppendNetworkStatus(dst []byte) []byte
	// AppendRouterStatus appends the entry of relay fp, and reports
	// whether the consensus lists it.
	AppendRouterStatus(dst []byte, fp connstate.Fingerprint) ([]byte, bool)
}

// NetworkStatus is the family of tor's ns/all and ns/id/<fp>: the
// consensus, which is public, the same in every tier.
//
//   - ns/all: every entry, as tor writes them (r, a, s and w lines),
//     without the last newline;
//   - ns/id/<fp>: one relay's entry, fp its fingerprint in hex with or
//     without "$"; "551 Data not decodeable as hex" for anything else, as
//     tor answers; an unknown relay is an unrecognized key.
//
// Without a consensus tor answers both with an empty value; a source
// that has none answers ns/all empty and ns/id as unknown.
type NetworkStatus struct {
	// Source supplies the entries; without it, Register mounts nothing.
	Source NetworkStatusSource
}

// Register mounts ns/all and ns/id/ on m, if Source is set.
func (n *NetworkStatus) Register(m *Mux) {
	src := n.Source
	if src == nil {
		return
	}
	m.HandleFunc("ns/all", "Router-status entries of every relay in the consensus.", func(dst []byte, _ string) ([]byte, error) {
		return trimNewline(src.AppendNetworkStatus(dst), len(dst)), nil
	})
	m.HandlePrefixFunc("ns/id/", "Router-status entry of the relay with this fingerprint.", func(dst []byte, key string) ([]byte, error) {
		hex := strings.TrimPrefix(strings.TrimPrefix(key, "ns/id/"), "$")
		fp, err := connstate.ParseFingerprint(strings.ToUpper(hex))
		if err != nil {
			return dst, Unavailable("Data not decodeable as hex")
		}
		out, ok := src.AppendRouterStatus(dst, fp)
		if !ok {
			return dst, ErrUnrecognized
		}
		return trimNewline(out, len(dst)), nil
	})
}

// trimNewline drops the "\n" ending what was appended after n: a value's
// lines are joined, not ended, by newlines.
func trimNewline(b []byte, n int) []byte {
	if len(b) > n && b[len(b)-1] == '\n' {
		return b[:len(b)-1]
	}
	return b
}
