package getinfo

import (
	"bytes"
	"io"
	"iter"
	"sync"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/scrub"
)

// A reply's conn/all is streamed: its lines go into the reply's chunks in
// wire form as they are formatted, and each chunk to the controller once
// full, so that no value is held whole and no pass makes a data block of
// it. Entry lines allow it: they never start with '.' nor hold CR or LF
// (digits, flags, hex, addresses and spaces: format's tests hold it), so
// each is a data block's line as it is.

// streamer is a handler that can stream some keys' replies.
type streamer interface {
	// stream returns what writes key's reply lines, with what it must
	// know of the answer fixed now (the public tier's epoch view, say);
	// false answers the key as usual.
	stream(key string) (func(*keyLines), bool)
}

// streamFor returns the stream of key if its handler (h, or the handler
// h routes it to) has one.
func streamFor(h Handler, key string) (func(*keyLines), bool) {
	if m, ok := h.(*Mux); ok {
		h = m.lookup(key)
	}
	s, ok := h.(streamer)
	if !ok {
		return nil, false
	}
	return s.stream(key)
}

// keyLines writes one key's reply lines as its value's lines are made:
// "250-KEY=" with the value if it has at most one line, else "250+KEY=",
// the lines and ".". A writer appends a line to out between next and done.
type keyLines struct {
	out   []byte // the reply being encoded, the ReplyWriter's buffer
	w     io.Writer
	key   string
	head  int // where the key's first reply line starts in out
	body  int // where its first line of value starts, past "250+KEY=\r\n"
	lines int
	sent  int   // bytes written to w so far
	err   error // the first error of w: the writer stops
}

// firstChunk is how much of a streamed value is encoded before its first
// write: a small first chunk lets the controller start reading while the
// rest is formatted, instead of waiting for a full chunk's worth of lines
// (on a busy relay, a millisecond). The chunks grow to chunk from there.
const firstChunk = 16 << 10

// limit is how much out may hold before it is written: twice what was
// sent, from firstChunk up to chunk.
func (k *keyLines) limit() int { return min(max(2*k.sent, firstChunk), chunk) }

// send writes b, counting what went.
func (k *keyLines) send(b []byte) {
	var n int
	n, k.err = k.w.Write(b)
	k.sent += n
}

// next readies out for a line: before the first, the key's header, a
// data block's until a second line shows whether one is needed.
func (k *keyLines) next() {
	if k.lines == 0 {
		k.head = len(k.out)
		k.out = append(AppendEscapedKey(append(k.out, "250+"...), k.key), "=\r\n"...)
		k.body = len(k.out)
	}
}

// done ends the line, sends out once it holds a chunk, and reports whether
// the writer should go on. Nothing is sent before a second line: a single
// one is rewritten by end.
func (k *keyLines) done() bool {
	k.out = append(k.out, '\r', '\n')
	k.lines++
	if k.lines > 1 && len(k.out) >= k.limit() {
		k.send(k.out)
		k.out = k.out[:0]
	}
	return k.err == nil
}

// end finishes the key's lines.
func (k *keyLines) end() {
	switch k.lines {
	case 0:
		k.out = append(AppendEscapedKey(append(k.out, "250-"...), k.key), "=\r\n"...)
	case 1:
		// "250+KEY=\r\nLINE\r\n" becomes "250-KEY=LINE\r\n".
		k.out[k.head+3] = '-'
		k.out = append(k.out[:k.body-2], k.out[k.body:]...)
	default:
		k.out = append(k.out, ".\r\n"...)
	}
}

// addLines adds n lines formatted beforehand, each ending in CR LF, as
// raw does once a second line is in; it reports whether to go on.
func (k *keyLines) addLines(b []byte, n int) bool {
	if n == 0 {
		return true
	}
	k.next()
	k.lines += n
	if k.lines == 1 {
		k.out = append(k.out, b...) // end may yet rewrite it
	} else {
		k.raw(b)
	}
	return k.err == nil
}

// raw adds reply lines made beforehand: in out if they fit the chunk, else
// written straight from b, uncopied.
func (k *keyLines) raw(b []byte) {
	if len(k.out)+len(b) <= k.limit() {
		k.out = append(k.out, b...)
		return
	}
	if len(k.out) > 0 {
		if k.send(k.out); k.err != nil {
			return
		}
		k.out = k.out[:0]
	}
	k.send(b)
}

// stream streams conn/all: the public tier's epoch reply, encoded once
// for every controller when the view was taken, or the other tiers' lines,
// formatted live as the snapshot is walked.
func (h *Conns) stream(key string) (func(*keyLines), bool) {
	if key != ConnAllKey || h.Source == nil {
		return nil, false
	}
	if h.Policy.EpochLength() > 0 {
		v := h.current()
		return func(k *keyLines) { k.raw(v.reply) }, true
	}
	return func(k *keyLines) {
		h.streamAll(k, h.clock().Now(), h.Policy)
		k.end()
	}, true
}

// streamAll writes the lines the policy shows, each scrubbed in place; a
// PartitionedSource dates them at. A large snapshot is cut into parts of
// some MinPart lines, formatted by the workers in turn, each into one of
// two buffers of its own, and written in order from those buffers as they
// come: the memory is a few parts a worker, whatever the reply's size.
func (h *Conns) streamAll(k *keyLines, at time.Time, policy scrub.Policy) {
	ps, ok := h.Source.(PartitionedSource)
	if !ok {
		h.streamPart(k, h.Source.Entries(), policy)
		return
	}
	workers := h.workers()
	n := 1
	if workers > 1 {
		n = 1 << 30 // as many parts as MinPart allows
	}
	parts, release := ps.EntryPartsAt(at, n)
	defer release()
	if len(parts) < 2*workers { // one worker, or too few parts to share
		for _, p := range parts {
			if !h.streamPart(k, p, policy) {
				return
			}
		}
		return
	}
	h.streamParallel(k, parts, workers, policy)
}

// streamPart writes the lines of one part straight into the reply, and
// reports whether to go on.
func (h *Conns) streamPart(k *keyLines, entries iter.Seq[*connstate.Entry], policy scrub.Policy) bool {
	for e := range entries {
		if !policy.Scrub(e) {
			continue
		}
		k.next()
		k.out = format.AppendEntry(k.out, e)
		if !k.done() {
			return false
		}
	}
	return true
}

// formatted is one part's lines, each ending in CR LF, from a worker.
type formatted struct {
	buf    []byte
	lines  int
	panics any
}

// streamParallel has part i formatted by worker i mod workers, the
// caller's goroutine being worker 0, which formats its parts straight
// into the reply and writes the others' buffers as they are done.
func (h *Conns) streamParallel(k *keyLines, parts []iter.Seq[*connstate.Entry], workers int, policy scrub.Policy) {
	stop := make(chan struct{})
	done := make([]chan formatted, workers) // a worker's parts, in order
	free := make([]chan []byte, workers)    // its buffers, given back once written
	// The buffers of the last conn/all, kept for this one.
	var bufs [][]byte
	if bp := h.spare.Swap(nil); bp != nil {
		bufs = *bp
	}
	take := func() []byte {
		if len(bufs) == 0 {
			return nil
		}
		b := bufs[len(bufs)-1]
		bufs = bufs[:len(bufs)-1]
		return b
	}
	var wg sync.WaitGroup
	defer func() {
		close(stop)
		wg.Wait()
		for j := 1; j < workers; j++ {
			for len(free[j]) > 0 {
				bufs = append(bufs, <-free[j])
			}
			for len(done[j]) > 0 {
				bufs = append(bufs, (<-done[j]).buf)
			}
		}
		h.keepSpare(bufs)
	}()
	for j := 1; j < workers; j++ {
		done[j], free[j] = make(chan formatted, 1), make(chan []byte, 2)
		free[j] <- take()
		free[j] <- take()
		wg.Go(func() {
			for i := j; i < len(parts); i += workers {
				var buf []byte
				select {
				case buf = <-free[j]:
				case <-stop:
					return
				}
				f := formatPart(buf[:0], parts[i], policy)
				select {
				case done[j] <- f:
				case <-stop:
					return
				}
				if f.panics != nil {
					return
				}
			}
		})
	}
	for i, p := range parts {
		j := i % workers
		if j == 0 {
			if !h.streamPart(k, p, policy) {
				return
			}
			continue
		}
		f := <-done[j]
		if f.panics != nil {
			panic(f.panics) // on the caller's goroutine, which turns it into an error
		}
		if !k.addLines(f.buf, f.lines) {
			return
		}
		free[j] <- f.buf
	}
}

// maxSpare bounds the worker buffers kept from one conn/all to the next.
const maxSpare = 4 << 20

// keepSpare keeps bufs for the next conn/all, unless they grew too big.
func (h *Conns) keepSpare(bufs [][]byte) {
	total := 0
	for i, b := range bufs {
		total += cap(b)
		bufs[i] = b[:0]
	}
	if total <= maxSpare {
		h.spare.Store(&bufs)
	}
}

// formatPart formats one part's lines into buf, carrying back a panic.
func formatPart(buf []byte, entries iter.Seq[*connstate.Entry], policy scrub.Policy) (f formatted) {
	defer func() {
		if r := recover(); r != nil {
			f.panics = r
		}
	}()
	for e := range entries {
		if policy.Scrub(e) {
			buf = append(format.AppendEntry(buf, e), '\r', '\n')
			f.lines++
		}
	}
	f.buf = buf
	return f
}

// encodeReply returns the reply lines of conn/all whose value is all, as
// a stream would write them.
func encodeReply(all []byte) []byte {
	k := keyLines{key: ConnAllKey, out: make([]byte, 0, len(all)+bytes.Count(all, []byte{'\n'})+32)}
	for len(all) > 0 {
		line := all
		if i := bytes.IndexByte(all, '\n'); i >= 0 {
			line, all = all[:i], all[i+1:]
		} else {
			all = nil
		}
		k.next()
		k.out = append(k.out, line...)
		k.lines++
		k.out = append(k.out, '\r', '\n')
	}
	k.end()
	return k.out
}
