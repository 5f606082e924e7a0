package protocol

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/conninfo/conninfo/internal/cescape"
)

// ErrAuthConfig is wrapped by the errors of [NewAuth].
var ErrAuthConfig = errors.New("protocol: invalid authentication configuration")

// AuthConfig is what a control port accepts as proof of a controller's
// right to it, as tor's CookieAuthentication, HashedControlPassword and
// their absence configure it.
type AuthConfig struct {
	// Null lets any controller in without a secret. It must be asked for
	// explicitly, and excludes the other methods, as in tor.
	Null bool
	// Cookie enables COOKIE and SAFECOOKIE authentication: CookieLen
	// bytes, as [WriteCookieFile] writes them to CookieFile.
	Cookie []byte
	// CookieFile is the cookie's path as PROTOCOLINFO names it (absolute).
	CookieFile string
	// HashedPasswords enables HASHEDPASSWORD authentication against each
	// "16:…" hash, as written by tor --hash-password or [HashPassword].
	HashedPasswords []string
	// Version is what PROTOCOLINFO reports as "VERSION Tor=".
	Version string
	// Rand is the source of SAFECOOKIE's server nonces; nil is
	// crypto/rand. A test may fix it.
	Rand io.Reader
}

// Auth is a checked [AuthConfig], shared by every [Session] of a control
// port. It is immutable, so safe for concurrent use. A nil or zero Auth
// (not made by [NewAuth]) lets nobody in.
type Auth struct {
	null       bool
	cookie     []byte
	cookieFile string
	passwords  []HashedPassword
	version    string
	rand       io.Reader
}

// NewAuth checks cfg: exactly one of Null, a cookie (with its file's
// path) and hashed passwords, or the last two together.
func NewAuth(cfg AuthConfig) (*Auth, error) {
	methods := len(cfg.HashedPasswords)
	if cfg.Cookie != nil {
		methods++
	}
	switch {
	case cfg.Null && methods > 0:
		return nil, fmt.Errorf("%w: Null excludes cookie and password authentication", ErrAuthConfig)
	case !cfg.Null && methods == 0:
		return nil, fmt.Errorf("%w: no authentication method; set Cookie, HashedPasswords or, explicitly, Null", ErrAuthConfig)
	case cfg.Cookie != nil && len(cfg.Cookie) != CookieLen:
		return nil, fmt.Errorf("%w: a cookie of %d bytes, not %d", ErrAuthConfig, len(cfg.Cookie), CookieLen)
	case cfg.Cookie != nil && cfg.CookieFile == "":
		return nil, fmt.Errorf("%w: a cookie without CookieFile, which PROTOCOLINFO must name", ErrAuthConfig)
	}
	a := &Auth{
		null:       cfg.Null,
		cookie:     append([]byte(nil), cfg.Cookie...),
		cookieFile: cfg.CookieFile,
		version:    cfg.Version,
		rand:       cfg.Rand,
	}
	if cfg.Cookie == nil {
		a.cookie = nil
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	for _, h := range cfg.HashedPasswords {
		p, err := ParseHashedPassword(h)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrAuthConfig, err)
		}
		a.passwords = append(a.passwords, p)
	}
	return a, nil
}

// Outcome is what a [Session] made of a command.
type Outcome int

// The outcomes of [Session.Handle].
const (
	// Unhandled: the session is authenticated and the command is not one
	// of the session's; the host answers it.
	Unhandled Outcome = iota
	// Continue: answered; read the next command.
	Continue
	// Close: answered; close the connection once the reply is sent.
	Close
	// Authenticated: the controller has just authenticated, and "250 OK"
	// is appended. Stop [PreAuthCheck] and the authentication timeout.
	Authenticated
)

// Session is one controller's side of authentication: tor's rules before
// it (only PROTOCOLINFO, once, AUTHCHALLENGE, AUTHENTICATE and QUIT; any
// other command is answered "514 Authentication required." and closes),
// PROTOCOLINFO, the SAFECOOKIE challenge, and AUTHENTICATE with every
// method of its [Auth], with tor's replies and error texts byte for byte.
// After authentication it still answers those commands, as tor does, and
// leaves the rest to the host.
//
// A Session is not safe for concurrent use: it belongs to one
// connection's loop.
type Session struct {
	auth             *Auth
	authed           bool
	sentProtocolInfo bool
	clientHash       []byte // after AUTHCHALLENGE: the response AUTHENTICATE must carry

	// Admit, if set, is asked once a controller's secret is good, before
	// it is told "250 OK" for the first time: a host's limit on
	// controllers. If it returns false, refusal (if not empty, without
	// CR LF) is sent instead and the connection closes.
	Admit func() (refusal string, ok bool)
	// OnStep, if set, is called at each step towards authentication:
	// PROTOCOLINFO answered, or an AUTHCHALLENGE answered.
	OnStep func()
	// OnBadArgs, if set, is called for each command before
	// authentication refused because its arguments failed to parse.
	OnBadArgs func()
}

// NewSession returns the session of a newly connected controller. A nil
// auth refuses every secret.
func NewSession(auth *Auth) *Session { return &Session{auth: auth} }

// Authenticated reports whether the controller has authenticated.
func (s *Session) Authenticated() bool { return s.authed }

// Handle answers cmd with args (as [SplitCommand] returns them), appending
// the reply to dst, if cmd is one of the session's: PROTOCOLINFO,
// AUTHCHALLENGE, AUTHENTICATE or QUIT, or any command before
// authentication. It returns Unhandled, appending nothing, for any other
// command once authenticated.
func (s *Session) Handle(dst []byte, cmd, args string) ([]byte, Outcome) {
	upper := Upper(cmd) // tor matches with strcasecmp: ASCII only
	if !s.authed && !s.validBeforeAuth(upper) {
		return append(dst, "514 Authentication required.\r\n"...), Close
	}
	switch upper {
	case "QUIT":
		return append(dst, "250 closing connection\r\n"...), Close
	case "PROTOCOLINFO":
		return s.protocolInfo(dst, args)
	case "AUTHCHALLENGE":
		return s.authChallenge(dst, cmd, args)
	case "AUTHENTICATE":
		return s.authenticate(dst, cmd, args)
	}
	return dst, Unhandled
}

// validBeforeAuth is tor's list of commands allowed before authentication.
func (s *Session) validBeforeAuth(upper string) bool {
	switch upper {
	case "AUTHENTICATE", "QUIT":
		return true
	case "PROTOCOLINFO":
		return !s.sentProtocolInfo && s.clientHash == nil
	case "AUTHCHALLENGE":
		return s.clientHash == nil
	}
	return false
}

// protocolInfo answers PROTOCOLINFO [version ...]. Each argument must be a
// decimal number, as tor requires; the answer is always version 1.
func (s *Session) protocolInfo(dst []byte, args string) ([]byte, Outcome) {
	for _, v := range SplitWords(args) {
		if !isDecimal(v) {
			dst = cescape.AppendQuoted(append(dst, "513 No such version "...), v)
			dst = append(dst, "\r\n"...)
			if s.authed {
				return dst, Continue
			}
			return dst, Close // before authentication tor closes
		}
	}
	a := s.auth
	dst = append(dst, "250-PROTOCOLINFO 1\r\n250-AUTH METHODS="...)
	var methods []string
	if a != nil && a.cookie != nil {
		methods = append(methods, "COOKIE", "SAFECOOKIE")
	}
	if a != nil && len(a.passwords) > 0 {
		methods = append(methods, "HASHEDPASSWORD")
	}
	if len(methods) == 0 {
		methods = append(methods, "NULL")
	}
	dst = append(dst, strings.Join(methods, ",")...)
	var version string
	if a != nil {
		if a.cookie != nil {
			dst = cescape.AppendQuoted(append(dst, " COOKIEFILE="...), a.cookieFile)
		}
		version = a.version
	}
	dst = cescape.AppendQuoted(append(dst, "\r\n250-VERSION Tor="...), version)
	dst = append(dst, "\r\n250 OK\r\n"...)
	s.sentProtocolInfo = true
	s.step()
	return dst, Continue
}

// isDecimal accepts what tor's strtol-based parse of a version does: an
// optional sign and decimal digits, from 0 to LONG_MAX.
func isDecimal(v string) bool {
	n, err := strconv.ParseInt(v, 10, 64)
	return err == nil && n >= 0
}

// authChallenge answers AUTHCHALLENGE SAFECOOKIE <nonce>, checking in tor's
// order; every failure but a parse error closes the connection.
func (s *Session) authChallenge(dst []byte, cmd, raw string) ([]byte, Outcome) {
	a, err := ParseArgs(raw, 1)
	if err != nil {
		return s.badArgs(dst, cmd, err)
	}
	var reply string
	switch {
	case !EqualFold(a.Positional[0], "SAFECOOKIE"):
		reply = "513 AUTHCHALLENGE only supports SAFECOOKIE authentication"
	case s.auth == nil || s.auth.cookie == nil:
		reply = "515 Cookie authentication is disabled"
	case len(a.Keywords) != 1:
		reply = "512 Wrong number of arguments for AUTHCHALLENGE"
	case a.Keywords[0].Key != "":
		reply = "512 AUTHCHALLENGE does not accept keyword arguments."
	}
	if reply != "" {
		return append(append(dst, reply...), "\r\n"...), Close
	}
	clientNonce := []byte(a.Keywords[0].Value)
	if !strings.Contains(raw, `"`) {
		if clientNonce, err = hex.DecodeString(a.Keywords[0].Value); err != nil {
			return append(dst, "513 Invalid base16 client nonce\r\n"...), Close
		}
	}
	serverNonce := make([]byte, 32)
	if _, err := io.ReadFull(s.auth.rand, serverNonce); err != nil {
		// Only a broken Rand can fail; tor has no word for it.
		return append(dst, "551 Internal error\r\n"...), Close
	}
	cookie := s.auth.cookie
	serverHash := safeCookieHash(serverToControllerKey, cookie, clientNonce, serverNonce)
	s.clientHash = safeCookieHash(controllerToServerKey, cookie, clientNonce, serverNonce)
	dst = append(dst, "250 AUTHCHALLENGE SERVERHASH="...)
	dst = append(dst, strings.ToUpper(hex.EncodeToString(serverHash))...)
	dst = append(dst, " SERVERNONCE="...)
	dst = append(dst, strings.ToUpper(hex.EncodeToString(serverNonce))...)
	dst = append(dst, "\r\n"...)
	s.step()
	return dst, Continue
}

const invalidHex = "551 Invalid hexadecimal encoding.  Maybe you tried a plain text password?  If so, the standard requires that you put it in double quotes."

// authenticate answers AUTHENTICATE [secret], as tor chooses between the
// methods and words its failures. Every failure but a parse error closes
// the connection, even an authenticated one.
func (s *Session) authenticate(dst []byte, cmd, raw string) ([]byte, Outcome) {
	a, err := ParseArgs(raw, 0)
	if err != nil {
		return s.badArgs(dst, cmd, err)
	}
	var secret []byte
	quoted := strings.Contains(raw, `"`)
	fail := ""
	switch {
	case len(a.Keywords) > 1:
		fail = "512 Too many arguments to AUTHENTICATE."
	case len(a.Keywords) == 1 && a.Keywords[0].Key != "":
		fail = "512 AUTHENTICATE does not accept keyword arguments."
	case len(a.Keywords) == 1 && quoted:
		secret = []byte(a.Keywords[0].Value)
	case len(a.Keywords) == 1:
		if secret, err = hex.DecodeString(a.Keywords[0].Value); err != nil {
			fail = invalidHex
		}
	}
	if fail == "" {
		if reason := s.checkSecret(secret, quoted); reason != "" {
			fail = "515 Authentication failed: " + reason
		}
	}
	if fail != "" {
		return append(append(dst, fail...), "\r\n"...), Close
	}
	s.clientHash = nil // used up: tor checks a later AUTHENTICATE afresh
	outcome := Continue
	if !s.authed {
		if s.Admit != nil {
			if refusal, ok := s.Admit(); !ok {
				if refusal != "" {
					dst = append(append(dst, refusal...), "\r\n"...)
				}
				return dst, Close
			}
		}
		s.authed = true
		outcome = Authenticated
	}
	return append(dst, "250 OK\r\n"...), outcome
}

// badArgs answers a command whose arguments failed to parse; tor keeps the
// connection open.
func (s *Session) badArgs(dst []byte, cmd string, err error) ([]byte, Outcome) {
	dst = append(dst, "512 Bad arguments to "...)
	dst = append(dst, cmd...)
	dst = append(dst, ": "...)
	dst = append(dst, err.Error()...)
	dst = append(dst, "\r\n"...)
	if !s.authed && s.OnBadArgs != nil {
		s.OnBadArgs()
	}
	return dst, Continue
}

func (s *Session) step() {
	if !s.authed && s.OnStep != nil {
		s.OnStep()
	}
}

// checkSecret returns "" if secret authenticates, or tor's reason why not.
func (s *Session) checkSecret(secret []byte, quoted bool) string {
	if s.clientHash != nil {
		switch {
		case len(secret) != len(s.clientHash):
			return "Wrong length for safe cookie response."
		case subtle.ConstantTimeCompare(secret, s.clientHash) != 1:
			return "Safe cookie response did not match expected value."
		}
		return ""
	}
	a := s.auth
	if a == nil || !a.null && a.cookie == nil && len(a.passwords) == 0 {
		// A nil or zero Auth, not one from NewAuth: fail closed. Not tor's
		// words; tor cannot be without a method.
		return "No authentication method is configured."
	}
	if a.null {
		return ""
	}
	cookieReason := ""
	if a.cookie != nil {
		switch {
		case len(secret) != CookieLen:
			cookieReason = "Wrong length on authentication cookie."
		case subtle.ConstantTimeCompare(secret, a.cookie) != 1:
			cookieReason = "Authentication cookie did not match expected value."
		default:
			return ""
		}
	}
	for _, p := range a.passwords {
		if p.Matches(secret) {
			return ""
		}
	}
	switch {
	case a.cookie != nil && len(a.passwords) > 0:
		return "Password did not match HashedControlPassword *or* authentication cookie."
	case len(a.passwords) > 0 && !quoted:
		return "Password did not match HashedControlPassword value from configuration. Maybe you tried a plain text password? If so, the standard requires that you put it in double quotes."
	case len(a.passwords) > 0:
		return "Password did not match HashedControlPassword value from configuration"
	}
	return cookieReason
}
