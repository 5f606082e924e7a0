package controlport

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/conninfo/conninfo/getinfo"
)

// FuzzLineReader feeds any bytes through the line reader and the command
// splitter: no line holds a LF or reaches the limit, no command word holds
// whitespace or a NUL, and nothing panics.
func FuzzLineReader(f *testing.F) {
	for _, s := range []string{
		"GETINFO version\r\n", "GETINFO version\n", "GETINFO version\r\r\n", "\r\n", " GETINFO x\r\n",
		"GETINFO ver\x00sion\r\n", "GET\x00INFO v\r\n", "+FOO\r\nline\r\n.\r\n", "no end", "\n\n\n",
		"GETINFO\tversion\r\nQUIT\r\n", "a\rb\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := newLineReader(iotestHalf(in))
		for {
			line, err := r.readLine()
			if err != nil {
				if err != io.EOF && err != errLineTooLong {
					t.Fatalf("readLine: %v", err)
				}
				return
			}
			if bytes.IndexByte(line, '\n') >= 0 || len(line)+1 >= MaxLineLength {
				t.Fatalf("bad line %q", line)
			}
			cmd, args := splitCommand(line)
			if strings.ContainsAny(cmd, " \t\r\n\v\f\x00") || strings.IndexByte(args, 0) >= 0 {
				t.Fatalf("splitCommand(%q) = %q, %q", line, cmd, args)
			}
		}
	})
}

// iotestHalf returns a reader that hands out in in small pieces, so that
// lines straddle reads.
func iotestHalf(in []byte) io.Reader { return &smallReader{in: in} }

type smallReader struct{ in []byte }

func (r *smallReader) Read(p []byte) (int, error) {
	if len(r.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+len(r.in)%7)], r.in)
	r.in = r.in[n:]
	return n, nil
}

// FuzzParseArgs checks the AUTHENTICATE and AUTHCHALLENGE argument parser:
// no panic, positional words free of spaces, keyword keys never empty.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"", "\"abc\"", "\"abc", "\"abc\"def", "foo=bar", "foo=\"a b\"", "=x", "00 11", "00\f11", "SAFECOOKIE 00",
		"SAFECOOKIE\t00", "SAFECOOKIE \"my nonce\"", "SAFECOOKIE nonce=00", "\"a\\\"b\\\\c\"", "\"\\", "  \r\r",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for npos := range 2 {
			a, err := parseArgs(raw, npos)
			if err != nil {
				if err != errTooFewArgs && err != errKVSyntax {
					t.Fatalf("parseArgs(%q, %d): unexpected error %v", raw, npos, err)
				}
				continue
			}
			if len(a.positional) != npos {
				t.Fatalf("parseArgs(%q, %d): %d positional", raw, npos, len(a.positional))
			}
			for _, w := range a.positional {
				if w == "" || strings.IndexByte(w, ' ') >= 0 {
					t.Fatalf("parseArgs(%q): positional %q", raw, w)
				}
			}
			for _, kv := range a.kwargs {
				// A quote only opens a value at the start of one: inside a
				// key, as in `a"=b`, it is part of the key, as in tor.
				if strings.ContainsAny(kv.key, " \t\r\n\v=") || strings.HasPrefix(kv.key, `"`) {
					t.Fatalf("parseArgs(%q): key %q", raw, kv.key)
				}
			}
		}
	})
}

// FuzzSession sends any bytes to a whole connection of a server that needs
// no secret, and checks that everything it answers is framed as the
// control protocol frames replies (or is tor's HTTP or v0 refusal), and
// that it closes the connection when the input ends.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"AUTHENTICATE\r\nGETINFO version uptime\r\n", "PROTOCOLINFO 1\r\nAUTHENTICATE\r\nGETINFO a\rb x\x01y\r\nQUIT\r\n",
		"GET / HTTP/1.0\r\n\r\n", "\x00\x00\x00\x00", "AUTHENTICATE\r\nSETEVENTS CIRC nosuch\x7f\r\nUSEFEATURE \xff\r\nGETCONF a\x00b\r\n",
		"AUTHENTICATE\r\n+FOO\r\nx\r\n.\r\nFOO\x01BAR\r\n", "AUTHCHALLENGE SAFECOOKIE 00\r\n", "AUTHENTICATE \"abc\r\nAUTHENTICATE\r\n",
	} {
		f.Add([]byte(s))
	}
	m := getinfo.NewMux()
	m.HandleFunc("uptime", "Seconds up.", func(dst []byte, _ string) ([]byte, error) { return append(dst, "79"...), nil })
	m.HandleFunc("lines", "Two lines.", func(dst []byte, _ string) ([]byte, error) { return append(dst, ".a\nb"...), nil })
	srv, err := New(Config{Mux: m, NullAuth: true, AuthTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fc := &fakeConn{r: iotestHalf(in)}
		c := srv.newConn(fc)
		c.serve()
		if !fc.closed {
			t.Fatalf("input %q: connection not closed at the end of input", in)
		}
		if err := checkFraming(fc.w.Bytes()); err != "" {
			t.Fatalf("input %q: reply %q: %s", in, fc.w.Bytes(), err)
		}
	})
}

// fakeConn is a connection whose input is fixed and whose output is kept,
// so that a fuzz run needs no sockets or goroutines.
type fakeConn struct {
	r      io.Reader
	w      bytes.Buffer
	closed bool
}

func (c *fakeConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *fakeConn) Close() error                { c.closed = true; return nil }
func (c *fakeConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9051} }
func (c *fakeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *fakeConn) SetDeadline(t time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(t time.Time) error { return nil }

// checkFraming says what is wrong with a connection's output, or "".
func checkFraming(out []byte) string {
	switch {
	case bytes.HasPrefix(out, []byte(httpRefusal)):
		if len(out) != len(httpRefusal) {
			return "bytes after the HTTP page"
		}
		return ""
	case bytes.HasSuffix(out, []byte(v0Refusal)):
		out = out[:len(out)-len(v0Refusal)] // replies may precede it
	}
	lines := strings.SplitAfter(string(out), "\r\n")
	if last := lines[len(lines)-1]; last != "" {
		return "output does not end with CR LF: " + last
	}
	lines = lines[:len(lines)-1]
	inData, open := false, false
	for _, l := range lines {
		body := strings.TrimSuffix(l, "\r\n")
		if strings.ContainsAny(body, "\r\n") {
			return "a bare CR or LF inside a line: " + body
		}
		if inData {
			inData = body != "."
			continue
		}
		if len(body) < 4 || body[0] < '1' || body[0] > '6' || !isDigits(body[1:3]) || !strings.ContainsRune("-+ ", rune(body[3])) {
			return "not a reply line: " + body
		}
		switch body[3] {
		case '+':
			inData, open = true, true
		case '-':
			open = true
		case ' ':
			open = false
		}
	}
	if inData {
		return "data block without its end"
	}
	if open {
		return "reply without its end line"
	}
	return ""
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
