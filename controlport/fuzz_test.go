package controlport

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/getinfo"
)

// iotestHalf returns a reader that hands out in in small pieces, so that
// lines straddle reads.
func iotestHalf(in []byte) io.Reader { return &smallReader{in: in} }

type smallReader struct{ in []byte }

func (r *smallReader) Read(p []byte) (int, error) {
	if len(r.in) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 1+len(r.in)%7)], r.in)
	r.in = r.in[n:]
	return n, nil
}

// FuzzSession sends any bytes to a whole connection of a server that asks
// for one of each authentication configuration (mode, taken modulo 4:
// NULL, COOKIE and SAFECOOKIE, HASHEDPASSWORD, or the last two at once),
// and checks that everything it answers is framed as the control protocol
// frames replies (or is tor's HTTP or v0 refusal), and that it closes the
// connection when the input ends. The seeds (testdata/sessions.txt) reach
// every method's success, with the server's fixed cookie and nonce.
func FuzzSession(f *testing.F) {
	servers := fuzzServers(f)
	for _, s := range loadSessions(f) {
		f.Add(uint8(s.mode), s.input)
	}
	f.Fuzz(func(t *testing.T, mode uint8, in []byte) {
		srv := servers[int(mode)%len(servers)]
		fc := &fakeConn{r: iotestHalf(in)}
		serveFake(srv, fc)
		if !fc.closed {
			t.Fatalf("input %q: connection not closed at the end of input", in)
		}
		if err := checkFraming(fc.w.Bytes()); err != "" {
			t.Fatalf("input %q: reply %q: %s", in, fc.w.Bytes(), err)
		}
	})
}

// The authentication configurations of the fuzz servers, in mode order.
const (
	modeNull = iota
	modeCookie
	modePassword
	modeBoth
)

var modeNames = map[string]int{"null": modeNull, "cookie": modeCookie, "password": modePassword, "both": modeBoth}

// fuzzCookie and fuzzServerNonce are fixed, so that seeds can authenticate.
var (
	fuzzCookie      = bytes.Repeat([]byte{0xc0, 0x0c}, protocol.CookieLen/2)
	fuzzServerNonce = bytes.Repeat([]byte{0x5e}, 32)
)

const fuzzPassword = "test-password"

// fuzzServers returns a server of each mode, with the fixed cookie and
// server nonce, serving no listener.
func fuzzServers(tb testing.TB) []*Server {
	m := getinfo.NewMux()
	m.HandleFunc("uptime", "Seconds up.", func(dst []byte, _ string) ([]byte, error) { return append(dst, "79"...), nil })
	m.HandleFunc("lines", "Two lines.", func(dst []byte, _ string) ([]byte, error) { return append(dst, ".a\nb"...), nil })
	dir := tb.TempDir()
	hash := protocol.HashPassword(fuzzPassword)
	configs := map[int]Config{
		modeNull:     {NullAuth: true},
		modeCookie:   {CookieFile: filepath.Join(dir, "cookie")},
		modePassword: {HashedPasswords: []string{hash}},
		modeBoth:     {CookieFile: filepath.Join(dir, "both-cookie"), HashedPasswords: []string{hash}},
	}
	servers := make([]*Server, len(configs))
	for mode, cfg := range configs {
		cfg.Mux = getinfo.NewMux()
		cfg.Mux.Handle("uptime", "Seconds up.", m)
		cfg.Mux.Handle("lines", "Two lines.", m)
		cfg.AuthTimeout, cfg.WriteTimeout = 5*time.Second, 5*time.Second
		srv, err := New(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		// The same methods, with the fixed cookie and nonces.
		auth := protocol.AuthConfig{Null: cfg.NullAuth, HashedPasswords: cfg.HashedPasswords, Version: srv.cfg.Version, Rand: fixedNonces{}}
		if srv.cookiePath != "" {
			auth.Cookie, auth.CookieFile = fuzzCookie, srv.cookiePath
		}
		if srv.auth, err = protocol.NewAuth(auth); err != nil {
			tb.Fatal(err)
		}
		servers[mode] = srv
	}
	return servers
}

// fixedNonces gives every AUTHCHALLENGE the server nonce fuzzServerNonce.
type fixedNonces struct{}

func (fixedNonces) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = fuzzServerNonce[i%len(fuzzServerNonce)]
	}
	return len(p), nil
}

// seedSession is one line of testdata/sessions.txt, placeholders filled.
type seedSession struct {
	mode  int
	name  string
	input []byte
}

// loadSessions reads testdata/sessions.txt.
func loadSessions(tb testing.TB) []seedSession {
	data, err := os.ReadFile(filepath.Join("testdata", "sessions.txt"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []seedSession
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Split(line, "\t")
		mode, ok := modeNames[fields[0]]
		if len(fields) != 3 || !ok {
			tb.Fatalf("sessions.txt:%d: want MODE TAB NAME TAB \"INPUT\"", n+1)
		}
		in, err := strconv.Unquote(fields[2])
		if err != nil {
			tb.Fatalf("sessions.txt:%d: %v", n+1, err)
		}
		out = append(out, seedSession{mode: mode, name: fields[1], input: fillSeed(in)})
	}
	return out
}

// fillSeed replaces the placeholders of a seed (see testdata/sessions.txt).
func fillSeed(in string) []byte {
	cookieHex := hex.EncodeToString(fuzzCookie)
	in = strings.ReplaceAll(in, "{COOKIE}", cookieHex)
	in = strings.ReplaceAll(in, "{COOKIEUPPER}", strings.ToUpper(cookieHex))
	for {
		i := strings.Index(in, "{SAFECOOKIE}")
		if i < 0 {
			return []byte(in)
		}
		nonce := lastClientNonce(in[:i])
		mac := hmac.New(sha256.New, []byte("Tor safe cookie authentication controller-to-server hash"))
		mac.Write(fuzzCookie)
		mac.Write(nonce)
		mac.Write(fuzzServerNonce)
		in = in[:i] + hex.EncodeToString(mac.Sum(nil)) + in[i+len("{SAFECOOKIE}"):]
	}
}

// lastClientNonce returns the client nonce of the last "AUTHCHALLENGE
// SAFECOOKIE" in s: a quoted string as it is, else hex.
func lastClientNonce(s string) []byte {
	const cmd = "AUTHCHALLENGE SAFECOOKIE "
	i := strings.LastIndex(s, cmd)
	if i < 0 {
		return nil
	}
	arg, _, _ := strings.Cut(s[i+len(cmd):], "\r\n")
	if u, err := strconv.Unquote(arg); err == nil {
		return []byte(u)
	}
	b, _ := hex.DecodeString(arg)
	return b
}

// The seeds reach an authenticated state with every method: the fuzzer
// starts from sessions that exercise what follows authentication.
func TestSessionSeedsAuthenticate(t *testing.T) {
	servers := fuzzServers(t)
	reached := map[string]int{}
	for _, s := range loadSessions(t) {
		fc := &fakeConn{r: bytes.NewReader(s.input)}
		if !serveFake(servers[s.mode], fc).authed.Load() {
			continue
		}
		method := "NULL"
		switch {
		case bytes.Contains(s.input, []byte("AUTHCHALLENGE")):
			method = "SAFECOOKIE"
		case bytes.Contains(s.input, []byte(`"`+fuzzPassword+`"`)), bytes.Contains(s.input, []byte(hex.EncodeToString([]byte(fuzzPassword)))):
			method = "HASHEDPASSWORD"
		case bytes.Contains(bytes.ToLower(s.input), []byte(hex.EncodeToString(fuzzCookie))):
			method = "COOKIE"
		}
		reached[method]++
	}
	for _, m := range []string{"NULL", "COOKIE", "SAFECOOKIE", "HASHEDPASSWORD"} {
		if reached[m] == 0 {
			t.Errorf("no seed authenticates with %s (reached: %v)", m, reached)
		}
	}
	t.Logf("seeds that authenticate, by method: %v", reached)
}

// serveFake serves a connection on the calling goroutine, held by the
// server as an accepted one is, and returns it once it has ended.
func serveFake(srv *Server, nc net.Conn) *conn {
	c := srv.newConn(nc, srv.since())
	srv.mu.Lock()
	srv.conns[c] = struct{}{}
	srv.mu.Unlock()
	c.serve()
	srv.mu.Lock()
	delete(srv.conns, c)
	srv.mu.Unlock()
	return c
}

// fakeConn is a connection whose input is fixed and whose output is kept,
// so that a fuzz run needs no sockets or goroutines.
type fakeConn struct {
	r      io.Reader
	w      bytes.Buffer
	closed bool
}

func (c *fakeConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error) { return c.w.Write(p) }
func (c *fakeConn) Close() error                { c.closed = true; return nil }
func (c *fakeConn) LocalAddr() net.Addr         { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9051} }
func (c *fakeConn) RemoteAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}
}
func (c *fakeConn) SetDeadline(t time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(t time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(t time.Time) error { return nil }

// checkFraming says what is wrong with a connection's output, or "".
func checkFraming(out []byte) string {
	switch {
	case bytes.HasPrefix(out, protocol.Refusal(protocol.ErrHTTP)):
		if len(out) != len(protocol.Refusal(protocol.ErrHTTP)) {
			return "bytes after the HTTP page"
		}
		return ""
	case bytes.HasSuffix(out, protocol.Refusal(protocol.ErrV0)):
		out = out[:len(out)-len(protocol.Refusal(protocol.ErrV0))] // replies may precede it
	}
	lines := strings.SplitAfter(string(out), "\r\n")
	if last := lines[len(lines)-1]; last != "" {
		return "output does not end with CR LF: " + last
	}
	lines = lines[:len(lines)-1]
	inData, open := false, false
	for _, l := range lines {
		body := strings.TrimSuffix(l, "\r\n")
		if strings.ContainsAny(body, "\r\n") {
			return "a bare CR or LF inside a line: " + body
		}
		if inData {
			inData = body != "."
			continue
		}
		if len(body) < 4 || body[0] < '1' || body[0] > '6' || !isDigits(body[1:3]) || !strings.ContainsRune("-+ ", rune(body[3])) {
			return "not a reply line: " + body
		}
		switch body[3] {
		case '+':
			inData, open = true, true
		case '-':
			open = true
		case ' ':
			open = false
		}
	}
	if inData {
		return "data block without its end"
	}
	if open {
		return "reply without its end line"
	}
	return ""
}
