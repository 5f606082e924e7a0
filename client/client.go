package client

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/controlport/protocol"
)

// DefaultTimeout bounds each command when [Options.Timeout] is 0.
const DefaultTimeout = 30 * time.Second

// EventBuffer is how many events [Conn.Events] holds for a reader that is
// behind; newer ones are dropped (and counted by [Conn.LostEvents]).
const EventBuffer = 4096

// Errors, for errors.Is.
var (
	// ErrUnrecognized matches a 552 reply: an unknown key, event or option.
	ErrUnrecognized = errors.New("client: unrecognized")
	// ErrInternal matches a 551 reply: the server could not answer.
	ErrInternal = errors.New("client: internal error")
	// ErrAuth is wrapped by every authentication failure.
	ErrAuth = errors.New("client: authentication failed")
	// ErrClosed is returned once the connection is closed.
	ErrClosed = errors.New("client: connection closed")
	// ErrNoConnAll is wrapped by ConnAll when the port does not answer
	// conn/all: a tor, or a relay without conninfo.
	ErrNoConnAll = errors.New("client: the control port does not answer conn/all (a C tor, or a relay without conninfo)")
	// ErrProtocol is wrapped by errors of a reply that is not one.
	ErrProtocol = errors.New("client: malformed reply")
)

// Options configures [Dial].
type Options struct {
	// CookieFile overrides the cookie file PROTOCOLINFO names.
	CookieFile string
	// Password is the secret for HASHEDPASSWORD.
	Password string
	// Timeout bounds each command (default [DefaultTimeout]).
	Timeout time.Duration
}

// Error is a reply whose status is not 250: its code, and the text of its
// lines (C-escaped by the server where it echoed a control byte).
type Error struct {
	Code  int
	Lines []string
}

func (e *Error) Error() string {
	return "client: " + strconv.Itoa(e.Code) + " " + strings.Join(e.Lines, "; ")
}

// Is matches [ErrUnrecognized] for 552 and [ErrInternal] for 551.
func (e *Error) Is(target error) bool {
	return target == ErrUnrecognized && e.Code == 552 || target == ErrInternal && e.Code == 551
}

// Line is one line of a reply: its code, its separator ('-', '+' or ' '),
// its text, and for '+' the data that followed, dot-decoded, its lines
// joined by "\n".
type Line struct {
	Code int
	Sep  byte
	Text string
	Data []byte
}

// Reply is one whole reply.
type Reply struct {
	Lines []Line
}

// Code is the reply's status: its last line's code.
func (r Reply) Code() int {
	if len(r.Lines) == 0 {
		return 0
	}
	return r.Lines[len(r.Lines)-1].Code
}

func (r Reply) err() error {
	if c := r.Code(); c != 250 {
		e := &Error{Code: c}
		for _, l := range r.Lines {
			e.Lines = append(e.Lines, l.Text)
		}
		return e
	}
	return nil
}

// Event is one asynchronous event: its name (BW, ORCONN, ...) and its
// line after "650 ".
type Event struct {
	Name string
	Line string
}

// Conn is an authenticated control connection. Commands are sent one at a
// time (a Conn is safe for concurrent use, each caller waiting its turn);
// events arrive on [Conn.Events].
type Conn struct {
	nc      net.Conn
	timeout time.Duration

	mu      sync.Mutex // one command at a time
	w       *bufio.Writer
	sink    atomic.Pointer[func(line []byte)] // the current command's data lines, if it takes them
	replies chan replyOrErr
	events  chan Event
	done    chan struct{}
	readErr error // set before done is closed
	// closing is closed when the connection is given up, so that a reader
	// holding a reply no command waits for (a server answering out of
	// turn) stops waiting to hand it over.
	closing   chan struct{}
	closeOnce sync.Once

	lostMu sync.Mutex
	lost   uint64
}

type replyOrErr struct {
	r    Reply
	sunk bool // its conn/all block went to the command's sink
	err  error
}

// Dial connects to control, "HOST:PORT" or "unix:PATH", and authenticates
// with the best method the server offers in PROTOCOLINFO: SAFECOOKIE,
// then COOKIE (with the cookie file it names, or Options.CookieFile),
// HASHEDPASSWORD (with Options.Password), NULL.
func Dial(ctx context.Context, control string, opts Options) (*Conn, error) {
	network, addr := "tcp", control
	if path, ok := strings.CutPrefix(control, "unix:"); ok {
		network, addr = "unix", path
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("client: cannot reach the control port %s: %w", control, err)
	}
	c := newConn(nc, opts.Timeout)
	if err := c.authenticate(ctx, opts); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// newConn starts the reader of nc.
func newConn(nc net.Conn, timeout time.Duration) *Conn {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	c := &Conn{
		nc: nc, timeout: timeout, w: bufio.NewWriter(nc),
		replies: make(chan replyOrErr, 1), events: make(chan Event, EventBuffer), done: make(chan struct{}),
		closing: make(chan struct{}),
	}
	go c.readLoop(bufio.NewReaderSize(nc, 64<<10))
	return c
}

// Close closes the connection; the events channel is closed once its
// reader ends.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { close(c.closing) })
	err := c.nc.Close()
	<-c.done
	return err
}

// Events returns the events the server sends, in order. It is closed when
// the connection ends.
func (c *Conn) Events() <-chan Event { return c.events }

// LostEvents returns how many events were dropped because Events was not
// read fast enough.
func (c *Conn) LostEvents() uint64 {
	c.lostMu.Lock()
	defer c.lostMu.Unlock()
	return c.lost
}

// readLoop reads replies and events until the connection ends.
func (c *Conn) readLoop(r *bufio.Reader) {
	defer close(c.done)
	defer close(c.events)
	// A sink serves one data block of one reply, taken (and cleared) by
	// the reader when that block begins: never a later reply's.
	take := func() func([]byte) {
		if f := c.sink.Swap(nil); f != nil {
			return *f
		}
		return nil
	}
	for {
		rep, sunk, err := readReply(r, take)
		if err != nil {
			c.readErr = err
			select {
			case c.replies <- replyOrErr{err: err}:
			default:
			}
			return
		}
		if rep.Code() == 650 {
			c.event(rep)
			continue
		}
		select {
		case c.replies <- replyOrErr{r: rep, sunk: sunk}:
		case <-c.closing:
			return
		}
	}
}

func (c *Conn) event(rep Reply) {
	text := rep.Lines[0].Text
	name, _, _ := strings.Cut(text, " ")
	select {
	case c.events <- Event{Name: name, Line: text}:
	default:
		c.lostMu.Lock()
		c.lost++
		c.lostMu.Unlock()
	}
}

// Command sends one command line (without CR LF) and returns its reply,
// or an *Error if its status is not 250.
func (c *Conn) Command(ctx context.Context, line string) (Reply, error) {
	return c.command(ctx, line, nil)
}

// command is Command; if sink is not nil, the lines of the reply's
// "conn/all=" data block go to it as they are read, dot-unescaped, each
// valid only during the call, and not to Line.Data. sink runs on the
// reader's goroutine and is done with when command returns: a reply that
// did not take it, while the reader did for another (a server answering
// out of turn), gives up the connection.
func (c *Conn) command(ctx context.Context, line string, sink func(line []byte)) (Reply, error) {
	if strings.ContainsAny(line, "\r\n") {
		return Reply{}, fmt.Errorf("client: a command line cannot hold CR or LF: %q", line)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		return Reply{}, ErrClosed
	default:
	}
	deadline := time.Now().Add(c.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.nc.SetWriteDeadline(deadline)
	if sink != nil {
		c.sink.Store(&sink)
	}
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		c.abandon()
		return Reply{}, fmt.Errorf("client: sending %s: %w", commandWord(line), err)
	}
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case re := <-c.replies:
		if re.err != nil { // the reader has ended
			return Reply{}, fmt.Errorf("client: reading the reply to %s: %w", commandWord(line), re.err)
		}
		if sink != nil && c.sink.Swap(nil) == nil && !re.sunk {
			c.abandon() // the reader holds the sink for a reply that is not this one
			return Reply{}, fmt.Errorf("%w: a reply out of turn to %s", ErrProtocol, commandWord(line))
		}
		return re.r, re.r.err()
	case <-ctx.Done():
		c.abandon() // the reply would come out of order
		return Reply{}, ctx.Err()
	case <-timer.C:
		c.abandon()
		return Reply{}, fmt.Errorf("client: no reply to %s within %v", commandWord(line), c.timeout)
	}
}

// abandon gives up the connection and waits for its reader, which may be
// in a sink.
func (c *Conn) abandon() { c.Close() }

func commandWord(line string) string {
	w, _, _ := strings.Cut(line, " ")
	return w
}

// GetInfo asks for keys and returns their values by key.
func (c *Conn) GetInfo(ctx context.Context, keys ...string) (map[string]string, error) {
	rep, err := c.Command(ctx, "GETINFO "+strings.Join(keys, " "))
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(keys))
	for _, l := range rep.Lines {
		if l.Sep == ' ' {
			break // "250 OK"
		}
		k, v, ok := strings.Cut(l.Text, "=")
		if !ok {
			return nil, fmt.Errorf("%w: GETINFO line %q has no '='", ErrProtocol, l.Text)
		}
		if l.Sep == '+' {
			v = string(l.Data)
		}
		out[k] = v
	}
	return out, nil
}

// ConnAll asks for conn/all and decodes its lines. A port that does not
// answer it is [ErrNoConnAll].
func (c *Conn) ConnAll(ctx context.Context) ([]connstate.Entry, error) {
	return c.AppendConnAll(ctx, nil)
}

// AppendConnAll is [Conn.ConnAll] appending to dst, which a caller that
// asks again and again reuses. The lines are decoded as they arrive: the
// reader copies them into batches, which a worker a CPU parses.
func (c *Conn) AppendConnAll(ctx context.Context, dst []connstate.Entry) ([]connstate.Entry, error) {
	start := len(dst)
	d := newDecoder()
	defer d.release()
	rep, err := c.command(ctx, "GETINFO conn/all", d.line)
	if err == nil {
		dst, err = d.appendTo(dst)
	}
	if errors.Is(err, ErrUnrecognized) {
		return dst[:start], fmt.Errorf("%w: %w", ErrNoConnAll, err)
	}
	if err != nil {
		return dst[:start], err
	}
	if len(rep.Lines) == 0 {
		return dst[:start], fmt.Errorf("%w: empty GETINFO reply", ErrProtocol)
	}
	var value []byte
	switch l := rep.Lines[0]; {
	case l.Sep != '+':
		// None ("250-conn/all=") or one line, in the reply's first line.
		value = []byte(strings.TrimPrefix(l.Text, "conn/all="))
	case l.Data != nil:
		value = l.Data // a block the reader kept (its sink was not yet set)
	}
	entries, err := DecodeConnAll(value)
	if err != nil {
		return dst[:start], err
	}
	return append(dst, entries...), nil
}

// DecodeConnAll decodes a conn/all value: its lines, by format.Parse.
func DecodeConnAll(value []byte) ([]connstate.Entry, error) {
	if len(value) == 0 {
		return nil, nil
	}
	d := newDecoder()
	defer d.release()
	for line := range bytes.SplitSeq(value, []byte{'\n'}) {
		d.line(line)
	}
	return d.appendTo(nil)
}

// Subscribe asks for events by name, as SETEVENTS does (replacing the
// last set); they arrive on [Conn.Events].
func (c *Conn) Subscribe(ctx context.Context, names ...string) error {
	_, err := c.Command(ctx, strings.TrimSpace("SETEVENTS "+strings.Join(names, " ")))
	return err
}

// authenticate reads PROTOCOLINFO and authenticates.
func (c *Conn) authenticate(ctx context.Context, opts Options) error {
	rep, err := c.Command(ctx, "PROTOCOLINFO 1")
	if err != nil {
		return fmt.Errorf("%w: PROTOCOLINFO: %w", ErrAuth, err)
	}
	var methods []string
	cookieFile := opts.CookieFile
	for _, l := range rep.Lines {
		rest, ok := strings.CutPrefix(l.Text, "AUTH METHODS=")
		if !ok {
			continue
		}
		list, after, _ := strings.Cut(rest, " ")
		methods = strings.Split(list, ",")
		if f, ok := strings.CutPrefix(after, "COOKIEFILE="); ok && cookieFile == "" {
			if v, _, ok := protocol.Unquote(f); ok {
				cookieFile = v
			}
		}
	}
	has := func(m string) bool {
		for _, x := range methods {
			if x == m {
				return true
			}
		}
		return false
	}
	var cookie []byte
	if (has("SAFECOOKIE") || has("COOKIE")) && cookieFile != "" {
		cookie, err = os.ReadFile(cookieFile)
		if err == nil && len(cookie) != protocol.CookieLen {
			err = fmt.Errorf("%s holds %d bytes, not a %d-byte cookie", cookieFile, len(cookie), protocol.CookieLen)
		}
		if err != nil && opts.Password == "" {
			return fmt.Errorf("%w: the server wants its cookie: %w", ErrAuth, err)
		}
	}
	switch {
	case cookie != nil && err == nil && has("SAFECOOKIE"):
		return c.safeCookie(ctx, cookie)
	case cookie != nil && err == nil && has("COOKIE"):
		return c.auth(ctx, "AUTHENTICATE "+hex.EncodeToString(cookie))
	case opts.Password != "" && has("HASHEDPASSWORD"):
		return c.auth(ctx, "AUTHENTICATE "+quote(opts.Password))
	case has("NULL"):
		return c.auth(ctx, "AUTHENTICATE")
	case has("HASHEDPASSWORD"):
		return fmt.Errorf("%w: the server wants a password (-password, or CONNINFO_PASSWORD)", ErrAuth)
	}
	return fmt.Errorf("%w: no method offered (%v) that can be used", ErrAuth, methods)
}

func (c *Conn) auth(ctx context.Context, line string) error {
	if _, err := c.Command(ctx, line); err != nil {
		return fmt.Errorf("%w: %w", ErrAuth, err)
	}
	return nil
}

// quote writes s as a QuotedString.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// safeCookie runs the SAFECOOKIE exchange, checking the server's hash.
func (c *Conn) safeCookie(ctx context.Context, cookie []byte) error {
	nonce := make([]byte, 32)
	rand.Read(nonce)
	rep, err := c.Command(ctx, "AUTHCHALLENGE SAFECOOKIE "+hex.EncodeToString(nonce))
	if err != nil {
		return fmt.Errorf("%w: AUTHCHALLENGE: %w", ErrAuth, err)
	}
	var serverHash, serverNonce []byte
	for _, f := range strings.Fields(rep.Lines[0].Text) {
		if v, ok := strings.CutPrefix(f, "SERVERHASH="); ok {
			serverHash, _ = hex.DecodeString(v)
		}
		if v, ok := strings.CutPrefix(f, "SERVERNONCE="); ok {
			serverNonce, _ = hex.DecodeString(v)
		}
	}
	mac := func(key string) []byte {
		m := hmac.New(sha256.New, []byte(key))
		m.Write(cookie)
		m.Write(nonce)
		m.Write(serverNonce)
		return m.Sum(nil)
	}
	if serverNonce == nil || !hmac.Equal(serverHash, mac("Tor safe cookie authentication server-to-controller hash")) {
		return fmt.Errorf("%w: the server's SAFECOOKIE hash is wrong: it does not hold this cookie", ErrAuth)
	}
	return c.auth(ctx, "AUTHENTICATE "+hex.EncodeToString(mac("Tor safe cookie authentication controller-to-server hash")))
}

// readReply reads one reply: lines up to the one whose separator is a
// space, data blocks dot-decoded. The first "conn/all=" data block of a
// reply that is not an event goes to take() if it returns a sink, and
// sunk says so.
func readReply(r *bufio.Reader, take func() func([]byte)) (rep Reply, sunk bool, err error) {
	for {
		line, err := readLine(r)
		if err != nil {
			return rep, sunk, err
		}
		if len(line) < 4 || !isDigits(line[:3]) {
			return rep, sunk, fmt.Errorf("%w: line %q", ErrProtocol, line)
		}
		code, _ := strconv.Atoi(string(line[:3]))
		l := Line{Code: code, Sep: line[3], Text: string(line[4:])}
		switch l.Sep {
		case ' ':
			rep.Lines = append(rep.Lines, l)
			return rep, sunk, nil
		case '-':
		case '+':
			var f func([]byte)
			if code != 650 && !sunk && l.Text == "conn/all=" {
				f = take()
			}
			if f != nil {
				err, sunk = readDataTo(r, f), true
			} else {
				l.Data, err = readData(r)
			}
			if err != nil {
				return rep, sunk, err
			}
		default:
			return rep, sunk, fmt.Errorf("%w: line %q", ErrProtocol, line)
		}
		rep.Lines = append(rep.Lines, l)
	}
}

// MaxLine is the longest reply line the client reads (16 MiB): a server
// that sends a longer one is not a control port.
const MaxLine = 16 << 20

// readLine reads a line without its CR LF; the slice is valid until the
// next read.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		long := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(long) > MaxLine {
				return nil, fmt.Errorf("%w: a line longer than %d bytes", ErrProtocol, MaxLine)
			}
			line, err = r.ReadSlice('\n')
			long = append(long, line...)
		}
		line = long
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte{'\r'})
	return line, nil
}

// readDataTo reads a data block up to its "." line, and gives each line,
// its leading-dot escape undone, to sink.
func readDataTo(r *bufio.Reader, sink func([]byte)) error {
	for {
		line, err := readLine(r)
		if err != nil {
			return err
		}
		if len(line) == 1 && line[0] == '.' {
			return nil
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		sink(line)
	}
}

// readData reads a data block up to its "." line, undoing the leading-dot
// escape, its lines joined by "\n".
func readData(r *bufio.Reader) ([]byte, error) {
	var data []byte
	first := true
	err := readDataTo(r, func(line []byte) {
		if !first {
			data = append(data, '\n')
		}
		data = append(data, line...)
		first = false
	})
	return data, err
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
