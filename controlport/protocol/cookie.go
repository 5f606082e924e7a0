package protocol

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
)

// CookieLen is the length of an authentication cookie.
const CookieLen = 32

// The HMAC keys of SAFECOOKIE, fixed by the control protocol.
const (
	serverToControllerKey = "Tor safe cookie authentication server-to-controller hash"
	controllerToServerKey = "Tor safe cookie authentication controller-to-server hash"
)

// WriteCookieFile writes a fresh random cookie to path with mode 0600,
// replacing any file there, and returns it. The file is written to a
// temporary name and renamed, so a controller never reads half a cookie.
func WriteCookieFile(path string) ([]byte, error) {
	cookie := randomBytes(CookieLen)
	tmp, err := os.CreateTemp(filepath.Dir(path), ".control_auth_cookie-*")
	if err != nil {
		return nil, fmt.Errorf("protocol: cookie file: %w", err)
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("protocol: cookie file: %w", err)
	}
	if _, err := tmp.Write(cookie); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("protocol: cookie file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("protocol: cookie file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("protocol: cookie file: %w", err)
	}
	return cookie, nil
}

// randomBytes returns n bytes from crypto/rand, which cannot fail: since
// Go 1.24 it ends the program rather than return an error.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// safeCookieHash is HMAC-SHA256(key, cookie ‖ client nonce ‖ server nonce).
func safeCookieHash(key string, cookie, clientNonce, serverNonce []byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	m.Write(cookie)
	m.Write(clientNonce)
	m.Write(serverNonce)
	return m.Sum(nil)
}
