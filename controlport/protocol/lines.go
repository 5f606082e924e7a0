package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"github.com/conninfo/conninfo/internal/torspace"
)

// MaxLineLength is tor's limit on one command, its CR LF included: a
// command of this many bytes or more gets "500 Line too long." and the
// connection closes.
const MaxLineLength = 1 << 20

// ErrLineTooLong reports a line of MaxLineLength bytes or more. It is only
// returned once the line's LF has arrived, as tor waits for it too; tor
// then answers [Refusal]'s "500 Line too long." and closes.
var ErrLineTooLong = errors.New("protocol: line too long")

// readBufSize is what one read from the controller may bring.
const readBufSize = 16 << 10

// LineReader reads a controller's command lines with bounded memory: a
// line that outgrows [MaxLineLength] is discarded as it arrives, never
// buffered. A LineReader is not safe for concurrent use.
//
// It does its own buffering, rather than bufio's, because tor looks at the
// unprocessed input each time new bytes arrive before authentication (for
// an HTTP request, or the v0 protocol), and answers at once, without
// waiting for a line end: that is [LineReader.OnRead].
type LineReader struct {
	r     io.Reader
	buf   []byte // buf[start:end] is read and unprocessed
	start int
	end   int
	line  []byte // the line being assembled, reused between lines
	// discarding is set while the current line is over the limit.
	discarding bool

	// OnRead, if set, is shown the first bytes of the unprocessed input
	// (the line so far, then what was read) each time bytes arrive while
	// the current line is within the limit; an error it returns is
	// returned by ReadLine at once. Set it to [PreAuthCheck] until the
	// controller authenticates, as tor does, and to nil after.
	OnRead func(unprocessed []byte) error
}

// NewLineReader returns a LineReader reading from r.
func NewLineReader(r io.Reader) *LineReader {
	return &LineReader{r: r, buf: make([]byte, readBufSize)}
}

// ReadLine returns the next line without its LF (a CR before the LF stays:
// [SplitCommand] treats it as whitespace, as tor does). The line is valid
// until the next call. A line of MaxLineLength bytes or more, LF included,
// is [ErrLineTooLong]; the end of input is the reader's error (io.EOF).
func (r *LineReader) ReadLine() ([]byte, error) {
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
				return nil, ErrLineTooLong
			}
			return r.line[:len(r.line)-1], nil
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more input and shows OnRead the first bytes of what is
// unprocessed: the current line so far, then the new bytes.
func (r *LineReader) fill() error {
	r.start, r.end = 0, 0
	n, err := r.r.Read(r.buf)
	if n == 0 {
		if err == nil {
			err = io.ErrNoProgress
		}
		return err
	}
	r.end = n
	if r.OnRead != nil && !r.discarding {
		const peek = 16 // enough for any prefix PreAuthCheck looks for
		var head [peek]byte
		k := copy(head[:], r.line)
		k += copy(head[k:], r.buf[:n])
		if err := r.OnRead(head[:k]); err != nil {
			return err
		}
	}
	return nil
}

// Buffered reports whether a whole line is already read and waiting, so
// that the replies to pipelined commands can be flushed together without
// holding one back for a line still on its way.
func (r *LineReader) Buffered() bool {
	return bytes.IndexByte(r.buf[r.start:r.end], '\n') >= 0
}

// SkipData reads and discards a multi-line command's data, up to its "."
// line. tor reads the data of a multi-line command it does not support
// before refusing it, and counts the whole command against the line
// limit: firstLen is the length of the command's first line, its LF
// included. It returns nil at the "." line, [ErrLineTooLong] when the
// command reaches MaxLineLength, or the reader's error.
func (r *LineReader) SkipData(firstLen int) error {
	n := firstLen
	for {
		line, err := r.ReadLine()
		if err != nil {
			return err
		}
		if n += len(line) + 1; n >= MaxLineLength {
			return ErrLineTooLong
		}
		if string(line) == "." || string(line) == ".\r" {
			return nil
		}
	}
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

// SplitCommand splits a line as tor does: the command word runs to the
// first whitespace byte; the arguments start one byte after it. A NUL
// byte ends both, as it ends a C string. A command word starting with "+"
// is a multi-line command: its data follows (see [LineReader.SkipData]).
func SplitCommand(line []byte) (cmd, args string) {
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

// httpMethods are the request lines tor refuses with its HTTP page.
var httpMethods = []string{"GET ", "POST ", "PUT ", "DELETE ", "CONNECT "}

// ErrHTTP and ErrV0 are what [PreAuthCheck] returns for an HTTP request
// and for a controller speaking the old v0 protocol; [Refusal] gives tor's
// answer to each.
var (
	ErrHTTP = errors.New("protocol: an HTTP request")
	ErrV0   = errors.New("protocol: the v0 control protocol")
)

// PreAuthCheck is what tor looks for in its unprocessed input each time
// bytes arrive before authentication, without waiting for a line end: an
// HTTP request ([ErrHTTP]), or a v0 protocol header ([ErrV0]: a
// big-endian body type of 0x14 or less in bytes 2 and 3, which text never
// has). It is meant for [LineReader.OnRead].
func PreAuthCheck(head []byte) error {
	for _, m := range httpMethods {
		if bytes.HasPrefix(head, []byte(m)) {
			return ErrHTTP
		}
	}
	if len(head) >= 4 && binary.BigEndian.Uint16(head[2:4]) <= 0x14 {
		return ErrV0
	}
	return nil
}

// Refusal returns tor's last words to a controller whose read ended with
// err: "500 Line too long." for [ErrLineTooLong], tor's HTTP page for
// [ErrHTTP], its v0-framed refusal for [ErrV0], and nil for anything else
// (an EOF, a timeout), after which tor closes without a word.
func Refusal(err error) []byte {
	switch {
	case errors.Is(err, ErrLineTooLong):
		return []byte("500 Line too long.\r\n")
	case errors.Is(err, ErrHTTP):
		return []byte(httpRefusal)
	case errors.Is(err, ErrV0):
		return []byte(v0Refusal)
	}
	return nil
}

// v0Refusal is tor's answer, in the v0 protocol's binary framing, to a
// controller speaking it.
const v0Refusal = "\x00\x60\x00\x00\x00\x01The v0 control protocol is not supported by Tor 0.1.2.17 and later; upgrade your controller.\x00\x00"

// httpRefusal is tor's answer to a web browser pointed at the control port.
const httpRefusal = "HTTP/1.0 501 Tor ControlPort is not an HTTP proxy\r\n" +
	"Content-Type: text/html; charset=iso-8859-1\r\n\r\n" +
	"<html>\n<head>\n<title>Tor's ControlPort is not an HTTP proxy</title>\n</head>\n<body>\n" +
	"<h1>Tor's ControlPort is not an HTTP proxy</h1>\n<p>\n" +
	"It appears you have configured your web browser to use Tor's control port as an HTTP proxy.\n" +
	"This is not correct: Tor's default SOCKS proxy port is 9050.\n" +
	"Please configure your client accordingly.\n</p>\n<p>\n" +
	"See <a href=\"https://www.torproject.org/documentation.html\">https://www.torproject.org/documentation.html</a> for more information.\n" +
	"<!-- Plus this comment, to make the body response more than 512 bytes, so      IE will be willing to display it. Comment comment comment comment      comment comment comment comment comment comment comment comment.-->\n" +
	"</p>\n</body>\n</html>\n"
