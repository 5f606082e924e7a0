package getinfo

import (
	"strings"
	"sync/atomic"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/internal/decimal"
	"github.com/conninfo/conninfo/scrub"
)

// Source is what the conn/ keys read. A *connstate.Registry is one; tests
// and hosts with their own bookkeeping may supply another.
type Source interface {
	// AppendEntries appends every entry, sorted by (CircID, ConnID).
	AppendEntries(dst []connstate.Entry) []connstate.Entry
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
	src    Source
	policy scrub.Policy
	// spare keeps one snapshot buffer for the next conn/all, so that a warm
	// answer allocates nothing per entry.
	spare atomic.Pointer[[]connstate.Entry]
}

// ConnOption configures a [ConnHandler].
type ConnOption func(*ConnHandler)

// WithPolicy makes the handler scrub with p instead of [scrub.Default].
func WithPolicy(p scrub.Policy) ConnOption {
	return func(h *ConnHandler) { h.policy = p }
}

// NewConnHandler returns a handler reading src, scrubbing with
// [scrub.Default] unless an option says otherwise.
func NewConnHandler(src Source, opts ...ConnOption) *ConnHandler {
	h := &ConnHandler{src: src, policy: scrub.Default()}
	for _, o := range opts {
		o(h)
	}
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
	return format.AppendEntry(dst, h.policy.Apply(e)), nil
}

func (h *ConnHandler) appendAll(dst []byte) []byte {
	buf := h.spare.Swap(nil)
	if buf == nil {
		buf = new([]connstate.Entry) // first use, or a concurrent conn/all holds the spare
	}
	entries := h.src.AppendEntries((*buf)[:0])
	for i := range entries {
		if i > 0 {
			dst = append(dst, '\n')
		}
		dst = format.AppendEntry(dst, h.policy.Apply(entries[i]))
	}
	*buf = entries
	h.spare.Store(buf)
	return dst
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
