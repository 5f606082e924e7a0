package controlporttest

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/conninfo/conninfo/controlport/protocol"
)

// Auth says how a controller authenticates: with the cookie read from
// CookieFile, with Password (sent as a QuotedString), or, when both are
// empty, with no secret at all (NULL authentication).
type Auth struct {
	CookieFile string
	Password   string
}

// IsNull reports whether a gives no secret.
func (a Auth) IsNull() bool { return a.CookieFile == "" && a.Password == "" }

// Line returns the AUTHENTICATE command that succeeds, without its CR LF:
// the cookie in hex, the password quoted, or no argument.
func (a Auth) Line() (string, error) {
	switch {
	case a.CookieFile != "":
		cookie, err := os.ReadFile(a.CookieFile)
		if err != nil {
			return "", fmt.Errorf("controlporttest: %w", err)
		}
		if len(cookie) != protocol.CookieLen {
			return "", fmt.Errorf("controlporttest: %s holds %d bytes, not a %d-byte cookie", a.CookieFile, len(cookie), protocol.CookieLen)
		}
		return "AUTHENTICATE " + hex.EncodeToString(cookie), nil
	case a.Password != "":
		return "AUTHENTICATE " + Quote(a.Password), nil
	}
	return "AUTHENTICATE", nil
}

// Quote makes s a QuotedString as tor reads one: between double quotes, a
// backslash takes the next byte literally.
func Quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
