package controlport_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/getinfo"
)

// testPassword hashes to torHash: the HashedControlPassword of the tor
// instance in the reference transcripts.
const (
	testPassword = "test-password"
	torHash      = "16:793C5782A9AFB67F60FFC4D41C7894F57AE86DF69D087F8CC4FBDD6846"
)

// startServer serves cfg on a loopback port until the test ends; a nil Mux
// gets one answering "uptime" with 79.
func startServer(t *testing.T, cfg controlport.Config) *controlporttest.Server {
	t.Helper()
	if cfg.Mux == nil {
		cfg.Mux = getinfo.NewMux()
		cfg.Mux.HandleFunc("uptime", "Seconds up.", func(dst []byte, _ string) ([]byte, error) { return append(dst, "79"...), nil })
	}
	return controlporttest.NewServer(t, cfg)
}

func cookieServer(t *testing.T) *controlporttest.Server {
	return startServer(t, controlport.Config{CookieFile: filepath.Join(t.TempDir(), "control_auth_cookie")})
}

func protocolInfo(methods, cookieFile, version string) string {
	s := "250-PROTOCOLINFO 1\r\n250-AUTH METHODS=" + methods
	if cookieFile != "" {
		s += ` COOKIEFILE="` + strings.ReplaceAll(cookieFile, `"`, `\"`) + `"`
	}
	return s + "\r\n250-VERSION Tor=\"" + version + "\"\r\n250 OK\r\n"
}

func deadline() time.Time { return time.Now().Add(5 * time.Second) }
