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

// ConnHandler answers the proposal's connection keys, every entry passed
// through its scrub policy:
//
//   - conn/all: every entry line, joined by "\n", with no trailing newline
//     (an empty value when there are none);
//   - conn/<circ>/<conn>: one entry line. Both numbers must be canonical
//     decimal (no sign, no leading zero, within uint64); a malformed pair,
//     or one that names no line, is an unrecognized key.
//
// A ConnHandler is safe for concurrent use.
type ConnHandler struct {
	src     Source
	policy  scrub.Policy
	workers int
	// spare keeps the other workers' buffers for the next conn/all: a lone
	// pointer, not a sync.Pool, which a GC would empty of megabytes.
	spare atomic.Pointer[[][]byte]
}

// PartitionedSource is a [Source] that can also split its entries into
// ordered parts to be ranged on several goroutines at once, as
// [connstate.Registry.EntryParts] does. A ConnHandler formats a large
// conn/all from such a source in parallel.
type PartitionedSource interface {
	Source
	EntryParts(n int) []iter.Seq[*connstate.Entry]
}

// ConnOption configures a [ConnHandler].
type ConnOption func(*ConnHandler)

// WithWorkers sets how many goroutines may format one conn/all from a
// [PartitionedSource] (default GOMAXPROCS, at most 8); 1 keeps it on the
// caller's goroutine.
func WithWorkers(n int) ConnOption {
	return func(h *ConnHandler) { h.workers = n }
}

// WithPolicy makes the handler scrub with p instead of [scrub.Default].
func WithPolicy(p scrub.Policy) ConnOption {
	return func(h *ConnHandler) { h.policy = p }
}

// NewConnHandler returns a handler reading src, scrubbing with
// [scrub.Default] unless an option says otherwise.
func NewConnHandler(src Source, opts ...ConnOption) *ConnHandler {
	h := &ConnHandler{src: src, policy: scrub.Default(), workers: min(runtime.GOMAXPROCS(0), 8)}
	for _, o := range opts {
		o(h)
	}
	h.workers = max(h.workers, 1)
	return h
}

// The conn/ keys as registered on a Mux, and their info/names descriptions.
const (
	ConnAllKey    = "conn/all"
	ConnPrefix    = "conn/"
	connAllDoc    = "Every connection and circuit leg, one entry line each, client and exit endpoints scrubbed."
	connPrefixDoc = "One entry line by circuit and connection ID: conn/<circ>/<conn>, circ 0 for the connection itself."
)

// Register mounts the handler on m as conn/all and the conn/ prefix.
func (h *ConnHandler) Register(m *Mux) {
	m.Handle(ConnAllKey, connAllDoc, h)
	m.HandlePrefix(ConnPrefix, connPrefixDoc, h)
}

// AppendInfo appends the value of a conn/ key to dst.
func (h *ConnHandler) AppendInfo(dst []byte, key string) ([]byte, error) {
	if key == ConnAllKey {
		return h.appendAll(dst), nil
	}
	circ, conn, ok := parseConnKey(key)
	if !ok {
		return dst, ErrUnrecognized
	}
	e, found := h.src.LookupEntry(circ, conn)
	if !found {
		return dst, ErrUnrecognized
	}
	h.policy.Scrub(&e)
	return format.AppendEntry(dst, &e), nil
}

// appendAll formats each entry as the source yields it: no list of
// entries is built, so a warm conn/all allocates no more for 100,000
// entries than for ten. A large list from a PartitionedSource is formatted
// by several goroutines, each into its own buffer, joined in order.
func (h *ConnHandler) appendAll(dst []byte) []byte {
	ps, ok := h.src.(PartitionedSource)
	if !ok || h.workers == 1 {
		dst, _ = h.appendPart(dst, h.src.Entries(), false)
		return dst
	}
	parts := ps.EntryParts(h.workers)
	if len(parts) == 1 {
		dst, _ = h.appendPart(dst, parts[0], false)
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
			bufs[i-1], _ = h.appendPart(bufs[i-1][:0], parts[i], false)
		})
	}
	dst, wrote := h.appendPart(dst, parts[0], false)
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

// appendPart formats entries, each scrubbed in place, joined by "\n"
// (after a line already written if wrote is set), and reports whether any
// line has been written.
func (h *ConnHandler) appendPart(dst []byte, entries iter.Seq[*connstate.Entry], wrote bool) ([]byte, bool) {
	for e := range entries {
		if wrote {
			dst = append(dst, '\n')
		}
		wrote = true
		h.policy.Scrub(e)
		dst = format.AppendEntry(dst, e)
	}
	return dst, wrote
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
