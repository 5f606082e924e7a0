package hostile

import (
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/stretchr/testify/require"
)

// Limits is what a check knows of the server's configuration. A zero field
// skips the sub-check that needs it.
type Limits struct {
	// AuthTimeout is the server's Config.AuthTimeout: SlowClients checks
	// that controllers which never authenticate are closed after it.
	AuthTimeout time.Duration
	// WriteTimeout is the server's Config.WriteTimeout: NeverReads checks
	// that a controller which never reads is closed after it.
	WriteTimeout time.Duration
	// MaxControllers is the server's Config.MaxControllers, for
	// TooManyControllers.
	MaxControllers int
	// MaxUnauthenticated is the server's Config.MaxUnauthenticated:
	// SlowClients holds one fewer slow connections, so that all of them
	// stay admitted beside the well-behaved controllers it serves.
	MaxUnauthenticated int
	// Held is how many authenticated connections the caller keeps open to
	// the server while the checks run: they count against MaxControllers.
	Held int
	// SameProcess says the server runs in this process, so that NeverReads
	// can sample its heap.
	SameProcess bool
}

const (
	// Prompt is how soon a well-behaved controller must be answered while
	// hostile ones are connected.
	Prompt = 2 * time.Second
	// ioTimeout bounds every read and write that should not block.
	ioTimeout = controlporttest.Timeout
)

// requireLoopback stops the test unless addr is a loopback IP and port:
// the checks never talk to anything else.
func requireLoopback(t testing.TB, addr string) {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	require.NoError(t, err, "address %q", addr)
	require.True(t, ap.Addr().IsLoopback(), "address %q is not a loopback one", addr)
}

// sub runs f as a subtest of t when t can have them, and inline otherwise.
func sub(t testing.TB, name string, f func(t testing.TB)) {
	t.Helper()
	switch tt := t.(type) {
	case *testing.T:
		tt.Run(name, func(t *testing.T) { f(t) })
	case *testing.B:
		tt.Run(name, func(b *testing.B) { f(b) })
	default:
		f(t)
	}
}

// authLine returns the AUTHENTICATE line that succeeds, without its CR LF.
func authLine(t testing.TB, auth controlporttest.Auth) string {
	t.Helper()
	line, err := auth.Line()
	require.NoError(t, err)
	return line
}

// cookie reads the server's 32-byte cookie.
func cookie(t testing.TB, auth controlporttest.Auth) []byte {
	t.Helper()
	b, err := os.ReadFile(auth.CookieFile)
	require.NoError(t, err)
	require.Len(t, b, 32, "a tor control cookie is 32 bytes")
	return b
}
