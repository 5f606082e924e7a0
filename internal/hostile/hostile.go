package hostile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Auth says how a controller authenticates: with the cookie read from
// CookieFile, with Password (sent as a QuotedString), or, when both are
// empty, with no secret at all (NULL authentication).
type Auth struct {
	CookieFile string
	Password   string
}

// IsNull reports whether the server asks for no secret.
func (a Auth) IsNull() bool { return a.CookieFile == "" && a.Password == "" }

// cookie reads the 32-byte cookie.
func (a Auth) cookie(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(a.CookieFile)
	require.NoError(t, err)
	require.Len(t, b, 32, "a tor control cookie is 32 bytes")
	return b
}

// Line returns the AUTHENTICATE command that succeeds, without its CR LF.
func (a Auth) Line(t testing.TB) string {
	t.Helper()
	switch {
	case a.CookieFile != "":
		return "AUTHENTICATE " + hex.EncodeToString(a.cookie(t))
	case a.Password != "":
		return "AUTHENTICATE " + quote(a.Password)
	}
	return "AUTHENTICATE"
}

// quote makes s a QuotedString as tor reads one: a backslash takes the next
// byte literally.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}

// Limits is what a check knows of the server's configuration. A zero field
// skips the sub-check that needs it.
type Limits struct {
	// AuthTimeout is the server's Config.AuthTimeout: SlowClients checks
	// that controllers which never authenticate are closed after it.
	AuthTimeout time.Duration
	// WriteTimeout is the server's Config.WriteTimeout: NeverReads checks
	// that a controller which never reads is closed after it.
	WriteTimeout time.Duration
	// MaxControllers is the server's Config.MaxControllers, for
	// TooManyControllers.
	MaxControllers int
	// Held is how many connections the caller keeps open to the server
	// while the checks run: they count against MaxControllers.
	Held int
	// SameProcess says the server runs in this process, so that NeverReads
	// can sample its heap.
	SameProcess bool
}

const (
	// Prompt is how soon a well-behaved controller must be answered while
	// hostile ones are connected.
	Prompt = 2 * time.Second
	// ioTimeout bounds every read and write that should not block.
	ioTimeout = 10 * time.Second
	// maxLine bounds one reply line as ReadReply reads it.
	maxLine = 4 << 20
	// maxReplyLines bounds the lines of one reply.
	maxReplyLines = 1 << 20
)

// Reply is one reply of the control protocol.
type Reply struct {
	// Code is the three-digit status code all its lines share.
	Code string
	// Lines are its lines without their CR LF: status lines, and the lines
	// of data blocks with their closing ".".
	Lines []string
}

// errFraming marks a reply that breaks the control protocol's framing.
var errFraming = errors.New("badly framed reply")

// ReadReply reads one reply and checks its framing: each line ends in CR
// LF; a status line is a three-digit code, then '-', '+' or ' ', then text
// holding no CR, LF or NUL; every line of a reply has the same code (as
// control-spec guarantees); a '+' line is followed by a data block that
// ends with a "." line; and the reply ends with exactly one ' ' line. At a
// clean end of input before any byte of a reply it returns io.EOF; a
// framing error wraps errFraming; a read error is returned wrapped.
func ReadReply(r *bufio.Reader) (Reply, error) {
	var rep Reply
	inData := false
	for len(rep.Lines) < maxReplyLines {
		line, err := readLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) == 0 && len(rep.Lines) == 0 {
				return rep, io.EOF
			}
			return rep, fmt.Errorf("after %q, line %q: %w", rep.Lines, line, err)
		}
		if !strings.HasSuffix(line, "\r\n") {
			return rep, fmt.Errorf("%w: line %q does not end in CR LF (after %q)", errFraming, line, rep.Lines)
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
			return rep, fmt.Errorf("%w: status line %q is not <code><-|+| ><text>", errFraming, text)
		}
		if strings.ContainsAny(text, "\r\x00") {
			return rep, fmt.Errorf("%w: status line %q holds a CR or NUL", errFraming, text)
		}
		if rep.Code == "" {
			rep.Code = text[:3]
		} else if text[:3] != rep.Code {
			return rep, fmt.Errorf("%w: line %q in a %s reply (%q)", errFraming, text, rep.Code, rep.Lines)
		}
		switch text[3] {
		case '+':
			inData = true
		case ' ':
			return rep, nil
		}
	}
	return rep, fmt.Errorf("%w: more than %d lines without an end line", errFraming, maxReplyLines)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// readLine reads up to and including a LF, at most maxLine bytes.
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
		case len(b) > maxLine:
			return string(b[:64]) + "...", fmt.Errorf("%w: a line of more than %d bytes", errFraming, maxLine)
		}
	}
}

// isClosed reports whether a read error means the peer closed the
// connection, rather than a timeout or a local error.
func isClosed(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// requireLoopback stops the test unless addr is a loopback IP and port:
// the checks never talk to anything else.
func requireLoopback(t testing.TB, addr string) {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	require.NoError(t, err, "address %q", addr)
	require.True(t, ap.Addr().IsLoopback(), "address %q is not a loopback one", addr)
}

// client is one controller connection, driven from the test's goroutine.
type client struct {
	t  testing.TB
	nc net.Conn
	r  *bufio.Reader
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	requireLoopback(t, addr)
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &client{t: t, nc: nc, r: bufio.NewReaderSize(nc, 64<<10)}
}

func (c *client) close() { c.nc.Close() }

// send writes s as it is.
func (c *client) send(s string) {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetWriteDeadline(time.Now().Add(ioTimeout)))
	_, err := io.WriteString(c.nc, s)
	require.NoError(c.t, err, "sending %q", abbrev(s))
}

// reply reads one reply, which must be well framed.
func (c *client) reply() Reply {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetReadDeadline(time.Now().Add(ioTimeout)))
	rep, err := ReadReply(c.r)
	require.NoError(c.t, err)
	return rep
}

// cmd sends line and its CR LF and returns the reply's lines.
func (c *client) cmd(line string) []string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.reply().Lines
}

func (c *client) authenticate(auth Auth) {
	c.t.Helper()
	require.Equal(c.t, []string{"250 OK"}, c.cmd(auth.Line(c.t)), "authenticating")
}

// expectClosed checks that the server closes the connection with nothing
// more to say, within ioTimeout.
func (c *client) expectClosed() {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetReadDeadline(time.Now().Add(ioTimeout)))
	b := make([]byte, 256)
	n, err := c.r.Read(b)
	require.Zero(c.t, n, "bytes after the last reply: %q", b[:n])
	require.True(c.t, isClosed(err), "want the connection closed, got %v", err)
}

// abbrev shortens s for messages.
func abbrev(s string) string {
	if len(s) > 80 {
		return fmt.Sprintf("%s... (%d bytes)", s[:60], len(s))
	}
	return s
}

// sub runs f as a subtest of t when t can have them, and inline otherwise.
func sub(t testing.TB, name string, f func(t testing.TB)) {
	t.Helper()
	switch tt := t.(type) {
	case *testing.T:
		tt.Run(name, func(t *testing.T) { f(t) })
	case *testing.B:
		tt.Run(name, func(b *testing.B) { f(b) })
	default:
		f(t)
	}
}

// Served checks that a new, well-behaved controller is served promptly: it
// connects and authenticates, its GETINFO version and events/names is
// answered within Prompt, and QUIT closes it.
func Served(t testing.TB, addr string, auth Auth) {
	t.Helper()
	start := time.Now()
	c := dial(t, addr)
	defer c.close()
	c.authenticate(auth)
	asked := time.Now()
	lines := c.cmd("GETINFO version events/names")
	took := time.Since(asked)
	require.Len(t, lines, 3, "%q", lines)
	assert.True(t, strings.HasPrefix(lines[0], "250-version="), "%q", lines)
	assert.True(t, strings.HasPrefix(lines[1], "250-events/names=CIRC "), "%q", lines)
	assert.Equal(t, "250 OK", lines[2])
	require.Less(t, took, Prompt, "GETINFO answered in %v", took)
	require.Less(t, time.Since(start), 2*Prompt, "connecting, authenticating and GETINFO took %v", time.Since(start))
	require.Equal(t, []string{"250 closing connection"}, c.cmd("QUIT"))
	c.expectClosed()
}

// version asks GETINFO version on an authenticated c and returns the reply.
func (c *client) version() []string {
	c.t.Helper()
	lines := c.cmd("GETINFO version")
	require.Len(c.t, lines, 2, "%q", lines)
	require.True(c.t, strings.HasPrefix(lines[0], "250-version="), "%q", lines)
	require.Equal(c.t, "250 OK", lines[1])
	return lines
}

// SlowClients opens 50 connections at once: half trickle the first bytes
// of a command, one every 200 ms, and never finish the line; half send
// nothing. Meanwhile, round after round, a well-behaved controller is
// served promptly (see Served), and the silent ones are then still open,
// neither answered nor closed. With lim.AuthTimeout set, every one of the
// 50 must then be closed by the server, without a byte of reply, by
// AuthTimeout after it connected (plus slack): trickling bytes does not
// extend the time to authenticate.
func SlowClients(t testing.TB, addr string, auth Auth, lim Limits) {
	requireLoopback(t, addr)
	const (
		n       = 50
		trickle = "PROTOCOLINFO" // never finished: no LF
		pause   = 200 * time.Millisecond
		rounds  = 6
	)
	conns := make([]net.Conn, 0, n)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	defer func() {
		halt()
		for _, nc := range conns {
			nc.Close()
		}
		wg.Wait()
	}()
	opened := time.Now()
	for range n {
		nc, err := net.DialTimeout("tcp", addr, ioTimeout)
		require.NoError(t, err)
		conns = append(conns, nc)
	}
	var trickled atomic.Int64
	for i := 0; i < n; i += 2 {
		nc := conns[i]
		wg.Go(func() {
			tick := time.NewTicker(pause)
			defer tick.Stop()
			for j := range len(trickle) {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				nc.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := nc.Write([]byte{trickle[j]}); err != nil {
					return // the server closed it: fine
				}
				trickled.Add(1)
			}
		})
	}
	for round := range rounds {
		sub(t, fmt.Sprintf("round %d", round), func(t testing.TB) { Served(t, addr, auth) })
		time.Sleep(pause)
	}
	t.Logf("%d bytes trickled by %d slow clients over %v", trickled.Load(), n/2, time.Since(opened).Round(time.Millisecond))

	sub(t, "silent ones held meanwhile", func(t testing.TB) {
		// They were admitted and are still open, so the rounds above were
		// served beside them: a read finds neither bytes nor a close.
		if lim.AuthTimeout != 0 && time.Since(opened) > lim.AuthTimeout-300*time.Millisecond {
			t.Skipf("too close to AuthTimeout (%v) to tell", lim.AuthTimeout)
		}
		limit := time.Now().Add(20 * time.Millisecond)
		b := make([]byte, 64)
		for i := 1; i < n; i += 2 {
			require.NoError(t, conns[i].SetReadDeadline(limit))
			k, err := conns[i].Read(b)
			var ne net.Error
			require.True(t, k == 0 && errors.As(err, &ne) && ne.Timeout(), "silent connection %d: read %q, %v", i, b[:k], err)
		}
	})

	sub(t, "closed after AuthTimeout", func(t testing.TB) {
		if lim.AuthTimeout == 0 {
			t.Skip("AuthTimeout unknown or too long to wait for")
		}
		wg.Wait() // the trickling ends by itself, after len(trickle)*pause
		limit := opened.Add(lim.AuthTimeout + 5*time.Second)
		b := make([]byte, 64)
		for i, nc := range conns {
			require.NoError(t, nc.SetReadDeadline(limit))
			k, err := nc.Read(b)
			require.Zero(t, k, "connection %d got %q", i, b[:k])
			require.True(t, isClosed(err), "connection %d (%s) still open %v after connecting: %v", i, map[bool]string{true: "trickling", false: "silent"}[i%2 == 0], time.Since(opened), err)
		}
		t.Logf("all %d closed within %v of connecting (AuthTimeout %v)", n, time.Since(opened).Round(time.Millisecond), lim.AuthTimeout)
	})
	halt()
	for _, nc := range conns {
		nc.Close()
	}
	wg.Wait()
	Served(t, addr, auth)
}

// LongLine sends a 4 MiB GETINFO line, before and after authenticating, in
// 64 KiB writes, and has a well-behaved controller served halfway through.
// The answer must be "500 Line too long.\r\n" once the LF arrives, then a
// close.
func LongLine(t testing.TB, addr string, auth Auth) {
	const size, chunk = 4 << 20, 64 << 10
	block := strings.Repeat("k", chunk)
	for _, authed := range []bool{true, false} {
		sub(t, map[bool]string{true: "after auth", false: "before auth"}[authed], func(t testing.TB) {
			c := dial(t, addr)
			defer c.close()
			if authed {
				c.authenticate(auth)
			}
			c.send("GETINFO ")
			for i := range size / chunk {
				c.send(block)
				if i == size/chunk/2 {
					Served(t, addr, auth)
				}
			}
			c.send("\r\n")
			require.Equal(t, []string{"500 Line too long."}, c.reply().Lines)
			c.expectClosed()
		})
	}
	Served(t, addr, auth)
}

// Pipelined writes 10,000 GETINFO lines on one connection from one
// goroutine while reading on another: "version" and "nosuch<i>" in turn.
// Every one must be answered, in order: the version, or
// `552 Unrecognized key "nosuch<i>"`.
func Pipelined(t testing.TB, addr string, auth Auth) {
	const n = 10000
	c := dial(t, addr)
	defer c.close()
	c.authenticate(auth)
	version := c.version()

	var wg sync.WaitGroup
	var werr error
	defer wg.Wait()
	defer c.close() // ends the writer if a check below fails
	require.NoError(t, c.nc.SetDeadline(time.Now().Add(60*time.Second)))
	wg.Go(func() {
		w := bufio.NewWriter(c.nc)
		for i := range n {
			if i%2 == 0 {
				w.WriteString("GETINFO version\r\n")
			} else {
				fmt.Fprintf(w, "GETINFO nosuch%d\r\n", i)
			}
		}
		werr = w.Flush()
	})
	start := time.Now()
	for i := range n {
		rep, err := ReadReply(c.r)
		require.NoError(t, err, "reply %d", i)
		if i%2 == 0 {
			require.Equal(t, version, rep.Lines, "reply %d", i)
		} else {
			require.Equal(t, []string{fmt.Sprintf(`552 Unrecognized key "nosuch%d"`, i)}, rep.Lines, "reply %d", i)
		}
	}
	wg.Wait()
	require.NoError(t, werr)
	t.Logf("%d pipelined GETINFOs answered in order in %v", n, time.Since(start).Round(time.Millisecond))
	require.Equal(t, version, c.version())
	Served(t, addr, auth)
}

// heapInuse returns the heap in use after a garbage collection.
func heapInuse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// NeverReads has a controller send 500 GETINFOs of 1,000 keys each (a
// reply of some 350 KB each, about 175 MB in all) and never read. Other
// controllers must still be served promptly. With lim.WriteTimeout set, the
// server must close the stuck connection within WriteTimeout (plus slack):
// draining it then ends in EOF or a reset, well before the replies it
// asked for. With lim.SameProcess, the server's heap in use, after a GC,
// must not grow by more than maxHeapGrowth while it is stuck, nor once it
// is gone.
func NeverReads(t testing.TB, addr string, auth Auth, lim Limits) {
	const (
		requests = 500
		keys     = 1000
		// maxHeapGrowth: a server that buffered what the stuck controller
		// asked for would hold some 175 MB. One that does not holds a reply
		// in progress (a few hundred KB here), its connection buffers (tens
		// of KB), and at most getinfo.MaxRetained (32 MiB) of reply buffers
		// kept for reuse; 64 MiB is twice that, room for the test's own
		// allocations, and well under what buffering would take.
		maxHeapGrowth = 64 << 20
	)
	line := "GETINFO" + strings.Repeat(" events/names", keys) + "\r\n"
	var before int64
	if lim.SameProcess {
		before = heapInuse()
	}

	stuck := dial(t, addr)
	stuck.authenticate(auth)
	var wg sync.WaitGroup
	var sent atomic.Int64
	defer wg.Wait()
	defer stuck.close()
	require.NoError(t, stuck.nc.SetWriteDeadline(time.Now().Add(30*time.Second)))
	asked := time.Now()
	wg.Go(func() {
		for range requests {
			if _, err := io.WriteString(stuck.nc, line); err != nil {
				return // closed by the server, or by us
			}
			sent.Add(1)
		}
	})

	for round := range 3 {
		sub(t, fmt.Sprintf("served meanwhile %d", round), func(t testing.TB) { Served(t, addr, auth) })
		time.Sleep(100 * time.Millisecond)
	}
	// The server did answer it: replies have arrived (a peek reads at
	// most 64 KiB of them, far from enough to let the server go on).
	require.NoError(t, stuck.nc.SetReadDeadline(time.Now().Add(ioTimeout)))
	_, err := stuck.r.Peek(1)
	require.NoError(t, err, "the stuck controller got no reply at all")
	if lim.SameProcess {
		during := heapInuse()
		t.Logf("heap in use: %d MiB before, %d MiB while a controller is stuck (%d requests sent)", before>>20, during>>20, sent.Load())
		assert.Less(t, during-before, int64(maxHeapGrowth), "heap growth while a controller is stuck")
	}

	sub(t, "closed after WriteTimeout", func(t testing.TB) {
		if lim.WriteTimeout == 0 {
			t.Skip("WriteTimeout unknown or too long to wait for")
		}
		time.Sleep(time.Until(asked.Add(lim.WriteTimeout + 2*time.Second)))
		// The server has given up by now: draining what the kernel holds
		// must end in a close, long before all that was asked.
		const limit = 64 << 20
		require.NoError(t, stuck.nc.SetReadDeadline(time.Now().Add(ioTimeout)))
		var got int64
		var err error
		b := make([]byte, 256<<10)
		for got < limit && err == nil {
			var k int
			k, err = stuck.r.Read(b)
			got += int64(k)
		}
		require.True(t, isClosed(err), "stuck connection still open %v after asking: read %d bytes, then %v", time.Since(asked), got, err)
		t.Logf("stuck connection closed by the server; %d bytes were in flight, %d of %d requests sent", got, sent.Load(), requests)
	})
	stuck.close() // if the server still holds it, its write now fails
	wg.Wait()
	Served(t, addr, auth)

	if lim.SameProcess {
		after := heapInuse()
		t.Logf("heap in use once it is gone: %d MiB", after>>20)
		assert.Less(t, after-before, int64(maxHeapGrowth), "heap growth after a stuck controller")
	}
}

// attempt is one wrong authentication: what is sent, and the one reply
// line tor sends before closing.
type attempt struct {
	name      string
	challenge bool // run AUTHCHALLENGE SAFECOOKIE first
	send      string
	want      string
}

const (
	invalidHex  = "551 Invalid hexadecimal encoding.  Maybe you tried a plain text password?  If so, the standard requires that you put it in double quotes."
	authFailed  = "515 Authentication failed: "
	passwordBad = authFailed + "Password did not match HashedControlPassword value from configuration"
	maybePlain  = ". Maybe you tried a plain text password? If so, the standard requires that you put it in double quotes."
)

// wrongSecrets are the wrong authentications for auth, with tor's answers.
func wrongSecrets(t testing.TB, auth Auth) []attempt {
	t.Helper()
	if auth.CookieFile != "" {
		wrong := auth.cookie(t)
		for i := range wrong {
			wrong[i] ^= 0x5a
		}
		return []attempt{
			{name: "wrong cookie", send: "AUTHENTICATE " + hex.EncodeToString(wrong), want: authFailed + "Authentication cookie did not match expected value."},
			{name: "short cookie", send: "AUTHENTICATE 0011", want: authFailed + "Wrong length on authentication cookie."},
			{name: "no cookie", send: "AUTHENTICATE", want: authFailed + "Wrong length on authentication cookie."},
			{name: "quoted password", send: `AUTHENTICATE "wrong password"`, want: authFailed + "Wrong length on authentication cookie."},
			{name: "non-hex", send: "AUTHENTICATE xyz", want: invalidHex},
			{name: "odd hex", send: "AUTHENTICATE abc", want: invalidHex},
			{name: "wrong safe cookie", challenge: true, send: "AUTHENTICATE " + hex.EncodeToString(wrong), want: authFailed + "Safe cookie response did not match expected value."},
			{name: "short safe cookie", challenge: true, send: "AUTHENTICATE 00", want: authFailed + "Wrong length for safe cookie response."},
		}
	}
	return []attempt{
		{name: "wrong quoted password", send: `AUTHENTICATE "wrong password"`, want: passwordBad},
		{name: "wrong hex password", send: "AUTHENTICATE " + hex.EncodeToString([]byte("wrong password")), want: passwordBad + maybePlain},
		{name: "no password", send: "AUTHENTICATE", want: passwordBad + maybePlain},
		{name: "non-hex", send: "AUTHENTICATE wrong", want: invalidHex},
		{name: "quoted with escapes", send: `AUTHENTICATE "wr\"ong\\"`, want: passwordBad},
		{name: "safe cookie without a cookie", challenge: true, want: "515 Cookie authentication is disabled"},
	}
}

var challengeRE = regexp.MustCompile(`^250 AUTHCHALLENGE SERVERHASH=[0-9A-F]{64} SERVERNONCE=[0-9A-F]{64}$`)

// try makes one wrong authentication on a new connection; it runs on any
// goroutine and reports what went wrong.
func try(addr string, a attempt) error {
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := nc.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	r := bufio.NewReader(nc)
	exchange := func(line string) ([]string, error) {
		if _, err := io.WriteString(nc, line+"\r\n"); err != nil {
			return nil, err
		}
		rep, err := ReadReply(r)
		return rep.Lines, err
	}
	if a.challenge {
		nonce := make([]byte, 32)
		rand.Read(nonce)
		lines, err := exchange("AUTHCHALLENGE SAFECOOKIE " + hex.EncodeToString(nonce))
		switch {
		case err != nil:
			return fmt.Errorf("AUTHCHALLENGE: %w", err)
		case a.send == "": // the challenge itself is refused
			if len(lines) != 1 || lines[0] != a.want {
				return fmt.Errorf("AUTHCHALLENGE: got %q, want %q", lines, a.want)
			}
			return closed(nc, r)
		case len(lines) != 1 || !challengeRE.MatchString(lines[0]):
			return fmt.Errorf("AUTHCHALLENGE: got %q", lines)
		}
	}
	lines, err := exchange(a.send)
	if err != nil {
		return fmt.Errorf("%s: %w", a.send, err)
	}
	if len(lines) != 1 || lines[0] != a.want {
		return fmt.Errorf("%s: got %q, want %q", a.send, lines, a.want)
	}
	return closed(nc, r)
}

// closed reads until the end of input, which must come at once, with
// nothing more.
func closed(nc net.Conn, r *bufio.Reader) error {
	if err := nc.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	rest, err := io.ReadAll(r)
	switch {
	case len(rest) > 0:
		return fmt.Errorf("bytes after the refusal: %q", rest)
	case err != nil && !isClosed(err):
		return fmt.Errorf("not closed after the refusal: %w", err)
	}
	return nil
}

// BruteForce makes 200 wrong authentications, four connections at a time,
// cycling through wrong cookies (wrong value, length, hex, and SAFECOOKIE
// responses) or wrong passwords (quoted, hex, none): each must get tor's 515
// or 551 line and a close. The right secret must work afterwards. With NULL
// authentication every secret is right: it skips.
func BruteForce(t testing.TB, addr string, auth Auth) {
	requireLoopback(t, addr)
	if auth.IsNull() {
		t.Skip("NULL authentication: there is no wrong secret")
	}
	const n, workers = 200, 4
	attempts := wrongSecrets(t, auth)
	var next atomic.Int64
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				a := attempts[i%len(attempts)]
				if err := try(addr, a); err != nil {
					errs <- fmt.Errorf("attempt %d (%s): %w", i, a.name, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 10 {
			t.Error(err)
		}
	}
	require.Zero(t, failed, "of %d wrong authentications, %d were not refused as tor does", n, failed)
	t.Logf("%d wrong authentications refused and closed in %v", n, time.Since(start).Round(time.Millisecond))
	Served(t, addr, auth)
}

// hostileBytes are what HostileBytes puts in each field: every C0 control
// byte, DEL, and invalid UTF-8 (a lone continuation byte, 0xff, a bad
// second byte, an encoded surrogate, a code point past U+10FFFF).
var hostileBytes = func() []string {
	var bs []string
	for b := range 0x20 {
		bs = append(bs, string([]byte{byte(b)}))
	}
	return append(bs, "\x7f", "\x80", "\xff", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80")
}()

// afterAuth are the lines HostileBytes sends on an authenticated
// connection, %s standing for the hostile bytes.
var afterAuth = []string{
	"GETINFO a%sb",
	"GETINFO version a%sb",
	"GETINFO %s",
	"GETINFO conn/%s/1 conn/1/1%s",
	"GETINFO info/names%s",
	"GETINFO events/names %s info/names",
	"GETINFO conn/all%s",
	"GETINFO%sversion",
	"GET%sINFO version",
	"%sGETINFO version",
	"FOO%sBAR baz",
	"SETEVENTS CIRC%s STREAM",
	"SETEVENTS %s",
	"USEFEATURE VERBOSE_NAMES%s",
	"GETCONF a%sb __OwningControllerProcess",
	"GETCONF __OwningControllerProcess%s",
	"PROTOCOLINFO 1%s",
}

// beforeAuth are sent each on a new connection: each is refused and
// closed (or, with a whitespace byte, is QUIT).
var beforeAuth = []string{
	"GETINFO a%sb",
	"GETI%sNFO version",
	"QUIT%s",
	"SETEVENTS CIRC%s",
	"USEFEATURE %s",
}

// HostileBytes puts control bytes (NUL, CR, LF and the rest of 0x01-0x1f,
// 0x7f) and invalid UTF-8 in GETINFO keys, command words, and SETEVENTS,
// USEFEATURE, GETCONF and PROTOCOLINFO arguments. After authenticating,
// each line is followed by GETINFO version on the same connection: every
// reply must be well framed (see ReadReply), there must be exactly one
// reply per LF sent, no status line but a 510's (which echoes the command
// word raw, as tor does) may hold a control byte other than TAB, and the
// version must still be answered. Before authenticating, each line gets one
// well-framed refusal (514, or 250 for a QUIT) and a close. Last come the
// sub-checks that a command word, event, feature or option name matches
// only as tor's ASCII strcasecmp does.
func HostileBytes(t testing.TB, addr string, auth Auth) {
	sub(t, "after auth", func(t testing.TB) {
		c := dial(t, addr)
		defer c.close()
		c.authenticate(auth)
		version := c.version()
		replies, blocks := 0, 0
		for _, form := range afterAuth {
			for _, b := range hostileBytes {
				line := strings.ReplaceAll(form, "%s", b) + "\r\n"
				c.send(line + "GETINFO version\r\n")
				for i := range strings.Count(line, "\n") {
					rep := c.reply()
					replies++
					if slices.ContainsFunc(rep.Lines, func(l string) bool { return strings.HasPrefix(l, rep.Code+"+") }) {
						blocks++
					}
					require.Contains(t, []string{"250", "510", "512", "513", "552"}, rep.Code, "reply %d to %q: %q", i, line, rep.Lines)
					if rep.Code != "510" {
						for _, l := range rep.Lines {
							require.False(t, hasControlByte(l), "reply %d to %q echoes a control byte raw: %q", i, line, l)
						}
					}
				}
				require.Equal(t, version, c.reply().Lines, "after %q", line)
			}
		}
		t.Logf("%d hostile lines answered with %d well-framed replies (%d with data blocks) on one connection", len(afterAuth)*len(hostileBytes), replies, blocks)
	})

	sub(t, "before auth", func(t testing.TB) {
		for _, form := range beforeAuth {
			for _, b := range hostileBytes {
				line := strings.ReplaceAll(form, "%s", b) + "\r\n"
				c := dial(t, addr)
				c.send(line)
				rep := c.reply()
				if rep.Code == "250" {
					require.Equal(t, []string{"250 closing connection"}, rep.Lines, "reply to %q", line)
				} else {
					require.Equal(t, []string{"514 Authentication required."}, rep.Lines, "reply to %q", line)
				}
				c.expectClosed()
				c.close()
			}
		}
	})
	Served(t, addr, auth)

	asciiCase(t, addr, auth)
	Served(t, addr, auth)
}

// hasControlByte reports a byte below 0x20 other than TAB, or DEL.
func hasControlByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

// asciiCase checks that names match case-insensitively in ASCII only, as
// tor's strcasecmp does: 'ı' (U+0131, dotless i) and 'ſ' (U+017F, long s)
// are not 'I' and 'S'.
func asciiCase(t testing.TB, addr string, auth Auth) {
	type kase struct {
		name    string
		preAuth bool
		send    string
		want    []string
		closed  bool
	}
	cases := []kase{
		{name: "command word", send: "GETıNFO version", want: []string{`510 Unrecognized command "GETıNFO"`}},
		{name: "command word, long s", send: "ſetevents CIRC", want: []string{`510 Unrecognized command "ſetevents"`}},
		{name: "event name", send: "SETEVENTS ſTATUS_SERVER", want: []string{`552 Unrecognized event "ſTATUS_SERVER"`}},
		{name: "feature name", send: "USEFEATURE EXTENDED_EVENTſ", want: []string{`552 Unrecognized feature "EXTENDED_EVENTſ"`}},
		{name: "option name", send: "GETCONF __OwningControllerProceſſ", want: []string{`552 Unrecognized configuration key "__OwningControllerProceſſ"`}},
		{name: "QUIT before auth", preAuth: true, send: "quıt", want: []string{"514 Authentication required."}, closed: true},
		{name: "PROTOCOLINFO before auth", preAuth: true, send: "PROTOCOLıNFO 1", want: []string{"514 Authentication required."}, closed: true},
		{name: "AUTHENTICATE before auth", preAuth: true, send: strings.Replace(auth.Line(t), "AUTHENTICATE", "AUTHENTıCATE", 1), want: []string{"514 Authentication required."}, closed: true},
	}
	if auth.CookieFile != "" {
		cases = append(cases, kase{name: "AUTHCHALLENGE method", preAuth: true, send: "AUTHCHALLENGE ſAFECOOKIE 0011", want: []string{"513 AUTHCHALLENGE only supports SAFECOOKIE authentication"}, closed: true})
	}
	for _, k := range cases {
		sub(t, "ASCII case only: "+k.name, func(t testing.TB) {
			c := dial(t, addr)
			defer c.close()
			if !k.preAuth {
				c.authenticate(auth)
			}
			got := c.cmd(k.send)
			require.Equal(t, k.want, got, "reply to %q", k.send)
			if k.closed {
				c.expectClosed()
			} else {
				c.version()
			}
		})
	}
}

// TooManyControllers fills the server to lim.MaxControllers (less lim.Held,
// the caller's own connections), each authenticated, then opens six more:
// each extra one must be closed at once, without a byte. The admitted ones
// must all still answer GETINFO, and a place freed must be given to the
// next controller, as must one once all are closed. Connections of earlier checks that the server has not
// yet seen close may take places for a moment: then it starts over, for
// up to 10 s.
func TooManyControllers(t testing.TB, addr string, auth Auth, lim Limits) {
	requireLoopback(t, addr)
	if lim.MaxControllers == 0 {
		t.Skip("MaxControllers unknown")
	}
	const extra = 6
	free := lim.MaxControllers - lim.Held
	require.Positive(t, free)
	var admitted []*client
	closeAll := func() {
		for _, c := range admitted {
			c.close()
		}
		admitted = admitted[:0]
	}
	defer closeAll()
	authLine := auth.Line(t) + "\r\n"
	giveUp := time.Now().Add(10 * time.Second)
fill:
	for attempt := 0; attempt < 100; attempt++ {
		closeAll()
		for range free {
			c := dial(t, addr)
			admitted = append(admitted, c)
			c.send(authLine)
			require.NoError(t, c.nc.SetReadDeadline(time.Now().Add(ioTimeout)))
			rep, err := ReadReply(c.r)
			if isClosed(err) && len(rep.Lines) == 0 {
				// A place still taken by a connection the server has not
				// seen close: start over.
				require.True(t, time.Now().Before(giveUp), "only %d of %d places free after 10 s", len(admitted)-1, free)
				time.Sleep(100 * time.Millisecond)
				continue fill
			}
			require.NoError(t, err)
			require.Equal(t, []string{"250 OK"}, rep.Lines)
		}
		t.Logf("%d controllers admitted (attempt %d), %d held by the caller", free, attempt+1, lim.Held)
		break
	}
	require.Len(t, admitted, free, "controllers admitted")

	for i := range extra {
		c := dial(t, addr)
		start := time.Now()
		require.NoError(t, c.nc.SetReadDeadline(time.Now().Add(ioTimeout)))
		b := make([]byte, 64)
		k, err := c.nc.Read(b)
		require.Zero(t, k, "extra controller %d got %q", i, b[:k])
		require.True(t, isClosed(err), "extra controller %d beyond %d not closed: %v", i, lim.MaxControllers, err)
		require.Less(t, time.Since(start), Prompt, "extra controller %d closed after %v", i, time.Since(start))
		c.close()
	}

	for i, c := range admitted {
		require.Equal(t, "250 OK", c.version()[1], "admitted controller %d", i)
	}

	// A place freed goes to the next controller, once the server sees it free.
	admitted[0].close()
	admitted = admitted[1:]
	require.Eventually(t, func() bool { return try1(addr, authLine) }, 5*time.Second, 20*time.Millisecond, "a freed place is given to the next controller")
	closeAll()
	// The places come back as the server sees the closes; until then a
	// new controller may still be turned away.
	require.Eventually(t, func() bool { return try1(addr, authLine) }, 5*time.Second, 20*time.Millisecond, "places given back")
}

// try1 reports whether a new controller is admitted and authenticates.
func try1(addr, authLine string) bool {
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return false
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(nc, authLine); err != nil {
		return false
	}
	rep, err := ReadReply(bufio.NewReader(nc))
	return err == nil && len(rep.Lines) == 1 && rep.Lines[0] == "250 OK"
}

// All runs every check as a subtest, in an order that leaves the limits
// check last.
func All(t *testing.T, addr string, auth Auth, lim Limits) {
	t.Run("SlowClients", func(t *testing.T) { SlowClients(t, addr, auth, lim) })
	t.Run("LongLine", func(t *testing.T) { LongLine(t, addr, auth) })
	t.Run("Pipelined", func(t *testing.T) { Pipelined(t, addr, auth) })
	t.Run("NeverReads", func(t *testing.T) { NeverReads(t, addr, auth, lim) })
	t.Run("BruteForce", func(t *testing.T) { BruteForce(t, addr, auth) })
	t.Run("HostileBytes", func(t *testing.T) { HostileBytes(t, addr, auth) })
	t.Run("TooManyControllers", func(t *testing.T) { TooManyControllers(t, addr, auth, lim) })
}
