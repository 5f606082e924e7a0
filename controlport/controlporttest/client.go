package controlporttest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Timeout bounds each read and write of a Client that should not block.
const Timeout = 10 * time.Second

// Client is one raw controller connection. Its reads go through a buffer,
// so read only through the Client (Read included), not the net.Conn
// inside it. Each method fails its test on an unexpected error; see the
// package documentation for where to call them from.
type Client struct {
	net.Conn
	r *bufio.Reader
	t testing.TB
}

// Dial connects to a control port on a loopback address ("tcp") or a unix
// socket ("unix"); the connection is closed when the test ends. Any other
// address fails the test: these helpers never leave the machine.
func Dial(t testing.TB, network, addr string) *Client {
	t.Helper()
	if network != "unix" {
		ap, err := netip.ParseAddrPort(addr)
		if err != nil || !ap.Addr().IsLoopback() {
			t.Fatalf("controlporttest: %s %q is not a loopback address and port", network, addr)
		}
	}
	nc, err := net.DialTimeout(network, addr, Timeout)
	if err != nil {
		t.Fatalf("controlporttest: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &Client{Conn: nc, r: bufio.NewReaderSize(nc, 64<<10), t: t}
}

// Reader returns the Client's buffered reader, for ReadReply and the like.
func (c *Client) Reader() *bufio.Reader { return c.r }

// Read reads through the Client's buffer.
func (c *Client) Read(p []byte) (int, error) { return c.r.Read(p) }

// Send writes s as it is: add the CR LF yourself.
func (c *Client) Send(s string) {
	c.t.Helper()
	if err := c.SetWriteDeadline(time.Now().Add(Timeout)); err != nil {
		c.t.Fatalf("controlporttest: %v", err)
	}
	if _, err := io.WriteString(c.Conn, s); err != nil {
		c.t.Fatalf("controlporttest: sending %q: %v", abbrev(s), err)
	}
}

// Expect reads exactly len(want) bytes and fails the test unless they are want.
func (c *Client) Expect(want string) {
	c.t.Helper()
	c.readDeadline()
	got := make([]byte, len(want))
	n, err := io.ReadFull(c.r, got)
	if err != nil {
		c.t.Fatalf("controlporttest: want %q, got %q then %v", abbrev(want), got[:n], err)
	}
	if string(got) != want {
		c.t.Fatalf("controlporttest: want\n\t%q\ngot\n\t%q", abbrev(want), abbrev(string(got)))
	}
}

// ReadLine reads one line, its CR LF included.
func (c *Client) ReadLine() string {
	c.t.Helper()
	c.readDeadline()
	line, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("controlporttest: after %q: %v", line, err)
	}
	return line
}

// ReadReply reads one reply, checking its framing (see [ReadReply]).
func (c *Client) ReadReply() Reply {
	c.t.Helper()
	c.readDeadline()
	rep, err := ReadReply(c.r)
	if err != nil {
		c.t.Fatalf("controlporttest: %v", err)
	}
	return rep
}

// Command sends line and CR LF, and reads the reply.
func (c *Client) Command(line string) Reply {
	c.t.Helper()
	c.Send(line + "\r\n")
	return c.ReadReply()
}

// GetInfo sends GETINFO for keys and returns the values of a successful
// reply, in order; any other reply fails the test.
func (c *Client) GetInfo(keys ...string) []string {
	c.t.Helper()
	rep := c.Command("GETINFO " + strings.Join(keys, " "))
	if rep.Last() != "250 OK" {
		c.t.Fatalf("controlporttest: GETINFO %v: %q", keys, abbrevLines(rep.Lines))
	}
	values := make([]string, len(keys))
	for i, k := range keys {
		v, ok := rep.Value(k)
		if !ok {
			c.t.Fatalf("controlporttest: GETINFO reply lacks %q: %q", k, abbrevLines(rep.Lines))
		}
		values[i] = v
	}
	return values
}

// Authenticate authenticates as a says and expects "250 OK".
func (c *Client) Authenticate(a Auth) {
	c.t.Helper()
	line, err := a.Line()
	if err != nil {
		c.t.Fatal(err)
	}
	if rep := c.Command(line); rep.Last() != "250 OK" {
		c.t.Fatalf("controlporttest: %s: %q", strings.Fields(line)[0], rep.Lines)
	}
}

// ReadAll reads until the server closes the connection.
func (c *Client) ReadAll() string {
	c.t.Helper()
	c.readDeadline()
	b, err := io.ReadAll(c.r)
	if err != nil && !IsClosed(err) {
		c.t.Fatalf("controlporttest: after %q: %v", abbrev(string(b)), err)
	}
	return string(b)
}

// ExpectClosed fails the test unless the server closes the connection
// with nothing more to say.
func (c *Client) ExpectClosed() {
	c.t.Helper()
	c.readDeadline()
	b := make([]byte, 64)
	n, err := c.r.Read(b)
	var ne net.Error
	switch {
	case n > 0:
		c.t.Fatalf("controlporttest: unexpected bytes %q", b[:n])
	case errors.As(err, &ne) && ne.Timeout():
		c.t.Fatalf("controlporttest: connection still open after %v", Timeout)
	case !IsClosed(err):
		c.t.Fatalf("controlporttest: reading: %v", err)
	}
}

// ExpectOpen fails the test unless the connection still answers: it sends
// QUIT and expects tor's answer.
func (c *Client) ExpectOpen() {
	c.t.Helper()
	c.Send("QUIT\r\n")
	c.Expect("250 closing connection\r\n")
}

func (c *Client) readDeadline() {
	if err := c.SetReadDeadline(time.Now().Add(Timeout)); err != nil {
		c.t.Fatalf("controlporttest: %v", err)
	}
}

// IsClosed reports whether an error reading or writing means that the
// peer closed the connection, rather than a timeout or a local error.
func IsClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// abbrev keeps a long string short in a failure message.
func abbrev(s string) string {
	if len(s) <= 200 {
		return s
	}
	return s[:120] + "..." + s[len(s)-60:]
}
