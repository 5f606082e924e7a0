package hostile_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/controlport/hostile"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/getinfo"
)

// TestMain fails the run if a check or a server leaves a goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const password = "hostile \"pass\\word\""

// start serves cfg on 127.0.0.1 until the test ends, with a Mux answering
// the conn/ keys and info/names besides the server's own keys, and a
// registry counting its controllers. auth is "cookie", "password" or
// "null". When the test ends, every controller must have left the registry
// (the server closed every connection the checks left), and the server
// must shut down cleanly.
func start(t *testing.T, auth string, cfg controlport.Config) (string, controlporttest.Auth) {
	t.Helper()
	reg := connstate.NewRegistry()
	cfg.Registry = reg
	cfg.Mux = getinfo.NewMux()
	(&getinfo.Conns{Source: reg}).Register(cfg.Mux)
	(&getinfo.InfoNames{}).Register(cfg.Mux)
	switch auth {
	case "cookie":
		cfg.CookieFile = filepath.Join(t.TempDir(), "control_auth_cookie")
	case "password":
		cfg.HashedPasswords = []string{protocol.HashPassword(password)}
	case "null":
		cfg.NullAuth = true
	default:
		t.Fatalf("auth %q", auth)
	}
	s := controlporttest.NewServer(t, cfg)
	t.Cleanup(func() {
		// Registered after NewServer's, so run before the shutdown.
		assert.Eventually(t, func() bool { n, _ := reg.Counts(); return n == 0 }, 10*time.Second, 10*time.Millisecond,
			"controllers left connected on the server")
	})
	a := s.Auth
	if auth == "password" {
		a.Password = password
	}
	return s.Addr, a
}

func TestSlowClients(t *testing.T) {
	const authTimeout = 2 * time.Second
	addr, auth := start(t, "cookie", controlport.Config{AuthTimeout: authTimeout})
	hostile.SlowClients(t, addr, auth, hostile.Limits{AuthTimeout: authTimeout, MaxUnauthenticated: controlport.DefaultMaxUnauthenticated})
}

func TestFloods(t *testing.T) {
	for _, auth := range []string{"cookie", "password"} {
		for name, check := range map[string]func(testing.TB, string, controlporttest.Auth){
			"silent": hostile.SilentFlood, "trickle": hostile.TrickleFlood, "bad lines": hostile.BadLineFlood,
		} {
			t.Run(auth+"/"+name, func(t *testing.T) {
				addr, a := start(t, auth, controlport.Config{})
				check(t, addr, a)
			})
		}
	}
}

func TestLongLine(t *testing.T) {
	addr, auth := start(t, "cookie", controlport.Config{})
	hostile.LongLine(t, addr, auth)
}

func TestPipelined(t *testing.T) {
	addr, auth := start(t, "null", controlport.Config{})
	hostile.Pipelined(t, addr, auth)
}

func TestNeverReads(t *testing.T) {
	const writeTimeout = 500 * time.Millisecond
	addr, auth := start(t, "cookie", controlport.Config{WriteTimeout: writeTimeout})
	hostile.NeverReads(t, addr, auth, hostile.Limits{WriteTimeout: writeTimeout, SameProcess: true})
}

func TestBruteForce(t *testing.T) {
	for _, auth := range []string{"cookie", "password", "null"} {
		t.Run(auth, func(t *testing.T) {
			addr, a := start(t, auth, controlport.Config{})
			hostile.BruteForce(t, addr, a)
		})
	}
}

func TestHostileBytes(t *testing.T) {
	for _, auth := range []string{"cookie", "password", "null"} {
		t.Run(auth, func(t *testing.T) {
			addr, a := start(t, auth, controlport.Config{})
			hostile.HostileBytes(t, addr, a)
		})
	}
}

func TestTooManyControllers(t *testing.T) {
	const max = 5
	addr, auth := start(t, "cookie", controlport.Config{MaxControllers: max})
	hostile.TooManyControllers(t, addr, auth, hostile.Limits{MaxControllers: max})
}

// TestAllOnOneServer runs every check in turn on one server with the
// default limits but for the timeouts, as against a relay.
func TestAllOnOneServer(t *testing.T) {
	const authTimeout, writeTimeout = 2 * time.Second, time.Second
	addr, auth := start(t, "cookie", controlport.Config{AuthTimeout: authTimeout, WriteTimeout: writeTimeout})
	hostile.All(t, addr, auth, hostile.Limits{
		AuthTimeout:        authTimeout,
		WriteTimeout:       writeTimeout,
		MaxControllers:     controlport.DefaultMaxControllers,
		MaxUnauthenticated: controlport.DefaultMaxUnauthenticated,
		SameProcess:        true,
	})
}
