package getinfo

import (
	"iter"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

// Conns is the family of the keys read from a relay's connections, every
// answer passed through Policy:
//
//   - conn/all: every entry line the policy shows, joined by "\n", with
//     no trailing newline (an empty value when there are none);
//   - conn/<circ>/<conn>: one entry line, exactly as conn/all would show
//     it. Both numbers must be canonical decimal (no sign, no leading
//     zero, within uint64); a malformed pair, or one that names no shown
//     line, is an unrecognized key;
//   - if Totals is set, the byte totals: info/relay/read-total and
//     write-total (and relay/read-total, relay/write-total), and tor's
//     traffic/read and traffic/written.
//
// Under the public tier (the default) every one of these keys is answered
// from one view per epoch: a snapshot of the lines and the totals taken
// at each multiple of the policy's epoch on Clock, shared by every
// controller, so that within an epoch every answer is byte-identical
// however fast and whatever keys are asked. The snapshots are taken by a
// timer at the grid's instants while controllers ask, and stop after six
// epochs without a question; the first question after that takes one at
// once, with every UPTIME at its epoch's instant. A question at an instant
// the timer has not yet reached is answered from the last view. Each view
// rounds with offsets of its own (scrub.Policy.Dithered), no count below
// what the last view showed, and shows CONN_ID and CIRC_ID as pseudonyms
// (scrub.Pseudonyms), sorted by them; conn/<circ>/<conn> takes the
// pseudonyms. The other tiers answer live, with the registry's IDs.
//
// A Conns is also a [Handler] for those keys. It is safe for concurrent
// use; do not change or copy it once registered.
type Conns struct {
	// Source is what the conn/ keys read; a *connstate.Registry is one.
	// Without it, those keys are not mounted.
	Source Source
	// Totals returns the byte totals, closed connections included; a
	// *connstate.Registry's Totals method fits. Without it, the totals
	// keys are not mounted.
	Totals func() connstate.Totals
	// Policy scrubs every entry and the totals. The zero Policy is the
	// public tier with no source of public relays: no endpoint is shown.
	Policy scrub.Policy
	// Clock places the public tier's epochs. nil means the Source's own
	// (a Registry's Clock), else the real clock.
	Clock connstate.Clock
	// Workers is how many goroutines may format one conn/all from a
	// [PartitionedSource]: 0 means GOMAXPROCS, at most 8; 1 keeps the work
	// on the caller's goroutine. In a reply (WriteReply, ReplyWriter) the
	// snapshot is cut into parts of some MinPart lines that the workers
	// format in turn, each into two buffers of its own, written out in
	// order as they are done.
	Workers int
	// Seeds draws the public tier's secrets: first the two keys of its ID
	// pseudonyms (scrub.NewPseudonyms), once, then the seed of each
	// view's rounding offsets (scrub.Policy.Dithered). nil means random
	// ones, as serving must; tests fix them to reproduce answers.
	Seeds func() uint64

	// spare keeps the other workers' buffers for the next conn/all: a lone
	// pointer, not a sync.Pool, which a GC would empty of megabytes.
	spare  atomic.Pointer[[][]byte]
	epochs epochs
}

// seed draws one of the public tier's secrets.
func (h *Conns) seed() uint64 {
	if h.Seeds != nil {
		return h.Seeds()
	}
	return rand.Uint64() // the runtime's ChaCha8, seeded unpredictably
}

// PartitionedSource is a [Source] that can also split one snapshot of its
// entries into ordered parts to be ranged on several goroutines at once,
// with every UPTIME computed at a given instant, as
// [connstate.Registry.EntryPartsAt] does; release ends the snapshot.
// [Conns] formats a large conn/all from such a source in parallel, and
// dates the public tier's lines at their epoch's instant.
type PartitionedSource interface {
	Source
	EntryPartsAt(at time.Time, n int) (parts []iter.Seq[*connstate.Entry], release func())
}

// originSource is a PartitionedSource that can leave out the legs of
// circuits carried for others, as [connstate.Registry.OriginEntryPartsAt]
// does, so that the public tier's view takes a time that depends only on
// what it shows.
type originSource interface {
	OriginEntryPartsAt(at time.Time, n int) (parts []iter.Seq[*connstate.Entry], release func())
}

// The conn/ keys as registered on a Mux, and their info/names descriptions.
const (
	ConnAllKey    = "conn/all"
	ConnPrefix    = "conn/"
	connAllDoc    = "Every connection and circuit leg that the privacy tier shows, one entry line each."
	connPrefixDoc = "One entry line by circuit and connection ID: conn/<circ>/<conn>, circ 0 for the connection itself."
)

// The totals keys.
const (
	readTotalKey  = "info/relay/read-total"
	writeTotalKey = "info/relay/write-total"
	trafficRead   = "traffic/read"
	trafficWrote  = "traffic/written"
)

// Register mounts the keys whose sources are set on m.
func (h *Conns) Register(m *Mux) {
	if h.Source != nil {
		m.Handle(ConnAllKey, connAllDoc, h)
		m.HandlePrefix(ConnPrefix, connPrefixDoc, h)
	}
	if h.Totals != nil {
		m.Handle(readTotalKey, "Bytes read on rate-limited relaying connections since start, closed ones included (proposal name).", h)
		m.Handle("relay/read-total", "Bytes read on rate-limited relaying connections since start, closed ones included (proposal 173 name).", h)
		m.Handle(writeTotalKey, "Bytes written on rate-limited relaying connections since start, closed ones included (proposal name).", h)
		m.Handle("relay/write-total", "Bytes written on rate-limited relaying connections since start, closed ones included (proposal 173 name).", h)
		m.Handle(trafficRead, "Bytes read since start on rate-limited connections: not loopback, private or unix unless counted.", h)
		m.Handle(trafficWrote, "Bytes written since start on rate-limited connections: not loopback, private or unix unless counted.", h)
	}
}

// AppendInfo appends the value of one of the family's keys to dst.
func (h *Conns) AppendInfo(dst []byte, key string) ([]byte, error) {
	var v *epochView
	if h.Policy.EpochLength() > 0 {
		v = h.current()
	}
	switch key {
	case readTotalKey, "relay/read-total", writeTotalKey, "relay/write-total", trafficRead, trafficWrote:
		if h.Totals == nil {
			return dst, ErrUnrecognized
		}
		var t connstate.Totals
		if v != nil {
			t = v.totals // no walk of the live connections: its time would tell their number
		} else {
			t = h.Policy.Totals(h.Totals())
		}
		return strconv.AppendUint(dst, pickTotal(t, key), 10), nil
	}
	if h.Source == nil {
		return dst, ErrUnrecognized
	}
	if key == ConnAllKey {
		if v != nil {
			return append(dst, v.all...), nil
		}
		return h.appendAll(dst, h.clock().Now(), h.Policy), nil
	}
	circ, conn, ok := parseConnKey(key)
	if !ok {
		return dst, ErrUnrecognized
	}
	if v != nil {
		line, found := findLine(v.all, circ, conn)
		if !found {
			return dst, ErrUnrecognized
		}
		return append(dst, line...), nil
	}
	e, found := h.Source.LookupEntry(circ, conn)
	if !found || !h.Policy.Scrub(&e) {
		return dst, ErrUnrecognized
	}
	return format.AppendEntry(dst, &e), nil
}

// pickTotal returns the total a key names.
func pickTotal(t connstate.Totals, key string) uint64 {
	switch key {
	case readTotalKey, "relay/read-total":
		return t.RelayRead
	case writeTotalKey, "relay/write-total":
		return t.RelayWritten
	case trafficRead:
		return t.TrafficRead
	}
	return t.TrafficWritten
}

// clock is what places the epochs, and dates a live conn/all.
func (h *Conns) clock() connstate.Clock {
	if h.Clock != nil {
		return h.Clock
	}
	if c, ok := h.Source.(interface{ Clock() connstate.Clock }); ok {
		if clock := c.Clock(); clock != nil {
			return clock
		}
	}
	return connstate.RealClock()
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
//
// A PartitionedSource dates every line at; another Source at its own now.
func (h *Conns) appendAll(dst []byte, at time.Time, policy scrub.Policy) []byte {
	ps, ok := h.Source.(PartitionedSource)
	if !ok {
		dst, _ = h.appendPart(dst, h.Source.Entries(), policy)
		return dst
	}
	parts, release := ps.EntryPartsAt(at, h.workers())
	defer release()
	if len(parts) == 1 {
		dst, _ = h.appendPart(dst, parts[0], policy)
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
			bufs[i-1], _ = h.appendPart(bufs[i-1][:0], parts[i], policy)
		})
	}
	dst, wrote := h.appendPart(dst, parts[0], policy)
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

// appendPart formats the entries the policy shows, each scrubbed in
// place, joined by "\n", and reports whether any line has been written.
func (h *Conns) appendPart(dst []byte, entries iter.Seq[*connstate.Entry], policy scrub.Policy) ([]byte, bool) {
	n := len(dst)
	dst = format.AppendAll(dst, func(yield func(*connstate.Entry) bool) {
		for e := range entries {
			if policy.Scrub(e) && !yield(e) {
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
