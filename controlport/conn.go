package controlport

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/events"
	"github.com/conninfo/conninfo/getinfo"
)

// conn is one controller's connection.
type conn struct {
	s  *Server
	nc net.Conn
	lr *protocol.LineReader
	bw *bufio.Writer
	rc *connstate.Conn // the controller in the registry, if any

	closing   atomic.Bool  // set by interrupt: stop after the command in hand
	authed    atomic.Bool  // read by the server too, to choose who gives way
	arrived   int64        // Server.since when it was made, by the kernel's account where it keeps one
	heard     atomic.Int64 // Server.since when its goroutine last read bytes before authenticating; 0 for none
	firstLine atomic.Int64 // Server.since when its goroutine first read a line's end before authenticating; 0 for none
	progress  atomic.Int64 // Server.since at its last step before authenticating (see giveWay); 0 for none
	wasted    atomic.Int32 // commands before authenticating that failed to parse
	reading   atomic.Bool  // blocked reading the peer, all it sent consumed
	sess      *protocol.Session
	// wmu is held while a reply or events are written to bw, so that
	// events go between replies, never inside one.
	wmu        sync.Mutex
	sub        *events.Subscription // after the first SETEVENTS asking for an event, with Config.Events
	eventsDone chan struct{}        // closed to stop the events writer
	eventsWG   sync.WaitGroup       // the events writer
	out        []byte               // the reply being built, reused between commands
	keys       []string
	replies    getinfo.ReplyWriter // keeps its buffers between GETINFOs
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
	c.lr = protocol.NewLineReader(watchedReader{rw, c})
	c.lr.OnRead = protocol.PreAuthCheck
	c.sess = protocol.NewSession(s.auth)
	c.sess.Admit = c.admit
	c.sess.OnStep = c.stepped
	c.sess.OnBadArgs = c.failedToParse
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
		line, err := c.lr.ReadLine()
		if err != nil {
			c.refuse(err)
			return
		}
		cmd, args := protocol.SplitCommand(line)
		if strings.HasPrefix(cmd, "+") {
			// No multi-line command is supported, but tor reads the data
			// before refusing.
			if err := c.lr.SkipData(len(line) + 1); err != nil {
				c.refuse(err)
				return
			}
		}
		c.wmu.Lock()
		keepOpen := c.dispatch(cmd, args)
		sent := true
		if !keepOpen || !c.lr.Buffered() {
			sent = c.flush()
		}
		c.wmu.Unlock()
		if !keepOpen || !sent {
			return
		}
	}
	c.wmu.Lock()
	c.flush() // shutting down: send what the last command answered
	c.wmu.Unlock()
}

// startEvents subscribes the controller to pub's events and starts the
// goroutine that writes them between replies.
func (c *conn) startEvents(pub *events.Publisher) {
	c.sub = pub.Subscribe()
	c.eventsDone = make(chan struct{})
	c.eventsWG.Add(1)
	go func() {
		defer c.eventsWG.Done()
		var buf []byte
		for {
			select {
			case <-c.eventsDone:
				return
			case <-c.sub.Ready():
			}
			c.wmu.Lock()
			buf = c.sub.AppendPending(buf[:0])
			c.bw.Write(buf)
			ok := c.flush()
			c.wmu.Unlock()
			if !ok {
				c.interrupt() // the controller is gone or stuck: end the connection
				return
			}
		}
	}()
}

// refuse answers a read that ended the connection: tor's answers to an
// over-long line, an HTTP request and the v0 protocol, or nothing for an
// EOF, a timeout before authenticating or a shutdown.
func (c *conn) refuse(err error) {
	if b := protocol.Refusal(err); b != nil {
		c.wmu.Lock()
		c.bw.Write(b)
		c.flush()
		c.wmu.Unlock()
	}
}

func (c *conn) close() {
	c.nc.Close()
	if c.sub != nil {
		close(c.eventsDone)
		c.eventsWG.Wait()
		c.sub.Close()
	}
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
	out, outcome := c.sess.Handle(c.out[:0], cmd, args)
	c.bw.Write(out)
	c.out = out[:0]
	switch outcome {
	case protocol.Close:
		return false
	case protocol.Continue:
		return true
	case protocol.Authenticated:
		c.lr.OnRead = nil
		if !c.closing.Load() { // a shutdown's deadline stays
			c.nc.SetReadDeadline(time.Time{})
		}
		return true
	}
	switch upper := protocol.Upper(cmd); upper {
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
	default:
		if f, ok := c.s.commands[upper]; ok {
			c.runCommand(f, args)
			return true
		}
	}
	c.bw.Write(protocol.AppendUnrecognized(c.out[:0], cmd))
	return true
}

// admit is the session's Admit: the limit on authenticated controllers.
func (c *conn) admit() (refusal string, ok bool) {
	switch ok, full := c.s.promote(c); {
	case full:
		return "451 Resource exhausted: too many controllers", false
	case !ok:
		return "", false // it gave way to a newer connection meanwhile
	}
	return "", true
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
