package controlporttest_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/getinfo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestReadReply(t *testing.T) {
	tests := []struct {
		name, in string
		lines    []string
		err      error
	}{
		{"one line", "250 OK\r\n", []string{"250 OK"}, nil},
		{"a data block", "250+k=\r\na\r\n..b\r\n.\r\n250 OK\r\n", []string{"250+k=", "a", "..b", ".", "250 OK"}, nil},
		{"mid lines", "552-a\r\n552 b\r\n", []string{"552-a", "552 b"}, nil},
		{"end of input", "", nil, io.EOF},
		{"a bare LF", "250 OK\n", nil, controlporttest.ErrFraming},
		{"no code", "OK\r\n", nil, controlporttest.ErrFraming},
		{"codes differ", "250-a\r\n552 b\r\n", nil, controlporttest.ErrFraming},
		{"a NUL", "250 O\x00K\r\n", nil, controlporttest.ErrFraming},
		{"cut short", "250-a\r\n", nil, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := controlporttest.ReadReply(bufio.NewReader(strings.NewReader(tt.in)))
			if tt.err == nil {
				require.NoError(t, err)
				assert.Equal(t, tt.lines, rep.Lines)
				assert.Equal(t, tt.in[:3], rep.Code)
				return
			}
			if errors.Is(tt.err, io.ErrUnexpectedEOF) {
				assert.ErrorIs(t, err, io.EOF, "an end of input inside a reply")
				return
			}
			assert.ErrorIs(t, err, tt.err)
		})
	}
}

func TestReplyValue(t *testing.T) {
	rep := controlporttest.Reply{Code: "250", Lines: []string{"250-a=1", "250+b=", "x", "..y", ".", "250 OK"}}
	v, ok := rep.Value("a")
	assert.True(t, ok)
	assert.Equal(t, "1", v)
	v, ok = rep.Value("b")
	assert.True(t, ok)
	assert.Equal(t, "x\n.y", v, "a data block, dot-decoded")
	_, ok = rep.Value("c")
	assert.False(t, ok)
	assert.Equal(t, "250 OK", rep.Last())
}

func TestAuthLine(t *testing.T) {
	line, err := controlporttest.Auth{}.Line()
	require.NoError(t, err)
	assert.Equal(t, "AUTHENTICATE", line)
	line, err = controlporttest.Auth{Password: `a "b" \c`}.Line()
	require.NoError(t, err)
	assert.Equal(t, `AUTHENTICATE "a \"b\" \\c"`, line)
	_, err = controlporttest.Auth{CookieFile: filepath.Join(t.TempDir(), "none")}.Line()
	assert.Error(t, err)
}

// A server with each authentication method, and a client that speaks to it.
func TestServerAndClient(t *testing.T) {
	mux := getinfo.NewMux()
	mux.HandleFunc("lines", "Two lines.", func(dst []byte, _ string) ([]byte, error) { return append(dst, "a\nb"...), nil })
	s := controlporttest.NewServer(t, controlport.Config{Mux: mux})
	require.NotEmpty(t, s.Cookie, "cookie authentication by default")
	assert.Equal(t, "tcp", s.Network)
	c := s.Dial(t)
	c.Authenticate(s.Auth)
	assert.Equal(t, []string{"a\nb", controlport.DefaultVersion}, c.GetInfo("lines", "version"))
	c.Send("GETINFO nosuch\r\n")
	c.Expect("552 Unrecognized key \"nosuch\"\r\n")
	c.ExpectOpen()
	c.ExpectClosed()

	null := controlporttest.NewServer(t, controlport.Config{NullAuth: true})
	assert.True(t, null.Auth.IsNull())
	c = null.Dial(t)
	c.Authenticate(null.Auth)
	assert.Equal(t, "250 closing connection\r\n", c.Command("QUIT").Last()+"\r\n")
	assert.Empty(t, c.ReadAll())
}

func ExampleReadReply() {
	r := bufio.NewReader(strings.NewReader("250+conn/all=\r\n1 0 0 0 0 IRt 0 0 5\r\n.\r\n250 OK\r\n552 Unrecognized key \"x\"\n"))
	reply, err := controlporttest.ReadReply(r)
	fmt.Println(reply.Code, len(reply.Lines), err)
	_, err = controlporttest.ReadReply(r) // a bare LF ends this one
	fmt.Println(errors.Is(err, controlporttest.ErrFraming))
	// Output:
	// 250 4 <nil>
	// true
}

// In a test, NewServer(t, cfg) and Dial(t) are all it takes; outside one,
// testing.Benchmark gives them a testing.TB.
func ExampleNewServer() {
	testing.Benchmark(func(b *testing.B) {
		if b.N > 1 {
			return // once is the example
		}
		mux := getinfo.NewMux()
		mux.HandleFunc("uptime", "Seconds up.", func(dst []byte, _ string) ([]byte, error) { return append(dst, "79"...), nil })
		srv := controlporttest.NewServer(b, controlport.Config{Mux: mux})
		c := srv.Dial(b)
		c.Authenticate(srv.Auth)
		fmt.Println(c.GetInfo("uptime", "version"))
	})
	// Output: [79 0.4.9.11]
}
