package controlporttest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits of ReadReply, far above what any reply of conninfo or tor holds.
const (
	MaxReplyLine  = 4 << 20 // bytes in one line
	MaxReplyLines = 1 << 21 // lines in one reply
)

// ErrFraming is wrapped by the errors of a reply that breaks the control
// protocol's framing.
var ErrFraming = errors.New("controlporttest: badly framed reply")

// Reply is one reply of the control protocol.
type Reply struct {
	// Code is the three-digit status code all its lines share.
	Code string
	// Lines are its lines without their CR LF: status lines, and the lines
	// of data blocks with their closing ".".
	Lines []string
}

// Last returns the reply's end line, or "".
func (r Reply) Last() string {
	if len(r.Lines) == 0 {
		return ""
	}
	return r.Lines[len(r.Lines)-1]
}

// ReadReply reads one reply and checks its framing: each line ends in CR
// LF; a status line is a three-digit code, then '-', '+' or ' ', then text
// holding no CR, LF or NUL; every line of a reply has the same code (as
// the control protocol guarantees); a '+' line is followed by a data block
// that ends with a "." line; and the reply ends with exactly one ' ' line.
// At a clean end of input before any byte of a reply it returns io.EOF; a
// framing error wraps ErrFraming; a read error is returned wrapped.
func ReadReply(r *bufio.Reader) (Reply, error) {
	var rep Reply
	inData := false
	for len(rep.Lines) < MaxReplyLines {
		line, err := readLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) == 0 && len(rep.Lines) == 0 {
				return rep, io.EOF
			}
			return rep, fmt.Errorf("controlporttest: after %q, line %q: %w", abbrevLines(rep.Lines), line, err)
		}
		if !strings.HasSuffix(line, "\r\n") {
			return rep, fmt.Errorf("%w: line %q does not end in CR LF (after %q)", ErrFraming, line, abbrevLines(rep.Lines))
		}
		text := strings.TrimSuffix(line, "\r\n")
		rep.Lines = append(rep.Lines, text)
		if inData {
			if text == "." {
				inData = false
			}
			continue
		}
		if len(text) < 4 || !isDigit(text[0]) || !isDigit(text[1]) || !isDigit(text[2]) || !strings.ContainsRune("-+ ", rune(text[3])) {
			return rep, fmt.Errorf("%w: status line %q is not <code><-|+| ><text>", ErrFraming, text)
		}
		if strings.ContainsAny(text, "\r\x00") {
			return rep, fmt.Errorf("%w: status line %q holds a CR or NUL", ErrFraming, text)
		}
		if rep.Code == "" {
			rep.Code = text[:3]
		} else if text[:3] != rep.Code {
			return rep, fmt.Errorf("%w: line %q in a %s reply (%q)", ErrFraming, text, rep.Code, abbrevLines(rep.Lines))
		}
		switch text[3] {
		case '+':
			inData = true
		case ' ':
			return rep, nil
		}
	}
	return rep, fmt.Errorf("%w: more than %d lines without an end line", ErrFraming, MaxReplyLines)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// readLine reads up to and including a LF, at most MaxReplyLine bytes.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		switch {
		case err == nil:
			return string(b), nil
		case !errors.Is(err, bufio.ErrBufferFull):
			return string(b), err
		case len(b) > MaxReplyLine:
			return string(b[:64]) + "...", fmt.Errorf("%w: a line of more than %d bytes", ErrFraming, MaxReplyLine)
		}
	}
}

// abbrevLines keeps error messages short: the first and last few lines.
func abbrevLines(lines []string) []string {
	if len(lines) <= 6 {
		return lines
	}
	out := append([]string{}, lines[:3]...)
	out = append(out, fmt.Sprintf("... %d lines ...", len(lines)-6))
	return append(out, lines[len(lines)-3:]...)
}

// Value returns the value of key in a successful GETINFO reply: the text
// after "250-key=", or the lines of its "250+key=" data block joined by
// "\n" and dot-decoded. ok is false if the reply does not hold key.
func (r Reply) Value(key string) (value string, ok bool) {
	for i := 0; i < len(r.Lines); i++ {
		l := r.Lines[i]
		if v, found := strings.CutPrefix(l, "250-"+key+"="); found {
			return v, true
		}
		if l != "250+"+key+"=" {
			continue
		}
		var block []string
		for i++; i < len(r.Lines) && r.Lines[i] != "."; i++ {
			block = append(block, strings.TrimPrefix(r.Lines[i], "."))
		}
		return strings.Join(block, "\n"), true
	}
	return "", false
}
