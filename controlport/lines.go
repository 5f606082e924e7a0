package controlport

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/conninfo/conninfo/internal/torspace"
)

// MaxLineLength is tor's limit on one command, its CR LF included: a
// command of this many bytes or more gets "500 Line too long." and the
// connection closes.
const MaxLineLength = 1 << 20

// errLineTooLong reports a line of MaxLineLength bytes or more. It is only
// returned once the line's LF has arrived, as tor waits for it too.
var errLineTooLong = errors.New("controlport: line too long")

// readBufSize is what one read from the controller may bring.
const readBufSize = 16 << 10

// lineReader reads command lines with bounded memory: a line that outgrows
// MaxLineLength is discarded as it arrives, not buffered.
//
// It does its own buffering, rather than bufio's, because tor looks at the
// unprocessed input each time new bytes arrive before authentication (for
// an HTTP request, or the v0 protocol), and answers at once, without
// waiting for a line end; onRead is that look.
type lineReader struct {
	r     io.Reader
	buf   []byte // buf[start:end] is read and unprocessed
	start int
	end   int
	line  []byte // the line being assembled, reused between lines
	// discarding is set while the current line is over the limit.
	discarding bool
	onRead     func(unprocessed []byte) error
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: r, buf: make([]byte, readBufSize)}
}

// readLine returns the next line without its LF (a CR before the LF stays:
// command splitting treats it as whitespace, as tor does).
func (r *lineReader) readLine() ([]byte, error) {
	if cap(r.line) > 64<<10 {
		r.line = nil // do not keep a huge line's memory for the connection's life
	}
	r.line = r.line[:0]
	r.discarding = false
	for {
		data := r.buf[r.start:r.end]
		i := bytes.IndexByte(data, '\n')
		chunk := data
		if i >= 0 {
			chunk = data[:i+1]
		}
		if !r.discarding {
			if len(r.line)+len(chunk) >= MaxLineLength {
				r.discarding = true
				r.line = r.line[:0]
			} else {
				r.line = appendDoubling(r.line, chunk)
			}
		}
		r.start += len(chunk)
		if i >= 0 {
			if r.discarding {
				return nil, errLineTooLong
			}
			return r.line[:len(r.line)-1], nil
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more input and shows onRead the first bytes of what is
// unprocessed: the current line so far, then the new bytes.
func (r *lineReader) fill() error {
	r.start, r.end = 0, 0
	n, err := r.r.Read(r.buf)
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	r.end = n
	if r.onRead != nil && !r.discarding {
		const peek = 16 // enough for any prefix onRead looks for
		var head [peek]byte
		k := copy(head[:], r.line)
		k += copy(head[k:], r.buf[:n])
		if err := r.onRead(head[:k]); err != nil {
			return err
		}
	}
	return nil
}

// complete reports whether a whole line is already waiting, so that the
// replies to pipelined commands can be flushed together without holding
// one back for a line still on its way.
func (r *lineReader) complete() bool {
	return bytes.IndexByte(r.buf[r.start:r.end], '\n') >= 0
}

// appendDoubling appends, doubling the capacity when it runs out: for long
// lines, append's gentler growth past 256 bytes would copy a line several
// times over.
func appendDoubling(dst, src []byte) []byte {
	if len(dst)+len(src) > cap(dst) {
		grown := make([]byte, len(dst), max(2*cap(dst), len(dst)+len(src), 512))
		copy(grown, dst)
		dst = grown
	}
	return append(dst, src...)
}

// splitCommand splits a line as tor does: the command word runs to the
// first whitespace byte; the arguments start one byte after it. A NUL
// byte ends both, as it ends a C string.
func splitCommand(line []byte) (cmd, args string) {
	i := 0
	for i < len(line) && !torspace.IsSpace(line[i]) {
		i++
	}
	cmd = cutNUL(string(line[:i]))
	if i < len(line) {
		i++
	}
	return cmd, cutNUL(string(line[i:]))
}

func cutNUL(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}
