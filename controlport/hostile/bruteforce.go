package hostile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/stretchr/testify/require"
)

// attempt is one wrong authentication: what is sent, and the one reply
// line tor sends before closing.
type attempt struct {
	name      string
	challenge bool // run AUTHCHALLENGE SAFECOOKIE first
	send      string
	want      string
}

const (
	invalidHex  = "551 Invalid hexadecimal encoding.  Maybe you tried a plain text password?  If so, the standard requires that you put it in double quotes."
	authFailed  = "515 Authentication failed: "
	passwordBad = authFailed + "Password did not match HashedControlPassword value from configuration"
	maybePlain  = ". Maybe you tried a plain text password? If so, the standard requires that you put it in double quotes."
)

// wrongSecrets are the wrong authentications for auth, with tor's answers.
func wrongSecrets(t testing.TB, auth controlporttest.Auth) []attempt {
	t.Helper()
	if auth.CookieFile != "" {
		wrong := cookie(t, auth)
		for i := range wrong {
			wrong[i] ^= 0x5a
		}
		return []attempt{
			{name: "wrong cookie", send: "AUTHENTICATE " + hex.EncodeToString(wrong), want: authFailed + "Authentication cookie did not match expected value."},
			{name: "short cookie", send: "AUTHENTICATE 0011", want: authFailed + "Wrong length on authentication cookie."},
			{name: "no cookie", send: "AUTHENTICATE", want: authFailed + "Wrong length on authentication cookie."},
			{name: "quoted password", send: `AUTHENTICATE "wrong password"`, want: authFailed + "Wrong length on authentication cookie."},
			{name: "non-hex", send: "AUTHENTICATE xyz", want: invalidHex},
			{name: "odd hex", send: "AUTHENTICATE abc", want: invalidHex},
			{name: "wrong safe cookie", challenge: true, send: "AUTHENTICATE " + hex.EncodeToString(wrong), want: authFailed + "Safe cookie response did not match expected value."},
			{name: "short safe cookie", challenge: true, send: "AUTHENTICATE 00", want: authFailed + "Wrong length for safe cookie response."},
		}
	}
	return []attempt{
		{name: "wrong quoted password", send: `AUTHENTICATE "wrong password"`, want: passwordBad},
		{name: "wrong hex password", send: "AUTHENTICATE " + hex.EncodeToString([]byte("wrong password")), want: passwordBad + maybePlain},
		{name: "no password", send: "AUTHENTICATE", want: passwordBad + maybePlain},
		{name: "non-hex", send: "AUTHENTICATE wrong", want: invalidHex},
		{name: "quoted with escapes", send: `AUTHENTICATE "wr\"ong\\"`, want: passwordBad},
		{name: "safe cookie without a cookie", challenge: true, want: "515 Cookie authentication is disabled"},
	}
}

var challengeRE = regexp.MustCompile(`^250 AUTHCHALLENGE SERVERHASH=[0-9A-F]{64} SERVERNONCE=[0-9A-F]{64}$`)

// try makes one wrong authentication on a new connection; it runs on any
// goroutine and reports what went wrong.
func try(addr string, a attempt) error {
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := nc.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	r := bufio.NewReader(nc)
	exchange := func(line string) ([]string, error) {
		if _, err := io.WriteString(nc, line+"\r\n"); err != nil {
			return nil, err
		}
		rep, err := controlporttest.ReadReply(r)
		return rep.Lines, err
	}
	if a.challenge {
		nonce := make([]byte, 32)
		rand.Read(nonce)
		lines, err := exchange("AUTHCHALLENGE SAFECOOKIE " + hex.EncodeToString(nonce))
		switch {
		case err != nil:
			return fmt.Errorf("AUTHCHALLENGE: %w", err)
		case a.send == "": // the challenge itself is refused
			if len(lines) != 1 || lines[0] != a.want {
				return fmt.Errorf("AUTHCHALLENGE: got %q, want %q", lines, a.want)
			}
			return closed(nc, r)
		case len(lines) != 1 || !challengeRE.MatchString(lines[0]):
			return fmt.Errorf("AUTHCHALLENGE: got %q", lines)
		}
	}
	lines, err := exchange(a.send)
	if err != nil {
		return fmt.Errorf("%s: %w", a.send, err)
	}
	if len(lines) != 1 || lines[0] != a.want {
		return fmt.Errorf("%s: got %q, want %q", a.send, lines, a.want)
	}
	return closed(nc, r)
}

// closed reads until the end of input, which must come at once, with
// nothing more.
func closed(nc net.Conn, r *bufio.Reader) error {
	if err := nc.SetReadDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	rest, err := io.ReadAll(r)
	switch {
	case len(rest) > 0:
		return fmt.Errorf("bytes after the refusal: %q", rest)
	case err != nil && !controlporttest.IsClosed(err):
		return fmt.Errorf("not closed after the refusal: %w", err)
	}
	return nil
}

// BruteForce makes 200 wrong authentications, four connections at a time,
// cycling through wrong cookies (wrong value, length, hex, and SAFECOOKIE
// responses) or wrong passwords (quoted, hex, none): each must get tor's 515
// or 551 line and a close. The right secret must work afterwards. With NULL
// authentication every secret is right: it skips.
func BruteForce(t testing.TB, addr string, auth controlporttest.Auth) {
	requireLoopback(t, addr)
	if auth.IsNull() {
		t.Skip("NULL authentication: there is no wrong secret")
	}
	const n, workers = 200, 4
	attempts := wrongSecrets(t, auth)
	var next atomic.Int64
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				a := attempts[i%len(attempts)]
				if err := try(addr, a); err != nil {
					errs <- fmt.Errorf("attempt %d (%s): %w", i, a.name, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 10 {
			t.Error(err)
		}
	}
	require.Zero(t, failed, "of %d wrong authentications, %d were not refused as tor does", n, failed)
	t.Logf("%d wrong authentications refused and closed in %v", n, time.Since(start).Round(time.Millisecond))
	Served(t, addr, auth)
}
