package getinfo

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/textproto"
	"sync"
)

// okLine is the whole reply to a GETINFO with no keys, and the end line of
// every successful one.
var okLine = []byte("250 OK\r\n")

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
// never leaves a partial line. An error from w is returned wrapped. A nil h
// recognizes no key. A warm call allocates nothing per key or line, except
// one small allocation per data block (textproto's DotWriter).
func WriteReply(w io.Writer, h Handler, keys []string) error {
	if len(keys) == 0 {
		if _, err := w.Write(okLine); err != nil {
			return fmt.Errorf("getinfo: writing GETINFO reply: %w", err)
		}
		return nil
	}
	s := replyPool.Get().(*replyState)
	defer s.release()
	s.bw.Reset(w)
	if err := s.write(h, keys); err != nil {
		return fmt.Errorf("getinfo: writing GETINFO reply: %w", err)
	}
	return nil
}

// replyState is the reusable memory of one WriteReply call.
type replyState struct {
	vals    []byte   // the values, back to back
	ends    []int    // where each key's value ends in vals
	unrec   []*Error // the 552s, in request order
	scratch []byte   // an escaped key
	bw      *bufio.Writer
	tw      *textproto.Writer // writes data blocks through bw
}

var replyPool = sync.Pool{New: func() any {
	s := &replyState{bw: bufio.NewWriter(nil)}
	s.tw = textproto.NewWriter(s.bw)
	return s
}}

// maxPooled bounds the memory a pooled state keeps after a large reply.
const maxPooled = 64 << 10

func (s *replyState) release() {
	s.bw.Reset(nil) // do not keep the caller's writer alive
	clear(s.unrec)
	s.vals, s.ends, s.unrec, s.scratch = s.vals[:0], s.ends[:0], s.unrec[:0], s.scratch[:0]
	if cap(s.vals) > maxPooled || cap(s.scratch) > maxPooled || cap(s.ends) > maxPooled/8 || cap(s.unrec) > maxPooled/8 {
		return
	}
	replyPool.Put(s)
}

// write evaluates every key, then writes the reply. A bufio.Writer keeps its
// first error, so only Flush and the data blocks' Close are checked.
func (s *replyState) write(h Handler, keys []string) error {
	if e := s.evaluate(h, keys); e != nil {
		s.line("551 ", e.Text)
		return s.bw.Flush()
	}
	if len(s.unrec) > 0 {
		for i, e := range s.unrec {
			sep := "552-"
			if i == len(s.unrec)-1 {
				sep = "552 "
			}
			s.line(sep, e.Text)
		}
		return s.bw.Flush()
	}
	start := 0
	for i, key := range keys {
		v := s.vals[start:s.ends[i]]
		start = s.ends[i]
		if bytes.IndexByte(v, '\n') < 0 && bytes.IndexByte(v, '\r') < 0 {
			s.bw.WriteString("250-")
			s.key(key)
			s.bw.WriteByte('=')
			s.bw.Write(v)
			s.bw.WriteString("\r\n")
			continue
		}
		s.bw.WriteString("250+")
		s.key(key)
		s.bw.WriteString("=\r\n")
		dw := s.tw.DotWriter()
		dw.Write(v)
		if err := dw.Close(); err != nil { // Close flushes: stop at a dead writer
			return err
		}
	}
	s.bw.Write(okLine)
	return s.bw.Flush()
}

// evaluate answers keys in order, keeping values until a 552 makes them
// useless. It stops at the first 551 and returns it.
func (s *replyState) evaluate(h Handler, keys []string) *Error {
	for _, key := range keys {
		n := len(s.vals)
		// The handler appends to an empty slice, so one that ignores dst
		// cannot corrupt earlier values; appending in place costs a no-op copy.
		v, e := answer(h, s.vals[n:n], key)
		switch {
		case e != nil && e.Code == StatusUnrecognized:
			s.unrec = append(s.unrec, e)
		case e != nil:
			return e
		case len(s.unrec) == 0:
			s.vals = append(s.vals[:n], v...)
			s.ends = append(s.ends, len(s.vals))
		}
	}
	return nil
}

// line writes one status line whose text is already safe to send.
func (s *replyState) line(start, text string) {
	s.bw.WriteString(start)
	s.bw.WriteString(text)
	s.bw.WriteString("\r\n")
}

// key echoes key as AppendEscapedKey says.
func (s *replyState) key(key string) {
	if !needsEscape(key) {
		s.bw.WriteString(key)
		return
	}
	s.scratch = AppendEscapedKey(s.scratch[:0], key)
	s.bw.Write(s.scratch)
}
