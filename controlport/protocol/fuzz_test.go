package protocol_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/conninfo/conninfo/controlport/protocol"
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
	for _, in := range transcriptInputs(f) {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := protocol.NewLineReader(iotest.OneByteReader(bytes.NewReader(in))) // every line straddles reads
		for {
			line, err := r.ReadLine()
			if err != nil {
				if err != io.EOF && err != protocol.ErrLineTooLong {
					t.Fatalf("readLine: %v", err)
				}
				return
			}
			if bytes.IndexByte(line, '\n') >= 0 || len(line)+1 >= protocol.MaxLineLength {
				t.Fatalf("bad line %q", line)
			}
			cmd, args := protocol.SplitCommand(line)
			if strings.ContainsAny(cmd, " \t\r\n\v\f\x00") || strings.IndexByte(args, 0) >= 0 {
				t.Fatalf("protocol.SplitCommand(%q) = %q, %q", line, cmd, args)
			}
		}
	})
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
			a, err := protocol.ParseArgs(raw, npos)
			if err != nil {
				if err != protocol.ErrTooFewArgs && err != protocol.ErrKVSyntax {
					t.Fatalf("ParseArgs(%q, %d): unexpected error %v", raw, npos, err)
				}
				continue
			}
			if len(a.Positional) != npos {
				t.Fatalf("ParseArgs(%q, %d): %d positional", raw, npos, len(a.Positional))
			}
			for _, w := range a.Positional {
				if w == "" || strings.IndexByte(w, ' ') >= 0 {
					t.Fatalf("ParseArgs(%q): positional %q", raw, w)
				}
			}
			for _, kv := range a.Keywords {
				// A quote only opens a value at the start of one: inside a
				// key, as in `a"=b`, it is part of the key, as in tor.
				if strings.ContainsAny(kv.Key, " \t\r\n\v=") || strings.HasPrefix(kv.Key, `"`) {
					t.Fatalf("ParseArgs(%q): key %q", raw, kv.Key)
				}
			}
		}
	})
}

// transcriptInputs reads the inputs of controlport's seed sessions
// (controlport/testdata/sessions.txt), placeholders and all: for the line
// reader they are only bytes.
func transcriptInputs(tb testing.TB) [][]byte {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "sessions.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Split(line, "\t")
		if line == "" || line[0] == '#' || len(fields) != 3 {
			continue
		}
		if in, err := strconv.Unquote(fields[2]); err == nil {
			out = append(out, []byte(in))
		}
	}
	if len(out) == 0 {
		tb.Fatal("no session in controlport/testdata/sessions.txt")
	}
	return out
}
