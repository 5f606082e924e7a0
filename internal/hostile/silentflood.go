package hostile

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport/controlporttest"
)

// SilentFlood has two goroutines open silent connections as fast as they
// can, each keeping its last 64 open, while an operator authenticates 20
// times in a row as a person with a slow tool would: it asks PROTOCOLINFO
// on connecting (as stem, bine and nyx do), pauses 50 ms, reads its secret
// (the cookie file, or the password), pauses 50 ms, authenticates and asks
// GETINFO version. It must get in every time, and no silent connection may
// get a byte. The flood must reach a thousand connections, or the check
// proves nothing.
func SilentFlood(t testing.TB, addr string, auth controlporttest.Auth) {
	requireLoopback(t, addr)
	const (
		rounds = 20
		pause  = 50 * time.Millisecond
		keep   = 64
	)
	stop := make(chan struct{})
	var opened, answered atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			var ring [keep]net.Conn
			drop := func(c net.Conn) {
				// Anything but a close, or nothing yet, is a byte too many.
				c.SetReadDeadline(time.Now())
				if n, _ := c.Read(make([]byte, 1)); n > 0 {
					answered.Add(1)
				}
				c.Close()
			}
			defer func() {
				for _, c := range ring {
					if c != nil {
						drop(c)
					}
				}
			}()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					continue // the accept queue is full: try again
				}
				opened.Add(1)
				if old := ring[i%keep]; old != nil {
					drop(old)
				}
				ring[i%keep] = c
			}
		})
	}
	var failures []string
	for i := range rounds {
		if err := slowOperator(addr, auth, pause); err != nil {
			failures = append(failures, fmt.Sprintf("round %d: %v", i, err))
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d silent connections opened while %d operators authenticated", opened.Load(), rounds-len(failures))
	assert.Empty(t, failures, "%d of %d operators kept out:\n%s", len(failures), rounds, strings.Join(failures, "\n"))
	assert.Zero(t, answered.Load(), "silent connections got bytes")
	require.Greater(t, opened.Load(), int64(1000), "the flood must fill the server many times over")
	Served(t, addr, auth)
}

// slowOperator authenticates once as SilentFlood describes.
func slowOperator(addr string, auth controlporttest.Auth, pause time.Duration) error {
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return err
	}
	defer nc.Close()
	connected := time.Now()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(nc)
	if _, err := io.WriteString(nc, "PROTOCOLINFO 1\r\n"); err != nil {
		return err
	}
	wrote := time.Since(connected)
	if rep, err := controlporttest.ReadReply(r); err != nil || rep.Last() != "250 OK" {
		return fmt.Errorf("PROTOCOLINFO (sent %v after connecting, answered %v after): %q, %v", wrote, time.Since(connected), rep.Lines, err)
	}
	time.Sleep(pause)
	if auth.CookieFile != "" {
		if _, err := os.ReadFile(auth.CookieFile); err != nil { // as the operator's tool does
			return err
		}
	}
	line, err := auth.Line()
	if err != nil {
		return err
	}
	time.Sleep(pause)
	if _, err := io.WriteString(nc, line+"\r\nGETINFO version\r\n"); err != nil {
		return err
	}
	for _, want := range []string{"250 OK", "250 OK"} {
		rep, err := controlporttest.ReadReply(r)
		if err != nil || rep.Last() != want {
			return fmt.Errorf("after PROTOCOLINFO and the pauses: %q, %v", rep.Lines, err)
		}
	}
	return nil
}
