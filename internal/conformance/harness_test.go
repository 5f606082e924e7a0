package conformance_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/tortest"
	"github.com/stretchr/testify/require"
)

// endpoint is one control port under test: tor's or ours.
type endpoint struct {
	addr       string
	cookie     []byte
	cookiePath string
}

// Reading a reply: it is complete when no byte arrives for replyQuiet after
// the last one, or when the server closes the connection. The first byte may
// take up to replyFirst (a 1 MiB line takes tor a moment).
const (
	replyFirst   = 2 * time.Second
	replyQuiet   = 300 * time.Millisecond
	writeTimeout = 10 * time.Second
	dialTimeout  = 5 * time.Second
	// concurrency bounds the sessions run at once: about this many on each side.
	concurrency = 16
)

// The SAFECOOKIE HMAC keys, fixed by the control protocol.
const (
	serverToControllerKey = "Tor safe cookie authentication server-to-controller hash"
	controllerToServerKey = "Tor safe cookie authentication controller-to-server hash"
)

// session is a list of byte sequences to send on one fresh connection, each
// followed by reading the reply. A step may hold placeholders, replaced by
// values of the endpoint it is sent to:
//
//	{COOKIEHEX}       the cookie in lower-case hex
//	{COOKIEHEXUPPER}  the cookie in upper-case hex
//	{COOKIEOCTAL}     the cookie as \ooo octal escapes
//	{HMAC}            the SAFECOOKIE response to the last AUTHCHALLENGE, in hex
type session struct {
	name  string
	steps []string
}

// authed prefixes steps with a successful cookie AUTHENTICATE.
func authed(steps ...string) []string {
	return append([]string{"AUTHENTICATE {COOKIEHEX}\r\n"}, steps...)
}

// transcript is what one endpoint answered in one session.
type transcript struct {
	replies [][]byte // normalised; one per step sent
	closed  bool     // the server closed the connection
	notes   []string // SERVERHASH checks
	err     error    // an unexpected failure of the test itself
}

func (tr transcript) equal(o transcript) bool {
	if len(tr.replies) != len(o.replies) || tr.closed != o.closed || !slices.Equal(tr.notes, o.notes) {
		return false
	}
	for i := range tr.replies {
		if !bytes.Equal(tr.replies[i], o.replies[i]) {
			return false
		}
	}
	return true
}

// String renders a transcript for failure messages, long replies shortened.
func (tr transcript) String() string {
	var b strings.Builder
	for i, r := range tr.replies {
		fmt.Fprintf(&b, "\n    reply %d: %s", i+1, abbrev(r))
	}
	if len(tr.notes) > 0 {
		fmt.Fprintf(&b, "\n    notes: %q", tr.notes)
	}
	fmt.Fprintf(&b, "\n    closed: %v", tr.closed)
	return b.String()
}

// abbrev quotes b, eliding the middle of a long one.
func abbrev(b []byte) string {
	const head, tail = 240, 120
	if len(b) <= head+tail+40 {
		return strconv.Quote(string(b))
	}
	return strconv.Quote(string(b[:head])) + fmt.Sprintf("…<%d bytes>…", len(b)-head-tail) + strconv.Quote(string(b[len(b)-tail:]))
}

// firstDifference describes where two transcripts first differ.
func firstDifference(a, b transcript) string {
	for i := range min(len(a.replies), len(b.replies)) {
		x, y := a.replies[i], b.replies[i]
		if bytes.Equal(x, y) {
			continue
		}
		j := 0
		for j < len(x) && j < len(y) && x[j] == y[j] {
			j++
		}
		return fmt.Sprintf("reply %d differs at byte %d: %s vs %s", i+1, j, abbrev(x[j:min(len(x), j+60)]), abbrev(y[j:min(len(y), j+60)]))
	}
	switch {
	case len(a.replies) != len(b.replies):
		return fmt.Sprintf("%d vs %d replies", len(a.replies), len(b.replies))
	case a.closed != b.closed:
		return fmt.Sprintf("closed %v vs %v", a.closed, b.closed)
	}
	return fmt.Sprintf("notes %q vs %q", a.notes, b.notes)
}

// run sends s's steps to ep on a fresh connection and records the replies.
// It stops sending when the server closes the connection.
func run(ep endpoint, s session) transcript {
	var tr transcript
	c, err := net.DialTimeout("tcp", ep.addr, dialTimeout)
	if err != nil {
		tr.err = err
		return tr
	}
	defer c.Close()
	var auth challenge
	for _, step := range s.steps {
		msg, err := expand(step, ep.cookie, &auth)
		if err != nil {
			tr.err = err
			return tr
		}
		closedOnWrite := false
		c.SetWriteDeadline(time.Now().Add(writeTimeout))
		if _, err := c.Write(msg); err != nil {
			if !controlporttest.IsClosed(err) {
				tr.err = fmt.Errorf("write: %w", err)
				return tr
			}
			closedOnWrite = true // a close seen early; the reply may still be readable
		}
		reply, closed, err := readReply(c)
		if err != nil {
			tr.err = err
			return tr
		}
		if note := auth.observe(msg, reply, ep.cookie); note != "" {
			tr.notes = append(tr.notes, note)
		}
		tr.replies = append(tr.replies, normalize(ep, reply))
		if closed || closedOnWrite {
			tr.closed = true
			break
		}
	}
	return tr
}

// readReply reads until the reply is complete (see replyQuiet) and reports
// whether the server closed the connection.
func readReply(c net.Conn) (reply []byte, closed bool, err error) {
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(replyFirst)
	for {
		c.SetReadDeadline(deadline)
		n, err := c.Read(buf)
		reply = append(reply, buf[:n]...)
		if n > 0 {
			deadline = time.Now().Add(replyQuiet)
		}
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			return reply, false, nil
		case controlporttest.IsClosed(err):
			return reply, true, nil
		default:
			return reply, false, fmt.Errorf("read: %w", err)
		}
	}
}

// challenge follows the SAFECOOKIE exchange on one connection, as the test's
// controller: the nonces of the last AUTHCHALLENGE.
type challenge struct {
	clientNonce []byte
	serverNonce []byte
	ok          bool
}

var challengeReply = regexp.MustCompile(`^250 AUTHCHALLENGE SERVERHASH=([0-9A-F]{64}) SERVERNONCE=([0-9A-F]{64})\r\n$`)

// observe notes an AUTHCHALLENGE sent and its reply. When the reply is a
// challenge, it checks SERVERHASH against the client nonce as tor reads it
// and returns a note saying whether it verified.
func (a *challenge) observe(sent, reply []byte, cookie []byte) string {
	line := string(sent)
	if !strings.HasPrefix(strings.ToUpper(line), "AUTHCHALLENGE") {
		return ""
	}
	m := challengeReply.FindSubmatch(reply)
	if m == nil {
		return ""
	}
	nonce, ok := clientNonce(line)
	if !ok {
		return "challenge for a nonce the test cannot read"
	}
	serverHash, _ := hex.DecodeString(string(m[1]))
	serverNonce, _ := hex.DecodeString(string(m[2]))
	*a = challenge{clientNonce: nonce, serverNonce: serverNonce, ok: true}
	if !hmac.Equal(serverHash, safeCookieHMAC(serverToControllerKey, cookie, nonce, serverNonce)) {
		return fmt.Sprintf("SERVERHASH does not verify for client nonce %q", nonce)
	}
	return "SERVERHASH verifies"
}

// clientNonce reads the nonce of "AUTHCHALLENGE SAFECOOKIE <nonce>" as tor
// does: a QuotedString if the arguments hold a double quote (a backslash
// takes the next byte literally: no \n or octal escapes), else hex.
func clientNonce(line string) ([]byte, bool) {
	line = strings.TrimRight(line, "\r\n")
	i := strings.Index(strings.ToUpper(line), "SAFECOOKIE")
	if i < 0 {
		return nil, false
	}
	arg := strings.Trim(line[i+len("SAFECOOKIE"):], " \t")
	if !strings.Contains(arg, `"`) {
		b, err := hex.DecodeString(arg)
		return b, err == nil
	}
	if !strings.HasPrefix(arg, `"`) {
		return []byte(arg), true
	}
	var out []byte
	for j := 1; j < len(arg); j++ {
		switch arg[j] {
		case '\\':
			j++
			if j == len(arg) {
				return nil, false
			}
			out = append(out, arg[j])
		case '"':
			return out, true
		default:
			out = append(out, arg[j])
		}
	}
	return nil, false
}

func safeCookieHMAC(key string, cookie, clientNonce, serverNonce []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(cookie)
	m.Write(clientNonce)
	m.Write(serverNonce)
	return m.Sum(nil)
}

// expand replaces a step's placeholders with the endpoint's values.
func expand(step string, cookie []byte, a *challenge) ([]byte, error) {
	if !strings.Contains(step, "{") {
		return []byte(step), nil
	}
	var octal strings.Builder
	for _, c := range cookie {
		fmt.Fprintf(&octal, `\%03o`, c)
	}
	r := []string{
		"{COOKIEHEX}", hex.EncodeToString(cookie),
		"{COOKIEHEXUPPER}", strings.ToUpper(hex.EncodeToString(cookie)),
		"{COOKIEOCTAL}", octal.String(),
	}
	if strings.Contains(step, "{HMAC}") {
		if !a.ok {
			return nil, fmt.Errorf("step %q: {HMAC} without a challenge", step)
		}
		r = append(r, "{HMAC}", hex.EncodeToString(safeCookieHMAC(controllerToServerKey, cookie, a.clientNonce, a.serverNonce)))
	}
	return []byte(strings.NewReplacer(r...).Replace(step)), nil
}

// Normalisation: only values that legitimately differ between tor and us.
var (
	protocolInfoVersion = regexp.MustCompile(`(?m)^250-VERSION Tor="[^"\r\n]*"\r\n`)
	getinfoVersion      = regexp.MustCompile(`(?m)^250-version=[^\r\n]*\r\n`)
	challengeValues     = regexp.MustCompile(`(?m)^250 AUTHCHALLENGE SERVERHASH=[0-9A-F]{64} SERVERNONCE=[0-9A-F]{64}\r\n`)
)

// normalize replaces in reply the version string (PROTOCOLINFO and GETINFO
// version), the endpoint's own cookie path and the random AUTHCHALLENGE
// values with placeholders.
func normalize(ep endpoint, reply []byte) []byte {
	reply = bytes.ReplaceAll(reply, []byte(`COOKIEFILE="`+ep.cookiePath+`"`), []byte(`COOKIEFILE="<COOKIEFILE>"`))
	reply = protocolInfoVersion.ReplaceAll(reply, []byte("250-VERSION Tor=\"<VERSION>\"\r\n"))
	reply = getinfoVersion.ReplaceAll(reply, []byte("250-version=<VERSION>\r\n"))
	return challengeValues.ReplaceAll(reply, []byte("250 AUTHCHALLENGE SERVERHASH=<SERVERHASH> SERVERNONCE=<SERVERNONCE>\r\n"))
}

// runAll runs every session on both endpoints, concurrently, and returns
// the transcripts in session order.
func runAll(sessions []session, tor, ours endpoint) (torT, ourT []transcript) {
	torT = make([]transcript, len(sessions))
	ourT = make([]transcript, len(sessions))
	sem := make(chan struct{}, 2*concurrency)
	var wg sync.WaitGroup
	for i, s := range sessions {
		for _, side := range []struct {
			ep  endpoint
			out []transcript
		}{{tor, torT}, {ours, ourT}} {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				side.out[i] = run(side.ep, s)
			})
		}
	}
	wg.Wait()
	return torT, ourT
}

// torEndpoint starts tor and describes it.
func torEndpoint(t *testing.T) endpoint {
	t.Helper()
	tor := tortest.Start(t)
	cookie, err := os.ReadFile(tor.CookiePath)
	require.NoError(t, err)
	require.Len(t, cookie, 32, "tor's cookie")
	t.Logf("tor pid %d on %s", tor.PID, tor.Addr)
	return endpoint{addr: tor.Addr, cookie: cookie, cookiePath: tor.CookiePath}
}

// ourEndpoint starts a controlport.Server on mux (a fresh Mux if nil) and
// stops it when the test ends.
func ourEndpoint(t *testing.T, mux *getinfo.Mux) endpoint {
	t.Helper()
	// Room for every session at once: this compares bytes, not limits.
	s := controlporttest.NewServer(t, controlport.Config{Mux: mux, CookieFile: t.TempDir() + "/control_auth_cookie", MaxUnauthenticated: 4 * concurrency})
	require.Len(t, s.Cookie, 32, "our cookie")
	require.NotContains(t, s.CookieFile(), `"`)
	return endpoint{addr: s.Addr, cookie: s.Cookie, cookiePath: s.CookieFile()}
}
