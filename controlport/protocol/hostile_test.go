package protocol_test

import (
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/controlport/hostile"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/getinfo"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The checks a bare loop on the kit passes: those of the request side.
// HostileBytes also asks GETCONF, SETEVENTS and USEFEATURE, which the
// example loop does not answer.
// The floods, slow clients and limits test a server's admission, which
// the example loop leaves out (controlport has it).
func TestHostLoopHolds(t *testing.T) {
	const password = "hostile-test"
	auth, err := protocol.NewAuth(protocol.AuthConfig{HashedPasswords: []string{protocol.HashPassword(password)}, Version: "0.4.9.11"})
	require.NoError(t, err)
	mux := getinfo.NewMux()
	mux.HandleFunc("version", "The relay's version.", func(dst []byte, _ string) ([]byte, error) {
		return append(dst, "0.4.9.11"...), nil
	})
	mux.HandleFunc("events/names", "Event names.", func(dst []byte, _ string) ([]byte, error) {
		return append(dst, "CIRC ORCONN BW"...), nil // what the checks ask besides version
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			nc, err := l.Accept()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			require.NoError(t, err)
			mu.Lock()
			open[nc] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serveController(nc, auth, mux)
				mu.Lock()
				delete(open, nc)
				mu.Unlock()
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for nc := range open {
			nc.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	addr := l.Addr().String()
	a := controlporttest.Auth{Password: password}
	t.Run("LongLine", func(t *testing.T) { hostile.LongLine(t, addr, a) })
	t.Run("Pipelined", func(t *testing.T) { hostile.Pipelined(t, addr, a) })
	t.Run("Served", func(t *testing.T) { hostile.Served(t, addr, a) })
}
