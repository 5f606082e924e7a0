package protocol_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport/protocol"
)

var testCookie = bytes.Repeat([]byte{0xc0, 0x0c}, protocol.CookieLen/2)

// fixedRand hands out 0x5e bytes: a known SAFECOOKIE server nonce.
type fixedRand struct{}

func (fixedRand) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 0x5e
	}
	return len(p), nil
}

func newAuth(t *testing.T, cfg protocol.AuthConfig) *protocol.Auth {
	t.Helper()
	cfg.Version, cfg.Rand = "0.4.9.11", fixedRand{}
	a, err := protocol.NewAuth(cfg)
	require.NoError(t, err)
	return a
}

type exchange struct {
	line    string
	reply   string
	outcome protocol.Outcome
}

// The replies are tor 0.4.9.11's, as internal/conformance checks for the
// whole server; here each outcome is checked too.
func TestSessionHandle(t *testing.T) {
	cookieCfg := protocol.AuthConfig{Cookie: testCookie, CookieFile: "/var/lib/tor/control_auth_cookie"}
	passwordCfg := protocol.AuthConfig{HashedPasswords: []string{torHash}}
	tests := []struct {
		name  string
		cfg   protocol.AuthConfig
		steps []exchange
	}{
		{"null", protocol.AuthConfig{Null: true}, []exchange{
			{"PROTOCOLINFO 1", "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n", protocol.Continue},
			{"AUTHENTICATE", "250 OK\r\n", protocol.Authenticated},
			{"GETINFO version", "", protocol.Unhandled},
			{"PROTOCOLINFO", "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n", protocol.Continue},
			{"AUTHENTICATE", "250 OK\r\n", protocol.Continue},
			{"quit", "250 closing connection\r\n", protocol.Close},
		}},
		{"before authentication", protocol.AuthConfig{Null: true}, []exchange{
			{"GETINFO version", "514 Authentication required.\r\n", protocol.Close},
		}},
		{"second protocolinfo", protocol.AuthConfig{Null: true}, []exchange{
			{"PROTOCOLINFO", "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=NULL\r\n250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n", protocol.Continue},
			{"PROTOCOLINFO", "514 Authentication required.\r\n", protocol.Close},
		}},
		{"bad version", protocol.AuthConfig{Null: true}, []exchange{
			{"PROTOCOLINFO x", "513 No such version \"x\"\r\n", protocol.Close},
		}},
		{"cookie", cookieCfg, []exchange{
			{"PROTOCOLINFO", "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE=\"/var/lib/tor/control_auth_cookie\"\r\n250-VERSION Tor=\"0.4.9.11\"\r\n250 OK\r\n", protocol.Continue},
			{"AUTHENTICATE " + hex.EncodeToString(testCookie), "250 OK\r\n", protocol.Authenticated},
		}},
		{"wrong cookie", cookieCfg, []exchange{
			{"AUTHENTICATE 00", "515 Authentication failed: Wrong length on authentication cookie.\r\n", protocol.Close},
		}},
		{"bad arguments stay open", cookieCfg, []exchange{
			{"AUTHENTICATE \"unterminated", "512 Bad arguments to AUTHENTICATE: Cannot parse keyword argument(s)\r\n", protocol.Continue},
			{"AUTHCHALLENGE", "512 Bad arguments to AUTHCHALLENGE: Need at least 1 argument(s)\r\n", protocol.Continue},
		}},
		{"safecookie", cookieCfg, []exchange{
			{"AUTHCHALLENGE SAFECOOKIE 0011", "250 AUTHCHALLENGE SERVERHASH=" + safeHash(t, "server-to-controller", []byte{0, 0x11}) + " SERVERNONCE=" + strings.Repeat("5E", 32) + "\r\n", protocol.Continue},
			{"AUTHENTICATE " + safeHash(t, "controller-to-server", []byte{0, 0x11}), "250 OK\r\n", protocol.Authenticated},
		}},
		{"no challenge without a cookie", passwordCfg, []exchange{
			{"AUTHCHALLENGE SAFECOOKIE 00", "515 Cookie authentication is disabled\r\n", protocol.Close},
		}},
		{"password", passwordCfg, []exchange{
			{"AUTHENTICATE \"" + testPassword + "\"", "250 OK\r\n", protocol.Authenticated},
			{"AUTHENTICATE \"wrong\"", "515 Authentication failed: Password did not match HashedControlPassword value from configuration\r\n", protocol.Close},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := protocol.NewSession(newAuth(t, tt.cfg))
			for _, step := range tt.steps {
				cmd, args := protocol.SplitCommand([]byte(step.line + "\r"))
				reply, outcome := s.Handle([]byte("kept:"), cmd, args)
				assert.Equal(t, "kept:"+step.reply, string(reply), "%q", step.line)
				assert.Equal(t, step.outcome, outcome, "%q", step.line)
			}
		})
	}
}

// safeHash is SAFECOOKIE's HMAC, computed here from the control-spec's
// keys and not the package's.
func safeHash(t *testing.T, direction string, clientNonce []byte) string {
	t.Helper()
	m := hmac.New(sha256.New, []byte("Tor safe cookie authentication "+direction+" hash"))
	m.Write(testCookie)
	m.Write(clientNonce)
	m.Write(bytes.Repeat([]byte{0x5e}, 32))
	return strings.ToUpper(hex.EncodeToString(m.Sum(nil)))
}

func TestSessionHooks(t *testing.T) {
	s := protocol.NewSession(newAuth(t, protocol.AuthConfig{Null: true}))
	var steps, bad int
	s.OnStep = func() { steps++ }
	s.OnBadArgs = func() { bad++ }
	s.Admit = func() (string, bool) { return "451 Resource exhausted: too many controllers", false }
	s.Handle(nil, "PROTOCOLINFO", "")
	s.Handle(nil, "AUTHENTICATE", `"x`)
	reply, outcome := s.Handle(nil, "AUTHENTICATE", "")
	assert.Equal(t, 1, steps)
	assert.Equal(t, 1, bad)
	assert.Equal(t, "451 Resource exhausted: too many controllers\r\n", string(reply))
	assert.Equal(t, protocol.Close, outcome)
	assert.False(t, s.Authenticated(), "an admission refused leaves it unauthenticated")
}

// A session without an Auth, or with a zero one, lets nobody in.
func TestSessionFailsClosed(t *testing.T) {
	for name, auth := range map[string]*protocol.Auth{"nil": nil, "zero": {}} {
		s := protocol.NewSession(auth)
		reply, outcome := s.Handle(nil, "AUTHENTICATE", "")
		assert.True(t, strings.HasPrefix(string(reply), "515 Authentication failed: "), "%s: %q", name, reply)
		assert.Equal(t, protocol.Close, outcome, name)
		reply, outcome = protocol.NewSession(auth).Handle(nil, "AUTHCHALLENGE", "SAFECOOKIE 00")
		assert.Equal(t, "515 Cookie authentication is disabled\r\n", string(reply), name)
		assert.Equal(t, protocol.Close, outcome, name)
	}
}

func TestNewAuthErrors(t *testing.T) {
	for name, cfg := range map[string]protocol.AuthConfig{
		"nothing":           {},
		"null and password": {Null: true, HashedPasswords: []string{torHash}},
		"null and cookie":   {Null: true, Cookie: testCookie, CookieFile: "/c"},
		"short cookie":      {Cookie: []byte{1}, CookieFile: "/c"},
		"cookie, no file":   {Cookie: testCookie},
		"bad hash":          {HashedPasswords: []string{"16:00"}},
	} {
		_, err := protocol.NewAuth(cfg)
		assert.ErrorIs(t, err, protocol.ErrAuthConfig, name)
	}
}

// NewAuth keeps its own copy of the cookie.
func TestNewAuthCopiesCookie(t *testing.T) {
	cookie := bytes.Clone(testCookie)
	a := newAuth(t, protocol.AuthConfig{Cookie: cookie, CookieFile: "/c"})
	clear(cookie)
	reply, _ := protocol.NewSession(a).Handle(nil, "AUTHENTICATE", hex.EncodeToString(testCookie))
	assert.Equal(t, "250 OK\r\n", string(reply))
}

func TestLineReaderLimits(t *testing.T) {
	long := strings.Repeat("x", protocol.MaxLineLength)
	r := protocol.NewLineReader(strings.NewReader("GETINFO a\r\n" + long + "\r\nQUIT\r\n+LOADCONF\r\nA\r\n.\r\n"))
	line, err := r.ReadLine()
	require.NoError(t, err)
	assert.Equal(t, "GETINFO a\r", string(line))
	_, err = r.ReadLine()
	assert.ErrorIs(t, err, protocol.ErrLineTooLong)
	line, err = r.ReadLine()
	require.NoError(t, err, "the reader goes on after an over-long line")
	assert.Equal(t, "QUIT\r", string(line))
	line, err = r.ReadLine()
	require.NoError(t, err)
	assert.NoError(t, r.SkipData(len(line)+1))
	assert.False(t, r.Buffered())

	r = protocol.NewLineReader(strings.NewReader("GET / HTTP/1.0"))
	r.OnRead = protocol.PreAuthCheck
	_, err = r.ReadLine()
	assert.ErrorIs(t, err, protocol.ErrHTTP, "answered before the line ends")
	assert.True(t, bytes.HasPrefix(protocol.Refusal(err), []byte("HTTP/1.0 501 Tor ControlPort is not an HTTP proxy\r\n")))
	assert.Equal(t, "500 Line too long.\r\n", string(protocol.Refusal(protocol.ErrLineTooLong)))
	assert.Nil(t, protocol.Refusal(nil))
}

func TestAppendUnrecognized(t *testing.T) {
	assert.Equal(t, "510 Unrecognized command \"SIGNAL\"\r\n", string(protocol.AppendUnrecognized(nil, "SIGNAL")))
	assert.Equal(t, "510 Unrecognized command \"a\\033b\"\r\n", string(protocol.AppendUnrecognized(nil, "a\x1bb")))
}
