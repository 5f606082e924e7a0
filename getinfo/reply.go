package getinfo

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"sync"
)

// okLine is the whole reply to a GETINFO with no keys, and the end line of
// every successful one.
const okLine = "250 OK\r\n"

// WriteReply answers keys with h and writes the whole GETINFO reply to w,
// byte-exact with tor except for the departures in the package doc:
//
//   - no keys: "250 OK".
//   - keys are evaluated in request order as [Mux.Answer] does, for any h.
//     The first 551 makes the reply "551 <text>" alone; later keys are not
//     evaluated.
//   - otherwise, if any key got 552, the reply is one 552 line for each such
//     key and nothing else.
//   - otherwise each key, duplicates repeated, gets "250-<key>=<value>", or
//     "250+<key>=" and a data block if the value holds a CR or LF; then
//     "250 OK". Values are sent raw; keys are echoed as [AppendEscapedKey]
//     says.
//
// All keys are answered before anything is written, so a handler's error
// never leaves a partial line; conn/all of a [Conns], which cannot fail,
// is the exception: its lines are streamed into the reply in wire form as
// they are formatted, a chunk at a time, so that no reply holds it whole.
// Should its source panic part-way, the reply is cut short and an error
// returned (and given to OnInternalError): close the connection then. An
// error from w is returned wrapped. A nil h recognizes no key. WriteReply
// takes a [ReplyWriter] from a pool; a connection that answers many
// GETINFOs, some large, should keep its own.
func WriteReply(w io.Writer, h Handler, keys []string) error {
	rw := replyPool.Get().(*ReplyWriter)
	defer func() {
		if rw.retained() <= maxPooled {
			replyPool.Put(rw)
		}
	}()
	return rw.Write(w, h, keys)
}

var replyPool = sync.Pool{New: func() any { return new(ReplyWriter) }}

// maxPooled bounds the memory a pooled ReplyWriter keeps after a large
// reply; a ReplyWriter of one's own keeps up to MaxRetained.
const maxPooled = 64 << 10

// MaxRetained is how much buffer memory a [ReplyWriter] keeps between
// replies; a larger reply's buffers are dropped after it is written.
// conn/all needs none of it: it is streamed a chunk at a time, whatever
// its size.
const MaxRetained = 1 << 20

// chunk is how much of the reply is encoded before each write to w: big
// enough that a conn/all of megabytes takes a few dozen system calls.
const chunk = 256 << 10

// ReplyWriter writes GETINFO replies as [WriteReply] does, keeping its
// buffers from one reply to the next (up to [MaxRetained]), so that a
// controller connection asking conn/all again and again allocates nothing.
// The zero ReplyWriter is ready to use. A ReplyWriter is not safe for
// concurrent use: keep one per connection.
type ReplyWriter struct {
	// OnInternalError, if set, is called with every 551 the writer sends,
	// whose Err holds the handler's error or panic: the controller sees only
	// "551 Internal error", so this is where the cause can be logged.
	OnInternalError func(*Error)

	vals  []byte         // the values, back to back
	spans []span         // where each key's value is in vals
	unrec []*Error       // the 552s, in request order
	out   []byte         // the encoded reply, written to w in chunks
	seen  map[string]int // for a long request: the first index of each key
}

// span is one key's answer: its value's place in vals, its 552, or the
// stream that writes it.
type span struct {
	start, end int
	err        *Error
	stream     func(*keyLines)
}

func (rw *ReplyWriter) retained() int { return cap(rw.vals) + cap(rw.out) + 24*cap(rw.spans) }

// Write answers keys with h and writes the reply to w; see [WriteReply].
func (rw *ReplyWriter) Write(w io.Writer, h Handler, keys []string) error {
	defer rw.reset()
	if err := rw.write(w, h, keys); err != nil {
		return fmt.Errorf("getinfo: writing GETINFO reply: %w", err)
	}
	return nil
}

func (rw *ReplyWriter) reset() {
	// Clear what points into the request (keys, errors), so that a huge
	// request keeps nothing alive, and drop what grew large.
	clear(rw.unrec)
	clear(rw.spans)
	rw.vals, rw.spans, rw.unrec, rw.out = rw.vals[:0], rw.spans[:0], rw.unrec[:0], rw.out[:0]
	if rw.retained() > MaxRetained {
		rw.vals, rw.spans, rw.out = nil, nil, nil
	}
	if cap(rw.unrec) > 1024 {
		rw.unrec = nil
	}
	rw.seen = nil // only long requests use it; a fresh map frees their buckets
}

func (rw *ReplyWriter) write(w io.Writer, h Handler, keys []string) error {
	if len(keys) == 0 {
		_, err := io.WriteString(w, okLine)
		return err
	}
	if e := rw.evaluate(h, keys); e != nil {
		if rw.OnInternalError != nil {
			rw.OnInternalError(e)
		}
		rw.out = appendStatus(rw.out, StatusInternal, true, e.Text)
		return rw.flush(w)
	}
	if len(rw.unrec) > 0 {
		for i, e := range rw.unrec {
			rw.out = appendStatus(rw.out, StatusUnrecognized, i == len(rw.unrec)-1, e.Text)
		}
		return rw.flush(w)
	}
	for i, key := range keys {
		if s := rw.spans[i].stream; s != nil {
			if err := rw.writeStream(w, key, s); err != nil {
				return err
			}
			continue
		}
		v := rw.vals[rw.spans[i].start:rw.spans[i].end]
		if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
			rw.out = append(AppendEscapedKey(append(rw.out, "250-"...), key), '=')
			if err := rw.appendRaw(w, v); err != nil {
				return err
			}
			rw.out = append(rw.out, '\r', '\n')
			continue
		}
		rw.out = append(AppendEscapedKey(append(rw.out, "250+"...), key), "=\r\n"...)
		if err := rw.appendDataBlock(w, v); err != nil {
			return err
		}
	}
	rw.out = append(rw.out, okLine...)
	return rw.flush(w)
}

// evaluate answers keys in order, keeping values until a 552 makes them
// useless. It stops at the first 551 and returns it. A key asked twice in
// one request is answered once and its answer sent twice, so that one line
// repeating a key cannot make the server hold a million values.
func (rw *ReplyWriter) evaluate(h Handler, keys []string) *Error {
	for i, key := range keys {
		if j := rw.earlier(keys, i); j >= 0 {
			rw.spans = append(rw.spans, rw.spans[j])
			if e := rw.spans[j].err; e != nil {
				rw.unrec = append(rw.unrec, e)
			}
			continue
		}
		if s, e := streamOf(h, key); e != nil {
			return e // a 551: its handler panicked
		} else if s != nil {
			rw.spans = append(rw.spans, span{stream: s})
			continue
		}
		n := len(rw.vals)
		// The handler appends to an empty slice, so one that ignores dst
		// cannot corrupt earlier values; appending in place costs a no-op copy.
		v, e := answer(h, rw.vals[n:n], key)
		switch {
		case e != nil && e.Code == StatusUnrecognized:
			rw.unrec = append(rw.unrec, e)
			rw.spans = append(rw.spans, span{err: e})
		case e != nil:
			return e
		case len(rw.unrec) == 0:
			rw.vals = append(rw.vals[:n], v...)
			rw.spans = append(rw.spans, span{start: n, end: len(rw.vals)})
		default:
			rw.spans = append(rw.spans, span{}) // not sent: a 552 came first
		}
	}
	return nil
}

// streamOf returns key's stream if its handler streams it, or the 551 of
// a handler that panicked saying so.
func streamOf(h Handler, key string) (s func(*keyLines), e *Error) {
	defer func() {
		if r := recover(); r != nil {
			s, e = nil, normalize(key, panicError(r))
		}
	}()
	s, _ = streamFor(h, key)
	return s, nil
}

// writeStream writes a streamed key's reply lines. Its value is sent as it
// is made: a panic then cannot become a 551, since part of the reply is
// gone, so the reply is cut short and an error returned, after which the
// connection must be closed.
func (rw *ReplyWriter) writeStream(w io.Writer, key string, s func(*keyLines)) (err error) {
	k := keyLines{out: rw.out, w: w, key: key}
	defer func() {
		if r := recover(); r != nil {
			e := normalize(key, panicError(r))
			if rw.OnInternalError != nil {
				rw.OnInternalError(e)
			}
			err = fmt.Errorf("%w: the reply was cut short", e.Err)
		}
		rw.out = k.out[:0:cap(k.out)]
		if err == nil {
			rw.out = k.out
		}
	}()
	s(&k)
	return k.err
}

// earlier returns the index of the first occurrence of keys[i] before i,
// or -1: by scanning for a short request, by a kept map for a long one.
func (rw *ReplyWriter) earlier(keys []string, i int) int {
	const scan = 16
	if len(keys) <= scan {
		for j := range i {
			if keys[j] == keys[i] {
				return j
			}
		}
		return -1
	}
	if rw.seen == nil {
		rw.seen = make(map[string]int)
	}
	if j, ok := rw.seen[keys[i]]; ok {
		return j
	}
	rw.seen[keys[i]] = i
	return -1
}

// AppendStatusReply appends a reply made of status lines with one code, as
// tor sends several 552s, or the values of GETCONF: "<code>-<text>" for
// every text but the last, then "<code> <text>", each line ending in CR
// LF. The texts must be safe to send: escape whatever came from a
// controller with [AppendEscapedKey]. No texts append nothing.
func AppendStatusReply(dst []byte, code int, texts ...string) []byte {
	for i, t := range texts {
		dst = appendStatus(dst, code, i == len(texts)-1, t)
	}
	return dst
}

// appendStatus adds one status line whose text is already safe to send:
// the end line of its reply if last.
func appendStatus(dst []byte, code int, last bool, text string) []byte {
	dst = strconv.AppendInt(dst, int64(code), 10)
	if last {
		dst = append(dst, ' ')
	} else {
		dst = append(dst, '-')
	}
	return append(append(dst, text...), '\r', '\n')
}

// flush writes out what is encoded so far.
func (rw *ReplyWriter) flush(w io.Writer) error {
	if len(rw.out) == 0 {
		return nil
	}
	_, err := w.Write(rw.out)
	rw.out = rw.out[:0]
	return err
}

// appendRaw adds v to the reply as it is, writing out full chunks.
func (rw *ReplyWriter) appendRaw(w io.Writer, v []byte) error {
	for len(v) > 0 {
		n := min(len(v), max(chunk-len(rw.out), 0))
		rw.out = append(rw.out, v[:n]...)
		v = v[n:]
		if len(rw.out) >= chunk {
			if err := rw.flush(w); err != nil {
				return err
			}
		}
	}
	return nil
}

// appendDataBlock adds v as a data block, as tor writes one: a LF without
// a CR before it becomes CR LF, a '.' that starts a line is doubled, and a
// bare CR passes through; CR LF is added unless the block already ends
// with it, then the "." line. It copies whole lines at a time.
func (rw *ReplyWriter) appendDataBlock(w io.Writer, v []byte) error {
	for len(v) > 0 {
		if v[0] == '.' {
			rw.out = append(rw.out, '.')
		}
		i := bytes.IndexByte(v, '\n')
		if i < 0 {
			// A last line without its LF: it cannot end in CR LF.
			rw.out = append(append(rw.out, v...), '\r', '\n')
			break
		}
		if i > 0 && v[i-1] == '\r' {
			rw.out = append(rw.out, v[:i+1]...)
		} else {
			rw.out = append(append(rw.out, v[:i]...), '\r', '\n')
		}
		v = v[i+1:]
		if len(rw.out) >= chunk {
			if err := rw.flush(w); err != nil {
				return err
			}
		}
	}
	rw.out = append(rw.out, ".\r\n"...)
	return nil
}
