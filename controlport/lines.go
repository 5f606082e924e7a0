package controlport

import (
	"bufio"
	"errors"
)

// MaxLineLength is tor's limit on one command line, its CR LF included: a
// line of this many bytes or more gets "500 Line too long." and the
// connection closes.
const MaxLineLength = 1 << 20

// errLineTooLong reports a line of MaxLineLength bytes or more. It is only
// returned once the line's LF has arrived, as tor waits for it too.
var errLineTooLong = errors.New("controlport: line too long")

// lineReader reads command lines with bounded memory: a line that outgrows
// MaxLineLength is discarded as it arrives, not buffered.
type lineReader struct {
	br   *bufio.Reader
	line []byte // reused between lines
}

// readLine returns the next line without its LF (a CR before the LF stays:
// command splitting treats it as whitespace, as tor does).
func (r *lineReader) readLine() ([]byte, error) {
	if cap(r.line) > 64<<10 {
		r.line = nil // do not keep a huge line's memory for the connection's life
	}
	r.line = r.line[:0]
	tooLong := false
	for {
		chunk, err := r.br.ReadSlice('\n')
		if !tooLong {
			if len(r.line)+len(chunk) >= MaxLineLength {
				tooLong = true
				r.line = r.line[:0]
			} else {
				r.line = appendDoubling(r.line, chunk)
			}
		}
		switch {
		case err == nil && tooLong:
			return nil, errLineTooLong
		case err == nil:
			return r.line[:len(r.line)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}

// buffered reports whether more input is already waiting, so that replies
// to pipelined commands can be flushed together.
func (r *lineReader) buffered() bool { return r.br.Buffered() > 0 }

// isSpace is tor's TOR_ISSPACE: space, TAB, LF, VT, FF and CR.
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// splitCommand splits a line as tor does: the command word runs to the
// first whitespace byte; the arguments start one byte after it. A NUL
// byte ends both, as it ends a C string.
func splitCommand(line []byte) (cmd, args string) {
	i := 0
	for i < len(line) && !isSpace(line[i]) {
		i++
	}
	cmd = cutNUL(string(line[:i]))
	if i < len(line) {
		i++
	}
	return cmd, cutNUL(string(line[i:]))
}

func cutNUL(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i]
		}
	}
	return s
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
