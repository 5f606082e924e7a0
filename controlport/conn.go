package controlport

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
)

// conn is one controller's connection.
type conn struct {
	s  *Server
	nc net.Conn
	lr *lineReader
	bw *bufio.Writer
	rc *connstate.Conn // the controller in the registry, if any

	closing          atomic.Bool  // set by interrupt: stop after the command in hand
	authed           atomic.Bool  // read by the server too, to choose who gives way
	arrived          int64        // Server.since when it was made, by the kernel's account where it keeps one
	heard            atomic.Int64 // Server.since when its goroutine last read bytes before authenticating; 0 for none
	firstLine        atomic.Int64 // Server.since when its goroutine first read a line's end before authenticating; 0 for none
	progress         atomic.Int64 // Server.since at its last step before authenticating (see giveWay); 0 for none
	wasted           atomic.Int32 // commands before authenticating that failed to parse
	reading          atomic.Bool  // blocked reading the peer, all it sent consumed
	sentProtocolInfo bool
	clientHash       []byte // after AUTHCHALLENGE: the response AUTHENTICATE must carry
	keys             []string
	replies          getinfo.ReplyWriter // keeps its buffers between GETINFOs
}

func (s *Server) newConn(nc net.Conn, arrived int64) *conn {
	c := &conn{s: s, nc: nc, arrived: arrived}
	rw := net.Conn(nc)
	if s.cfg.Registry != nil {
		if rc := s.register(nc); rc != nil {
			c.rc = rc
			rw = countingConn{Conn: nc, rc: rc}
		}
	}
	c.replies.OnInternalError = func(e *getinfo.Error) {
		s.log.Warn("controlport: GETINFO failed", "key", e.Key, "reply", e.Text, "err", e.Err)
	}
	c.lr = newLineReader(watchedReader{rw, c})
	c.lr.onRead = preAuthCheck
	c.bw = bufio.NewWriterSize(deadlineWriter{rw, s.cfg.WriteTimeout}, 32<<10)
	return c
}

// register records a TCP controller in the registry as an 'IXt' connection.
func (s *Server) register(nc net.Conn) *connstate.Conn {
	remote, _ := nc.RemoteAddr().(*net.TCPAddr)
	local, _ := nc.LocalAddr().(*net.TCPAddr)
	if remote == nil || local == nil {
		return nil
	}
	ap := remote.AddrPort()
	rc, err := s.cfg.Registry.Open(connstate.ConnConfig{
		Direction:   connstate.Inbound,
		Usage:       connstate.UsageControl,
		Network:     connstate.NetworkOutside,
		Remote:      netip.AddrPortFrom(ap.Addr(), ap.Port()),
		LocalPort:   uint16(local.Port),
		Established: true,
	})
	if err != nil {
		s.log.Warn("controlport: registering controller", "err", err)
		return nil
	}
	return rc
}

// interrupt wakes a connection blocked reading, and makes it end after the
// command it is answering, even if more commands are already buffered.
func (c *conn) interrupt() {
	c.closing.Store(true)
	c.nc.SetReadDeadline(time.Now())
}

func (c *conn) serve() {
	defer c.close()
	c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.AuthTimeout))
	for !c.closing.Load() {
		line, err := c.lr.readLine()
		if err != nil {
			c.refuse(err)
			return
		}
		cmd, args := splitCommand(line)
		if strings.HasPrefix(cmd, "+") && !c.skipData(len(line)+1) {
			return
		}
		keepOpen := c.dispatch(cmd, args)
		if !keepOpen || !c.lr.complete() {
			if !c.flush() {
				return
			}
		}
		if !keepOpen {
			return
		}
	}
	c.flush() // shutting down: send what the last command answered
}

// refuse answers a read that ended the connection: tor's answers to an
// over-long line, an HTTP request and the v0 protocol, or nothing for an
// EOF, a timeout before authenticating or a shutdown.
func (c *conn) refuse(err error) {
	switch {
	case errors.Is(err, errLineTooLong):
		c.reply("500 Line too long.")
	case errors.Is(err, errHTTP):
		c.bw.WriteString(httpRefusal)
	case errors.Is(err, errV0):
		c.bw.WriteString(v0Refusal)
	default:
		return
	}
	c.flush()
}

// skipData reads and discards a multi-line command's data, up to its "."
// line: no multi-line command is supported, but tor reads the data before
// refusing, and counts the whole command, its first line's n bytes
// included, against the line limit. It reports whether the connection is
// still usable.
func (c *conn) skipData(n int) bool {
	for {
		line, err := c.lr.readLine()
		if err != nil {
			c.refuse(err)
			return false
		}
		if n += len(line) + 1; n >= MaxLineLength {
			c.refuse(errLineTooLong)
			return false
		}
		if string(line) == "." || string(line) == ".\r" {
			return true
		}
	}
}

func (c *conn) close() {
	c.nc.Close()
	if c.rc != nil {
		c.rc.Close()
	}
}

// flush sends what is buffered; false if the controller is gone or stuck.
func (c *conn) flush() bool {
	if err := c.bw.Flush(); err != nil {
		c.s.log.Info("controlport: write", "remote", c.nc.RemoteAddr(), "err", err)
		return false
	}
	return true
}

// reply writes one line, adding CR LF.
func (c *conn) reply(line string) {
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
}

// dispatch answers one command and reports whether the connection stays open.
func (c *conn) dispatch(cmd, args string) bool {
	upper := upperASCII(cmd) // tor matches with strcasecmp: ASCII only
	if !c.authed.Load() && !c.validBeforeAuth(upper) {
		c.reply("514 Authentication required.")
		return false
	}
	switch upper {
	case "QUIT":
		c.reply("250 closing connection")
		return false
	case "PROTOCOLINFO":
		return c.protocolInfo(args)
	case "AUTHCHALLENGE":
		return c.authChallenge(cmd, args)
	case "AUTHENTICATE":
		return c.authenticate(cmd, args)
	case "GETINFO":
		c.keys = getinfo.AppendSplitKeys(c.keys[:0], args)
		err := c.replies.Write(c.bw, c.s.cfg.Mux, c.keys)
		if cap(c.keys) > 1024 {
			c.keys = nil // a huge request's keys would keep its line alive
		}
		return err == nil
	case "SETEVENTS":
		return c.setEvents(args)
	case "GETCONF":
		return c.getConf(args)
	case "USEFEATURE":
		return c.useFeature(args)
	case "SETROUTERPURPOSE":
		c.reply("511 SETROUTERPURPOSE is obsolete.")
		return true
	}
	c.reply(echo("510 Unrecognized command ", cmd))
	return true
}

// validBeforeAuth is tor's list of commands allowed before authentication.
func (c *conn) validBeforeAuth(upper string) bool {
	switch upper {
	case "AUTHENTICATE", "QUIT":
		return true
	case "PROTOCOLINFO":
		return !c.sentProtocolInfo && c.clientHash == nil
	case "AUTHCHALLENGE":
		return c.clientHash == nil
	}
	return false
}

// authChallenge answers AUTHCHALLENGE SAFECOOKIE <nonce>, checking in tor's
// order; every failure but a parse error closes the connection.
func (c *conn) authChallenge(cmd, raw string) bool {
	a, err := parseArgs(raw, 1)
	if err != nil {
		c.reply("512 Bad arguments to " + cmd + ": " + err.Error())
		c.failedToParse()
		return true
	}
	switch {
	case !equalFoldASCII(a.positional[0], "SAFECOOKIE"):
		c.reply("513 AUTHCHALLENGE only supports SAFECOOKIE authentication")
		return false
	case c.s.cookie == nil:
		c.reply("515 Cookie authentication is disabled")
		return false
	case len(a.kwargs) != 1:
		c.reply("512 Wrong number of arguments for AUTHCHALLENGE")
		return false
	case a.kwargs[0].key != "":
		c.reply("512 AUTHCHALLENGE does not accept keyword arguments.")
		return false
	}
	clientNonce := []byte(a.kwargs[0].value)
	if !strings.Contains(raw, `"`) {
		var err error
		if clientNonce, err = hex.DecodeString(a.kwargs[0].value); err != nil {
			c.reply("513 Invalid base16 client nonce")
			return false
		}
	}
	serverNonce := c.s.nonce(32)
	serverHash := safeCookieHash(serverToControllerKey, c.s.cookie, clientNonce, serverNonce)
	c.clientHash = safeCookieHash(controllerToServerKey, c.s.cookie, clientNonce, serverNonce)
	c.reply("250 AUTHCHALLENGE SERVERHASH=" + strings.ToUpper(hex.EncodeToString(serverHash)) +
		" SERVERNONCE=" + strings.ToUpper(hex.EncodeToString(serverNonce)))
	c.stepped()
	return true
}

const invalidHex = "551 Invalid hexadecimal encoding.  Maybe you tried a plain text password?  If so, the standard requires that you put it in double quotes."

// authenticate answers AUTHENTICATE [secret], as tor chooses between the
// methods and words its failures. Every failure but a parse error closes
// the connection, even an authenticated one.
func (c *conn) authenticate(cmd, raw string) bool {
	a, err := parseArgs(raw, 0)
	if err != nil {
		c.reply("512 Bad arguments to " + cmd + ": " + err.Error())
		c.failedToParse()
		return true
	}
	var secret []byte
	quoted := strings.Contains(raw, `"`)
	switch {
	case len(a.kwargs) > 1:
		c.reply("512 Too many arguments to AUTHENTICATE.")
		return false
	case len(a.kwargs) == 1 && a.kwargs[0].key != "":
		c.reply("512 AUTHENTICATE does not accept keyword arguments.")
		return false
	case len(a.kwargs) == 1 && quoted:
		secret = []byte(a.kwargs[0].value)
	case len(a.kwargs) == 1:
		if secret, err = hex.DecodeString(a.kwargs[0].value); err != nil {
			c.reply(invalidHex)
			return false
		}
	}
	if reason := c.checkSecret(secret, quoted); reason != "" {
		c.reply("515 Authentication failed: " + reason)
		return false
	}
	c.clientHash = nil // used up: tor checks a later AUTHENTICATE afresh
	if !c.authed.Load() {
		switch ok, full := c.s.promote(c); {
		case full:
			c.reply("451 Resource exhausted: too many controllers")
			return false
		case !ok:
			return false // it gave way to a newer connection meanwhile
		}
	}
	c.lr.onRead = nil
	if !c.closing.Load() { // a shutdown's deadline stays
		c.nc.SetReadDeadline(time.Time{})
	}
	c.reply("250 OK")
	return true
}

// checkSecret returns "" if secret authenticates, or tor's reason why not.
func (c *conn) checkSecret(secret []byte, quoted bool) string {
	s := c.s
	if c.clientHash != nil {
		switch {
		case len(secret) != len(c.clientHash):
			return "Wrong length for safe cookie response."
		case subtle.ConstantTimeCompare(secret, c.clientHash) != 1:
			return "Safe cookie response did not match expected value."
		}
		return ""
	}
	if s.cfg.NullAuth {
		return ""
	}
	cookieReason := ""
	if s.cookie != nil {
		switch {
		case len(secret) != CookieLen:
			cookieReason = "Wrong length on authentication cookie."
		case subtle.ConstantTimeCompare(secret, s.cookie) != 1:
			cookieReason = "Authentication cookie did not match expected value."
		default:
			return ""
		}
	}
	for _, p := range s.passwords {
		if p.Matches(secret) {
			return ""
		}
	}
	switch {
	case s.cookie != nil && len(s.passwords) > 0:
		return "Password did not match HashedControlPassword *or* authentication cookie."
	case len(s.passwords) > 0 && !quoted:
		return "Password did not match HashedControlPassword value from configuration. Maybe you tried a plain text password? If so, the standard requires that you put it in double quotes."
	case len(s.passwords) > 0:
		return "Password did not match HashedControlPassword value from configuration"
	}
	return cookieReason
}

// watchedReader tells the server, for the choice of who gives way, when a
// connection's goroutine waits for its peer with all it sent consumed, and
// when it last read bytes before authenticating.
type watchedReader struct {
	r io.Reader
	c *conn
}

func (w watchedReader) Read(p []byte) (int, error) {
	w.c.reading.Store(true)
	n, err := w.r.Read(p)
	if n > 0 && !w.c.authed.Load() {
		// Stored at once, before the line is handled: the choice of who
		// gives way then sees a command on its way to a step.
		now := w.c.s.since()
		if w.c.firstLine.Load() == 0 && bytes.IndexByte(p[:n], '\n') >= 0 {
			w.c.firstLine.Store(now)
		}
		w.c.heard.Store(now)
	}
	w.c.reading.Store(false)
	return n, err
}

// stepped records a step before authenticating: PROTOCOLINFO, or an
// AUTHCHALLENGE answered.
func (c *conn) stepped() {
	if !c.authed.Load() {
		c.progress.Store(c.s.since())
	}
}

// failedToParse records a command refused with 512 before authenticating.
func (c *conn) failedToParse() {
	if !c.authed.Load() {
		c.wasted.Add(1)
	}
}
