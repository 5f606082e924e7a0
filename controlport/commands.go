package controlport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/cescape"
)

// protocolInfo answers PROTOCOLINFO [version ...]. Each argument must be a
// decimal number, as tor requires; the answer is always version 1.
func (c *conn) protocolInfo(args string) bool {
	for _, v := range getinfo.SplitKeys(args) {
		if !isDecimal(v) {
			c.reply(string(cescape.AppendQuoted([]byte("513 No such version "), v)))
			return c.authed.Load() // before authentication tor closes
		}
	}
	s := c.s
	var b []byte
	b = append(b, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS="...)
	var methods []string
	if s.cookie != nil {
		methods = append(methods, "COOKIE", "SAFECOOKIE")
	}
	if len(s.passwords) > 0 {
		methods = append(methods, "HASHEDPASSWORD")
	}
	if len(methods) == 0 {
		methods = append(methods, "NULL")
	}
	b = append(b, strings.Join(methods, ",")...)
	if s.cookie != nil {
		b = cescape.AppendQuoted(append(b, " COOKIEFILE="...), s.cookiePath)
	}
	b = cescape.AppendQuoted(append(b, "\r\n250-VERSION Tor="...), s.cfg.Version)
	b = append(b, "\r\n250 OK\r\n"...)
	c.bw.Write(b)
	c.sentProtocolInfo = true
	c.stepped()
	return true
}

// isDecimal accepts what tor's strtol-based parse of a version does: an
// optional sign and decimal digits, from 0 to LONG_MAX.
func isDecimal(s string) bool {
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n >= 0
}

// eventNames and featureNames are tor 0.4.9.11's, in its order.
const (
	eventNames   = "CIRC CIRC_MINOR STREAM ORCONN BW DEBUG INFO NOTICE WARN ERR NEWDESC ADDRMAP DESCCHANGED NS STATUS_GENERAL STATUS_CLIENT STATUS_SERVER GUARD STREAM_BW CLIENTS_SEEN NEWCONSENSUS BUILDTIMEOUT_SET SIGNAL CONF_CHANGED CONN_BW CELL_STATS CIRC_BW TRANSPORT_LAUNCHED HS_DESC HS_DESC_CONTENT NETWORK_LIVENESS"
	featureNames = "VERBOSE_NAMES EXTENDED_EVENTS"
)

func inList(list, name string) bool {
	for _, n := range strings.Fields(list) {
		if equalFoldASCII(n, name) {
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

// setEvents accepts tor's event names and sends no events: the harness has
// none to send. An unknown name gets tor's 552.
func (c *conn) setEvents(args string) bool {
	for _, e := range getinfo.SplitKeys(args) {
		// tor accepts and ignores EXTENDED and the obsolete AUTHDIR_NEWDESCS.
		if !equalFoldASCII(e, "EXTENDED") && !equalFoldASCII(e, "AUTHDIR_NEWDESCS") && !inList(eventNames, e) {
			c.reply(echo("552 Unrecognized event ", e))
			return true
		}
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

// getConf knows one option, the one stem asks for after authenticating;
// it is unset here, so tor's answer names it without a value.
func (c *conn) getConf(args string) bool {
	keys := getinfo.SplitKeys(args)
	var unknown []string
	for _, k := range keys {
		if !equalFoldASCII(k, "__OwningControllerProcess") {
			unknown = append(unknown, echo("Unrecognized configuration key ", k))
		}
	}
	switch {
	case len(unknown) > 0:
		c.bw.Write(getinfo.AppendStatusReply(nil, 552, unknown...))
	case len(keys) == 0:
		c.reply("250 OK")
	default:
		values := make([]string, len(keys))
		for i := range values {
			values[i] = "__OwningControllerProcess"
		}
		c.bw.Write(getinfo.AppendStatusReply(nil, 250, values...))
	}
	return true
}

// registerKeys adds the keys tor answers about itself to the Mux, but
// those the host's Mux answers already: the host's own version, say.
func (s *Server) registerKeys() {
	keys := []struct{ key, doc, value string }{
		{"version", "The version this server reports, in tor's format.", s.cfg.Version},
		{"events/names", "Event names SETEVENTS accepts (no events are sent).", eventNames},
		{"features/names", "Feature names USEFEATURE accepts.", featureNames},
	}
	m := s.cfg.Mux
	held := map[string]bool{}
	for _, n := range m.Names() {
		if !n.Prefix {
			held[n.Key] = true
		}
	}
	for _, k := range keys {
		if held[k.key] {
			continue // the host's answer stands
		}
		value := k.value
		m.HandleFunc(k.key, k.doc, func(dst []byte, _ string) ([]byte, error) { return append(dst, value...), nil })
	}
}

// httpMethods are the request lines tor refuses with its HTTP page.
var httpMethods = []string{"GET ", "POST ", "PUT ", "DELETE ", "CONNECT "}

var (
	errHTTP = errors.New("controlport: an HTTP request")
	errV0   = errors.New("controlport: the v0 control protocol")
)

// preAuthCheck is what tor looks for in its unprocessed input each time
// bytes arrive before authentication, without waiting for a line end: an
// HTTP request, or a v0 protocol header (a big-endian body type of 0x14 or
// less in bytes 2 and 3; text never has that).
func preAuthCheck(head []byte) error {
	for _, m := range httpMethods {
		if bytes.HasPrefix(head, []byte(m)) {
			return errHTTP
		}
	}
	if len(head) >= 4 && binary.BigEndian.Uint16(head[2:4]) <= 0x14 {
		return errV0
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

// equalFoldASCII is tor's strcasecmp: it folds ASCII letters only, so that
// "ſ" is not "s" and "ı" is not "i", as strings.EqualFold would have them.
func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// upperASCII upper-cases ASCII letters only.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
