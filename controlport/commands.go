package controlport

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/events"
	"github.com/conninfo/conninfo/getinfo"
)

// A Command answers one command a host adds to the server
// ([Config.Commands]). It is given the command's arguments, everything
// after the command word and one whitespace byte (as
// [protocol.SplitCommand] cuts them) without the line's CR, and appends its whole reply to dst,
// each line ending in CR LF: for example "250 OK\r\n", or
// "552 Unrecognized signal\r\n" ([getinfo.AppendStatusReply] frames a
// reply of several lines). A reply that is empty or not so framed is
// replaced by "551 Internal error", since a controller would lose track
// of the replies after it. It is called from the controller's goroutine,
// so from several at once.
type Command func(dst []byte, args string) []byte

// builtinCommands are the commands the server answers itself.
var builtinCommands = []string{"QUIT", "PROTOCOLINFO", "AUTHCHALLENGE", "AUTHENTICATE", "GETINFO", "SETEVENTS", "GETCONF", "USEFEATURE", "SETROUTERPURPOSE"}

// takeCommands checks and keeps the host's commands.
func (s *Server) takeCommands(cmds map[string]Command) error {
	s.commands = make(map[string]Command, len(cmds))
	for name, f := range cmds {
		upper := protocol.Upper(name)
		switch cmd, args := protocol.SplitCommand([]byte(name)); {
		case name == "" || cmd != name || args != "" || strings.HasPrefix(name, "+"):
			return fmt.Errorf("%w: command %q is not a single command word", ErrConfig, name)
		case slices.Contains(builtinCommands, upper):
			return fmt.Errorf("%w: command %q is the server's own", ErrConfig, name)
		case f == nil:
			return fmt.Errorf("%w: command %q has no function", ErrConfig, name)
		}
		if _, dup := s.commands[upper]; dup {
			return fmt.Errorf("%w: command %q given twice", ErrConfig, name)
		}
		s.commands[upper] = f
	}
	return nil
}

// runCommand answers a host's command, replacing a reply that is not
// framed as the control protocol frames replies.
func (c *conn) runCommand(f Command, args string) {
	start := len(c.out)
	c.out = f(c.out, strings.TrimSuffix(args, "\r"))
	if !framedReply(c.out[start:]) {
		c.s.log.Warn("controlport: a host command's reply is not framed; sent 551 instead", "reply", c.out[start:])
		c.out = append(c.out[:start], "551 Internal error\r\n"...)
	}
	c.bw.Write(c.out)
	c.out = c.out[:0]
}

// framedReply reports whether b is one whole reply: lines "NNN-text" or
// "NNN+text" (the latter followed by data up to a "." line), ending with
// one "NNN text", all with the same code and CR LF.
func framedReply(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	var code string
	for len(b) > 0 {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 4 {
			return false
		}
		line := b[:i]
		b = b[i+2:]
		if code == "" {
			code = string(line[:3])
		}
		if string(line[:3]) != code || code[0] < '1' || code[0] > '6' || !isDigits(code) {
			return false
		}
		switch line[3] {
		case ' ':
			return len(b) == 0
		case '-':
		case '+':
			for {
				j := bytes.Index(b, []byte("\r\n"))
				if j < 0 {
					return false
				}
				data := b[:j]
				b = b[j+2:]
				if string(data) == "." {
					break
				}
			}
		default:
			return false
		}
	}
	return false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// featureNames are tor 0.4.9.11's, in its order.
const featureNames = "VERBOSE_NAMES EXTENDED_EVENTS"

func inList(list, name string) bool {
	for _, n := range strings.Fields(list) {
		if protocol.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// echo quotes a word from the controller in an error line, escaping it if
// it holds a control byte (the documented departure from tor).
func echo(prefix, word string) string {
	return prefix + `"` + string(getinfo.AppendEscapedKey(nil, word)) + `"`
}

// setEvents answers SETEVENTS: tor's 552 for an unknown name, else the
// new set, which replaces the last, and 250 OK. Without Config.Events the
// names are accepted and no event is sent.
func (c *conn) setEvents(args string) bool {
	set, unknown := events.ParseSet(getinfo.SplitKeys(args))
	if unknown != "" {
		c.reply(echo("552 Unrecognized event ", unknown))
		return true
	}
	if pub := c.s.cfg.Events; pub != nil {
		if c.sub == nil {
			if set == 0 {
				c.reply("250 OK")
				return true
			}
			c.startEvents(pub)
		}
		c.sub.Set(set)
	}
	c.reply("250 OK")
	return true
}

// useFeature accepts tor's feature names.
func (c *conn) useFeature(args string) bool {
	for _, f := range getinfo.SplitKeys(args) {
		if !inList(featureNames, f) {
			c.reply(echo("552 Unrecognized feature ", f))
			return true
		}
	}
	c.reply("250 OK")
	return true
}

// getConf answers GETCONF from Config.Options: without it, only
// __OwningControllerProcess, unset, which stem asks for on connecting.
func (c *conn) getConf(args string) bool {
	c.out = c.s.cfg.Options.AppendGetConf(c.out[:0], getinfo.SplitKeys(args))
	c.bw.Write(c.out)
	c.out = c.out[:0]
	return true
}

// registerKeys adds the keys tor answers about itself to the Mux, but
// those the host's Mux answers already: the host's own version, say.
func (s *Server) registerKeys() {
	keys := []struct{ key, doc, value string }{
		{"version", "The version this server reports, in tor's format.", s.cfg.Version},
		{"events/names", "Event names SETEVENTS accepts.", events.Names},
		{"features/names", "Feature names USEFEATURE accepts.", featureNames},
	}
	m := s.cfg.Mux
	held := map[string]bool{}
	for _, n := range m.Names() {
		if !n.Prefix {
			held[n.Key] = true
		}
	}
	if s.cfg.Options != nil && !held["config/names"] && !held["config-text"] {
		s.cfg.Options.Register(m)
	}
	for _, k := range keys {
		if held[k.key] {
			continue // the host's answer stands
		}
		value := k.value
		m.HandleFunc(k.key, k.doc, func(dst []byte, _ string) ([]byte, error) { return append(dst, value...), nil })
	}
}

// deadlineWriter gives every write to the controller its own deadline, so a
// long reply to a reading controller never times out, but a controller
// that stops reading is cut off.
type deadlineWriter struct {
	nc      net.Conn
	timeout time.Duration
}

func (w deadlineWriter) Write(p []byte) (int, error) {
	w.nc.SetWriteDeadline(time.Now().Add(w.timeout))
	return w.nc.Write(p)
}

// countingConn counts a controller's bytes on its registry entry.
type countingConn struct {
	net.Conn
	rc *connstate.Conn
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.rc.AddRead(uint64(n))
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.rc.AddWritten(uint64(n))
	return n, err
}
