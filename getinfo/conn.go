package getinfo

import (
	"iter"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/internal/decimal"
	"github.com/conninfo/conninfo/scrub"
)

// Source is what the conn/ keys read. A *connstate.Registry is one; tests
// and hosts with their own bookkeeping may supply another.
type Source interface {
	// Entries yields every entry, sorted by (CircID, ConnID). The handler
	// scrubs each yielded entry in place and keeps none past its step, as
	// [connstate.Registry.Entries] allows.
	Entries() iter.Seq[*connstate.Entry]
	// LookupEntry returns one entry; false if there is none.
	LookupEntry(circID, connID uint64) (connstate.Entry, bool)
}

// Conns is the family of the proposal's connection keys, every entry
// passed through Policy:
//
//   - conn/all: every entry line, joined by "\n", with no trailing newline
//     (an empty value when there are none);
//   - conn/<circ>/<conn>: one entry line. Both numbers must be canonical
//     decimal (no sign, no leading zero, within uint64); a malformed pair,
//     or one that names no line, is an unrecognized key.
//
// A Conns is also a [Handler] for those keys. It is safe for concurrent
// use; do not change or copy it once registered.
type Conns struct {
	// Source is what the keys read; a *connstate.Registry is one. Without
	// it, Register mounts nothing.
	Source Source
	// Policy scrubs every entry. The zero Policy is [scrub.Default].
	Policy scrub.Policy
	// Workers is how many goroutines may format one conn/all from a
	// [PartitionedSource]: 0 means GOMAXPROCS, at most 8; 1 keeps the work
	// on the caller's goroutine.
	Workers int

	// spare keeps the other workers' buffers for the next conn/all: a lone
	// pointer, not a sync.Pool, which a GC would empty of megabytes.
	spare atomic.Pointer[[][]byte]
}

// PartitionedSource is a [Source] that can also split one snapshot of its
// entries into ordered parts to be ranged on several goroutines at once,
// as [connstate.Registry.EntryParts] does; release ends the snapshot.
// [Conns] formats a large conn/all from such a source in parallel.
type PartitionedSource interface {
	Source
	EntryParts(n int) (parts []iter.Seq[*connstate.Entry], release func())
}

// The conn/ keys as registered on a Mux, and their info/names descriptions.
const (
	ConnAllKey    = "conn/all"
	ConnPrefix    = "conn/"
	connAllDoc    = "Every connection and circuit leg, one entry line each, client and exit endpoints scrubbed."
	connPrefixDoc = "One entry line by circuit and connection ID: conn/<circ>/<conn>, circ 0 for the connection itself."
)

// Register mounts conn/all and the conn/ prefix on m, if Source is set.
func (h *Conns) Register(m *Mux) {
	if h.Source == nil {
		return
	}
	m.Handle(ConnAllKey, connAllDoc, h)
	m.HandlePrefix(ConnPrefix, connPrefixDoc, h)
}

// AppendInfo appends the value of a conn/ key to dst.
func (h *Conns) AppendInfo(dst []byte, key string) ([]byte, error) {
	if h.Source == nil {
		return dst, ErrUnrecognized
	}
	if key == ConnAllKey {
		return h.appendAll(dst), nil
	}
	circ, conn, ok := parseConnKey(key)
	if !ok {
		return dst, ErrUnrecognized
	}
	e, found := h.Source.LookupEntry(circ, conn)
	if !found {
		return dst, ErrUnrecognized
	}
	h.Policy.Scrub(&e)
	return format.AppendEntry(dst, &e), nil
}

// workers is how many goroutines format one conn/all.
func (h *Conns) workers() int {
	if h.Workers > 0 {
		return h.Workers
	}
	return min(runtime.GOMAXPROCS(0), 8)
}

// appendAll formats each entry as the source yields it: no list of
// entries is built, so a warm conn/all allocates no more for 100,000
// entries than for ten. A large list from a PartitionedSource is formatted
// by several goroutines, each into its own buffer, joined in order.
func (h *Conns) appendAll(dst []byte) []byte {
	ps, ok := h.Source.(PartitionedSource)
	if !ok || h.workers() == 1 {
		dst, _ = h.appendPart(dst, h.Source.Entries())
		return dst
	}
	parts, release := ps.EntryParts(h.workers())
	defer release()
	if len(parts) == 1 {
		dst, _ = h.appendPart(dst, parts[0])
		return dst
	}
	bp := h.spare.Swap(nil)
	if bp == nil {
		bp = new([][]byte) // first use, or a concurrent conn/all holds the spare
	}
	bufs := *bp
	for len(bufs) < len(parts)-1 {
		bufs = append(bufs, nil)
	}
	// The first part goes straight into dst; the others into buffers of
	// their own, appended after it in order.
	var wg sync.WaitGroup
	panics := make([]any, len(parts))
	for i := 1; i < len(parts); i++ {
		wg.Go(func() {
			// A panic on a worker would end the process; carry it back to
			// the caller's goroutine, where Mux.Answer makes it a 551.
			defer func() { panics[i] = recover() }()
			bufs[i-1], _ = h.appendPart(bufs[i-1][:0], parts[i])
		})
	}
	dst, wrote := h.appendPart(dst, parts[0])
	wg.Wait()
	for _, p := range panics {
		if p != nil {
			panic(p)
		}
	}
	for _, b := range bufs[:len(parts)-1] {
		if len(b) == 0 {
			continue // a part whose legs had all closed
		}
		if wrote {
			dst = append(dst, '\n')
		}
		dst = append(dst, b...)
		wrote = true
	}
	*bp = bufs
	h.spare.Store(bp)
	return dst
}

// appendPart formats entries, each scrubbed in place, joined by "\n", and
// reports whether any line has been written.
func (h *Conns) appendPart(dst []byte, entries iter.Seq[*connstate.Entry]) ([]byte, bool) {
	n := len(dst)
	dst = format.AppendAll(dst, func(yield func(*connstate.Entry) bool) {
		for e := range entries {
			h.Policy.Scrub(e)
			if !yield(e) {
				return
			}
		}
	})
	return dst, len(dst) > n
}

// parseConnKey splits conn/<circ>/<conn> into its canonical decimal numbers.
func parseConnKey(key string) (circ, conn uint64, ok bool) {
	rest, ok := strings.CutPrefix(key, ConnPrefix)
	if !ok {
		return 0, 0, false
	}
	c, n, ok := strings.Cut(rest, "/")
	if !ok {
		return 0, 0, false
	}
	circ, okCirc := decimal.ParseUint64(c)
	conn, okConn := decimal.ParseUint64(n)
	return circ, conn, okCirc && okConn
}
