package controlport_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
)

type step struct{ send, want string }

// sessions replays the reference transcripts of tor 0.4.9.11 against our
// server: the same bytes in, the same bytes out, the same close.
// {COOKIE} stands for the cookie in hex, {PI} for the whole PROTOCOLINFO
// reply of the server at hand.
var sessions = []struct {
	name   string
	auth   string // "cookie", "password", "null" or "both"
	steps  []step
	closed bool
}{
	{"protocolinfo then a second before auth", "cookie", []step{{"PROTOCOLINFO\r\n", "{PI}"}, {"PROTOCOLINFO 1\r\n", "514 Authentication required.\r\n"}}, true},
	{"protocolinfo 1", "cookie", []step{{"PROTOCOLINFO 1\r\n", "{PI}"}}, false},
	{"lower case, several versions", "cookie", []step{{"protocolinfo 1 2 3\r\n", "{PI}"}}, false},
	{"non-numeric version before auth", "cookie", []step{{"PROTOCOLINFO x\"y\r\n", "513 No such version \"x\\\"y\"\r\n"}}, true},
	{"getinfo before auth", "cookie", []step{{"GETINFO version\r\n", "514 Authentication required.\r\n"}}, true},
	{"pipelined before auth", "cookie", []step{{"GETINFO version\r\nPROTOCOLINFO 1\r\n", "514 Authentication required.\r\n"}}, true},
	{"unknown command before auth", "cookie", []step{{"FOOBAR baz\r\n", "514 Authentication required.\r\n"}}, true},
	{"empty line before auth", "cookie", []step{{"\r\n", "514 Authentication required.\r\n"}}, true},
	{"quit before auth", "cookie", []step{{"QUIT\r\n", "250 closing connection\r\n"}}, true},
	{"quit with junk", "cookie", []step{{"quit now please\r\n", "250 closing connection\r\n"}}, true},
	{"bad cookie", "cookie", []step{{"AUTHENTICATE " + strings.Repeat("00", 32) + "\r\n", "515 Authentication failed: Authentication cookie did not match expected value.\r\n"}}, true},
	{"short cookie", "cookie", []step{{"AUTHENTICATE 0011\r\n", "515 Authentication failed: Wrong length on authentication cookie.\r\n"}}, true},
	{"no cookie", "cookie", []step{{"AUTHENTICATE\r\n", "515 Authentication failed: Wrong length on authentication cookie.\r\n"}}, true},
	{"non-hex", "cookie", []step{{"AUTHENTICATE xyz\r\n", "551 Invalid hexadecimal encoding.  Maybe you tried a plain text password?  If so, the standard requires that you put it in double quotes.\r\n"}}, true},
	{"odd hex", "cookie", []step{{"AUTHENTICATE abc\r\n", "551 Invalid hexadecimal encoding.  Maybe you tried a plain text password?  If so, the standard requires that you put it in double quotes.\r\n"}}, true},
	{"quoted string for a cookie", "cookie", []step{{"AUTHENTICATE \"hello\"\r\n", "515 Authentication failed: Wrong length on authentication cookie.\r\n"}}, true},
	{"keyword argument", "cookie", []step{{"AUTHENTICATE foo=bar\r\n", "512 AUTHENTICATE does not accept keyword arguments.\r\n"}}, true},
	{"two arguments", "cookie", []step{{"AUTHENTICATE 00 11\r\n", "512 Too many arguments to AUTHENTICATE.\r\n"}}, true},
	{"unterminated quote stays open", "cookie", []step{{"AUTHENTICATE \"abc\r\n", "512 Bad arguments to AUTHENTICATE: Cannot parse keyword argument(s)\r\n"}}, false},
	{"correct cookie", "cookie", []step{{"AUTHENTICATE {COOKIE}\r\n", "250 OK\r\n"}, {"GETINFO uptime\r\n", "250-uptime=79\r\n250 OK\r\n"}}, false},
	{"upper-case cookie, lower-case command", "cookie", []step{{"authenticate {COOKIEUPPER}\r\n", "250 OK\r\n"}}, false},
	{"authchallenge without args stays open", "cookie", []step{{"AUTHCHALLENGE\r\n", "512 Bad arguments to AUTHCHALLENGE: Need at least 1 argument(s)\r\n"}}, false},
	{"authchallenge without nonce", "cookie", []step{{"AUTHCHALLENGE SAFECOOKIE\r\n", "512 Wrong number of arguments for AUTHCHALLENGE\r\n"}}, true},
	{"authchallenge other method", "cookie", []step{{"AUTHCHALLENGE COOKIE 0011\r\n", "513 AUTHCHALLENGE only supports SAFECOOKIE authentication\r\n"}}, true},
	{"authchallenge bad hex", "cookie", []step{{"AUTHCHALLENGE SAFECOOKIE 0g\r\n", "513 Invalid base16 client nonce\r\n"}}, true},
	{"authchallenge two nonces", "cookie", []step{{"AUTHCHALLENGE SAFECOOKIE 00 11\r\n", "512 Wrong number of arguments for AUTHCHALLENGE\r\n"}}, true},
	{"authchallenge keyword", "cookie", []step{{"AUTHCHALLENGE SAFECOOKIE nonce=00\r\n", "512 AUTHCHALLENGE does not accept keyword arguments.\r\n"}}, true},
	{"authchallenge without cookie auth", "password", []step{{"AUTHCHALLENGE SAFECOOKIE 0011\r\n", "515 Cookie authentication is disabled\r\n"}}, true},
	{"re-authenticate with a bad cookie", "cookie", []step{{"AUTHENTICATE {COOKIE}\r\n", "250 OK\r\n"}, {"AUTHENTICATE 00\r\n", "515 Authentication failed: Wrong length on authentication cookie.\r\n"}}, true},
	{"password protocolinfo", "password", []step{{"PROTOCOLINFO 1\r\n", "{PI}"}}, false},
	{"wrong quoted password", "password", []step{{"AUTHENTICATE \"wrong\"\r\n", "515 Authentication failed: Password did not match HashedControlPassword value from configuration\r\n"}}, true},
	{"wrong hex password", "password", []step{{"AUTHENTICATE 0011\r\n", "515 Authentication failed: Password did not match HashedControlPassword value from configuration. Maybe you tried a plain text password? If so, the standard requires that you put it in double quotes.\r\n"}}, true},
	{"quoted password", "password", []step{{"AUTHENTICATE \"test-password\"\r\n", "250 OK\r\n"}, {"GETINFO uptime\r\n", "250-uptime=79\r\n250 OK\r\n"}}, false},
	{"hex password", "password", []step{{"AUTHENTICATE 746573742d70617373776f7264\r\n", "250 OK\r\n"}}, false},
	{"both: protocolinfo", "both", []step{{"PROTOCOLINFO 1\r\n", "{PI}"}}, false},
	{"both: wrong password", "both", []step{{"AUTHENTICATE \"wrong\"\r\n", "515 Authentication failed: Password did not match HashedControlPassword *or* authentication cookie.\r\n"}}, true},
	{"both: short hex", "both", []step{{"AUTHENTICATE 0011\r\n", "515 Authentication failed: Password did not match HashedControlPassword *or* authentication cookie.\r\n"}}, true},
	{"both: password", "both", []step{{"AUTHENTICATE \"test-password\"\r\n", "250 OK\r\n"}}, false},
	{"both: cookie", "both", []step{{"AUTHENTICATE {COOKIE}\r\n", "250 OK\r\n"}}, false},
	{"null protocolinfo", "null", []step{{"PROTOCOLINFO\r\n", "{PI}"}}, false},
	{"null: getinfo still refused", "null", []step{{"GETINFO version\r\n", "514 Authentication required.\r\n"}}, true},
	{"null: bare authenticate", "null", []step{{"AUTHENTICATE\r\n", "250 OK\r\n"}, {"GETINFO uptime\r\n", "250-uptime=79\r\n250 OK\r\n"}}, false},
	{"null: junk", "null", []step{{"AUTHENTICATE \"anything\"\r\n", "250 OK\r\n"}}, false},
	{"http", "cookie", []step{{"GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 501 Tor ControlPort is not an HTTP proxy\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n<html>\n<head>\n<title>Tor's ControlPort is not an HTTP proxy</title>\n</head>\n"}}, true},
}

// afterAuth: commands on an authenticated connection, from the transcripts.
var afterAuth = []step{
	{"GETINFO version\r\n", "250-version=0.4.9.11\r\n250 OK\r\n"},
	{"GETINFO\r\n", "250 OK\r\n"},
	{"GETINFO \r\n", "250 OK\r\n"},
	{"GETINFO nosuchkey\r\n", "552 Unrecognized key \"nosuchkey\"\r\n"},
	{"GETINFO version nosuchkey\r\n", "552 Unrecognized key \"nosuchkey\"\r\n"},
	{"GETINFO nosuch1 version nosuch2\r\n", "552-Unrecognized key \"nosuch1\"\r\n552 Unrecognized key \"nosuch2\"\r\n"},
	{"GETINFO version version\r\n", "250-version=0.4.9.11\r\n250-version=0.4.9.11\r\n250 OK\r\n"},
	{"GETINFO   version    uptime  \r\n", "250-version=0.4.9.11\r\n250-uptime=79\r\n250 OK\r\n"},
	{"GETINFO\tversion\r\n", "250-version=0.4.9.11\r\n250 OK\r\n"},
	{"GETINFO version\tuptime\r\n", "552 Unrecognized key \"version\tuptime\"\r\n"},
	{"GETINFO version\n", "250-version=0.4.9.11\r\n250 OK\r\n"},
	{"GETINFO version\r\r\n", "250-version=0.4.9.11\r\n250 OK\r\n"},
	{"GETINFO a\"b\\c\xc3\xa9\xff\r\n", "552 Unrecognized key \"a\"b\\c\xc3\xa9\xff\"\r\n"},
	{"GETINFO x=y 'z'\r\n", "552-Unrecognized key \"x=y\"\r\n552 Unrecognized key \"'z'\"\r\n"},
	{"GETINFO a\rb\r\n", "552 Unrecognized key \"a\\rb\"\r\n"}, // departure: tor sends a data block with no end line
	{"GETINFO ver\x00sion\r\n", "552 Unrecognized key \"ver\"\r\n"},
	{"getinfo version\r\n", "250-version=0.4.9.11\r\n250 OK\r\n"},
	{"GeTiNfO version\r\n", "250-version=0.4.9.11\r\n250 OK\r\n"},
	{"GETINFO VERSION\r\n", "552 Unrecognized key \"VERSION\"\r\n"},
	{"GETINFO config/\r\n", "552 Unrecognized key \"config/\"\r\n"},
	{"GETINFO events/names features/names\r\n", "250-events/names=CIRC CIRC_MINOR STREAM ORCONN BW DEBUG INFO NOTICE WARN ERR NEWDESC ADDRMAP DESCCHANGED NS STATUS_GENERAL STATUS_CLIENT STATUS_SERVER GUARD STREAM_BW CLIENTS_SEEN NEWCONSENSUS BUILDTIMEOUT_SET SIGNAL CONF_CHANGED CONN_BW CELL_STATS CIRC_BW TRANSPORT_LAUNCHED HS_DESC HS_DESC_CONTENT NETWORK_LIVENESS\r\n250-features/names=VERBOSE_NAMES EXTENDED_EVENTS\r\n250 OK\r\n"},
	{"GETINFO version\r\nGETINFO uptime\r\n", "250-version=0.4.9.11\r\n250 OK\r\n250-uptime=79\r\n250 OK\r\n"},
	{"+GETINFO version\r\nsome data\r\n.\r\n", "510 Unrecognized command \"+GETINFO\"\r\n"},
	{"LOADCONF\r\n", "510 Unrecognized command \"LOADCONF\"\r\n"},
	{"+FOO\r\nline\r\n.\r\n", "510 Unrecognized command \"+FOO\"\r\n"},
	{"FOOBAR\r\n", "510 Unrecognized command \"FOOBAR\"\r\n"},
	{"foobar with args\r\n", "510 Unrecognized command \"foobar\"\r\n"},
	{"\r\n", "510 Unrecognized command \"\"\r\n"},
	{" GETINFO version\r\n", "510 Unrecognized command \"\"\r\n"},
	// A departure from tor, which echoes the command raw: control bytes
	// are escaped, so that no terminal control sequence reaches a console.
	{"\x1b[31mFOO\x07 x\r\n", "510 Unrecognized command \"\\033[31mFOO\\007\"\r\n"},
	{"A\x7fB\r\n", "510 Unrecognized command \"A\\177B\"\r\n"},
	{"SETROUTERPURPOSE x y\r\n", "511 SETROUTERPURPOSE is obsolete.\r\n"},
	{"PROTOCOLINFO\r\n", "{PI}"},
	{"PROTOCOLINFO x\r\n", "513 No such version \"x\"\r\n"},
	{"GETCONF nosuchoption\r\n", "552 Unrecognized configuration key \"nosuchoption\"\r\n"},
	{"GETCONF __owningcontrollerprocess\r\n", "250 __OwningControllerProcess\r\n"},
	{"USEFEATURE nosuchfeature\r\n", "552 Unrecognized feature \"nosuchfeature\"\r\n"},
	{"USEFEATURE VERBOSE_NAMES extended_events\r\n", "250 OK\r\n"},
	{"SETEVENTS nosuchevent\r\n", "552 Unrecognized event \"nosuchevent\"\r\n"},
	{"SETEVENTS SIGNAL CONF_CHANGED STATUS_SERVER\r\n", "250 OK\r\n"},
	{"SETEVENTS EXTENDED circ\r\n", "250 OK\r\n"},
	{"SETEVENTS\r\n", "250 OK\r\n"},
}

func serverFor(t *testing.T, auth string) *controlporttest.Server {
	cfg := controlport.Config{}
	switch auth {
	case "cookie":
		cfg.CookieFile = filepath.Join(t.TempDir(), "control_auth_cookie")
	case "password":
		cfg.HashedPasswords = []string{torHash}
	case "both":
		cfg.CookieFile = filepath.Join(t.TempDir(), "control_auth_cookie")
		cfg.HashedPasswords = []string{torHash}
	case "null":
		cfg.NullAuth = true
	}
	return startServer(t, cfg)
}

func fill(s *controlporttest.Server, auth, text string) string {
	methods := map[string]string{"cookie": "COOKIE,SAFECOOKIE", "password": "HASHEDPASSWORD", "both": "COOKIE,SAFECOOKIE,HASHEDPASSWORD", "null": "NULL"}[auth]
	text = strings.ReplaceAll(text, "{PI}", protocolInfo(methods, s.CookieFile(), controlport.DefaultVersion))
	text = strings.ReplaceAll(text, "{COOKIEUPPER}", strings.ToUpper(hex.EncodeToString(s.Cookie)))
	return strings.ReplaceAll(text, "{COOKIE}", hex.EncodeToString(s.Cookie))
}

func TestTranscriptSessions(t *testing.T) {
	for _, tt := range sessions {
		t.Run(tt.name, func(t *testing.T) {
			s := serverFor(t, tt.auth)
			c := s.Dial(t)
			for _, st := range tt.steps {
				c.Send(fill(s, tt.auth, st.send))
				c.Expect(fill(s, tt.auth, st.want))
			}
			if tt.closed {
				if tt.name != "http" {
					c.ExpectClosed()
				}
			} else {
				c.ExpectOpen()
			}
		})
	}
}

func TestAfterAuthentication(t *testing.T) {
	s := cookieServer(t)
	c := s.Dial(t)
	c.Authenticate(s.Auth)
	for _, st := range afterAuth {
		c.Send(fill(s, "cookie", st.send))
		c.Expect(fill(s, "cookie", st.want))
	}
	c.ExpectOpen()
}

func TestHTTPPageWhole(t *testing.T) {
	s := cookieServer(t)
	c := s.Dial(t)
	c.Send("POST /x HTTP/1.1\r\nHost: x\r\n\r\n")
	require.NoError(t, c.SetReadDeadline(deadline()))
	page := c.ReadAll()
	require.True(t, strings.HasPrefix(page, "HTTP/1.0 501 Tor ControlPort is not an HTTP proxy\r\n"))
	require.True(t, strings.HasSuffix(page, "</p>\n</body>\n</html>\n"))
	require.Contains(t, page, "Tor's default SOCKS proxy port is 9050.")
	require.Greater(t, len(page), 512, "tor pads the body past 512 bytes for old browsers")
}

var hexRE = regexp.MustCompile(`^250 AUTHCHALLENGE SERVERHASH=([0-9A-F]{64}) SERVERNONCE=([0-9A-F]{64})\r\n$`)

// safeCookie runs AUTHCHALLENGE with nonce (sent as given) and checks the
// server's hash; it returns the response AUTHENTICATE must carry.
func safeCookie(t *testing.T, s *controlporttest.Server, line string, clientNonce []byte, reply string) string {
	t.Helper()
	m := hexRE.FindStringSubmatch(reply)
	require.NotNil(t, m, "reply %q", reply)
	serverNonce, err := hex.DecodeString(m[2])
	require.NoError(t, err)
	mac := func(key string) []byte {
		h := hmac.New(sha256.New, []byte(key))
		h.Write(s.Cookie)
		h.Write(clientNonce)
		h.Write(serverNonce)
		return h.Sum(nil)
	}
	require.Equal(t, strings.ToUpper(hex.EncodeToString(mac("Tor safe cookie authentication server-to-controller hash"))), m[1], "SERVERHASH for %q", line)
	return hex.EncodeToString(mac("Tor safe cookie authentication controller-to-server hash"))
}

func TestSafeCookie(t *testing.T) {
	s := cookieServer(t)
	nonce := strings.Repeat("0123456789abcdef", 4)
	rawNonce, _ := hex.DecodeString(nonce)
	flows := []struct {
		name     string
		line     string
		nonce    []byte
		response func(good string) string
		want     string
		closed   bool
	}{
		{"hex nonce, right response", "AUTHCHALLENGE SAFECOOKIE " + nonce, rawNonce, func(g string) string { return g }, "250 OK\r\n", false},
		{"upper-case response", "authchallenge safecookie " + nonce, rawNonce, strings.ToUpper, "250 OK\r\n", false},
		{"quoted nonce", `AUTHCHALLENGE SAFECOOKIE "my nonce"`, []byte("my nonce"), func(g string) string { return g }, "250 OK\r\n", false},
		{"wrong response", "AUTHCHALLENGE SAFECOOKIE " + nonce, rawNonce, func(string) string { return strings.Repeat("11", 32) },
			"515 Authentication failed: Safe cookie response did not match expected value.\r\n", true},
		{"plain cookie after the challenge", "AUTHCHALLENGE SAFECOOKIE " + nonce, rawNonce, func(string) string { return "11111111" },
			"515 Authentication failed: Wrong length for safe cookie response.\r\n", true},
	}
	for _, f := range flows {
		t.Run(f.name, func(t *testing.T) {
			c := s.Dial(t)
			c.Send(f.line + "\r\n")
			reply := c.ReadLine()
			good := safeCookie(t, s, f.line, f.nonce, reply)
			c.Send("AUTHENTICATE " + f.response(good) + "\r\n")
			c.Expect(f.want)
			if f.closed {
				c.ExpectClosed()
			} else {
				c.Send("GETINFO uptime\r\n")
				c.Expect("250-uptime=79\r\n250 OK\r\n")
			}
		})
	}

	for _, next := range []string{"AUTHCHALLENGE SAFECOOKIE " + nonce, "PROTOCOLINFO 1"} {
		t.Run("then "+next, func(t *testing.T) {
			c := s.Dial(t)
			c.Send("AUTHCHALLENGE SAFECOOKIE " + nonce + "\r\n")
			c.ReadLine()
			c.Send(next + "\r\n")
			c.Expect("514 Authentication required.\r\n")
			c.ExpectClosed()
		})
	}
}

// What tor checks as soon as bytes arrive before authentication, without
// waiting for a line end.
func TestBeforeAnyLineEnd(t *testing.T) {
	s := cookieServer(t)

	c := s.Dial(t)
	c.Send("GET / HTTP/1.0")
	require.NoError(t, c.SetReadDeadline(deadline()))
	require.True(t, strings.HasPrefix(c.ReadAll(), "HTTP/1.0 501 Tor ControlPort is not an HTTP proxy\r\n"), "the page comes before any LF")

	c = s.Dial(t)
	c.Send("\x00\x00\x00\x00")
	c.Expect("\x00\x60\x00\x00\x00\x01The v0 control protocol is not supported by Tor 0.1.2.17 and later; upgrade your controller.\x00\x00")
	c.ExpectClosed()

	// Pipelined in one write after a command, a request line is just a command.
	c = s.Dial(t)
	c.Send("PROTOCOLINFO 1\r\nGET / HTTP/1.0\r\n\r\n")
	c.Expect(fill(s, "cookie", "{PI}") + "514 Authentication required.\r\n")
	c.ExpectClosed()
}

// A finished reply is sent at once, even when part of the next command has
// already arrived.
func TestRepliesAreNotHeldBack(t *testing.T) {
	s := startServer(t, controlport.Config{NullAuth: true})
	c := s.Dial(t)
	c.Send("AUTHENTICATE\r\nGETINFO uptime\r\nGETINFO upt")
	c.Expect("250 OK\r\n250-uptime=79\r\n250 OK\r\n")
	c.Send("ime\r\n")
	c.Expect("250-uptime=79\r\n250 OK\r\n")
}

func TestQuotedArguments(t *testing.T) {
	s := cookieServer(t)
	tests := []struct{ send, want string }{
		{"AUTHENTICATE \"abc\"def\r\n", "512 Too many arguments to AUTHENTICATE.\r\n"},
		{"AUTHENTICATE 00\f11\r\n", "551 Invalid hexadecimal encoding.  Maybe you tried a plain text password?  If so, the standard requires that you put it in double quotes.\r\n"},
		{"AUTHENTICATE \"" + strings.Repeat(`\101`, 32) + "\"\r\n", "515 Authentication failed: Wrong length on authentication cookie.\r\n"},
		{"AUTHCHALLENGE SAFECOOKIE\t00\r\n", "513 AUTHCHALLENGE only supports SAFECOOKIE authentication\r\n"},
	}
	for _, tt := range tests {
		c := s.Dial(t)
		c.Send(tt.send)
		c.Expect(tt.want)
		c.ExpectClosed()
	}
}
