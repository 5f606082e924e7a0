package controlport_test

import (
	"bufio"
	"encoding/hex"
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

	"github.com/conninfo/conninfo/controlport"
)

// churn opens silent connections to addr as fast as it can on two
// goroutines, each keeping its last 64 open, until stop is closed.
func churn(addr string, stop <-chan struct{}) (opened *atomic.Int64, wait func()) {
	opened = new(atomic.Int64)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			var ring [64]net.Conn
			for i := 0; ; i++ {
				select {
				case <-stop:
					for _, c := range ring {
						if c != nil {
							c.Close()
						}
					}
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, time.Second)
				if err != nil {
					continue
				}
				opened.Add(1)
				if old := ring[i%len(ring)]; old != nil {
					old.Close()
				}
				ring[i%len(ring)] = c
			}
		})
	}
	return opened, wg.Wait
}

// operator authenticates as a person would with a slow tool: it asks
// PROTOCOLINFO on connecting (as stem, bine and nyx do), pauses, reads
// the cookie file, pauses, authenticates and asks a key.
func operator(addr, cookieFile string, pause time.Duration) error {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(nc)
	expect := func(want string) error {
		got := make([]byte, len(want))
		if n, err := io.ReadFull(r, got); err != nil {
			return fmt.Errorf("after %q: %w", got[:n], err)
		}
		if string(got) != want {
			return fmt.Errorf("got %q, want %q", got, want)
		}
		return nil
	}
	if _, err := io.WriteString(nc, "PROTOCOLINFO 1\r\n"); err != nil {
		return err
	}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return fmt.Errorf("PROTOCOLINFO: %w", err)
		}
		if line == "250 OK\r\n" {
			break
		}
	}
	time.Sleep(pause)
	cookie, err := os.ReadFile(cookieFile)
	if err != nil {
		return err
	}
	time.Sleep(pause)
	if _, err := io.WriteString(nc, "AUTHENTICATE "+hex.EncodeToString(cookie)+"\r\nGETINFO uptime\r\n"); err != nil {
		return err
	}
	return expect("250 OK\r\n250-uptime=79\r\n250 OK\r\n")
}

// The operator always gets in: an operator pausing 50 ms between the steps
// of authenticating succeeds 20 times out of 20 while two goroutines churn
// silent connections as fast as they can, with the default limits.
func TestOperatorGetsInDuringChurn(t *testing.T) {
	s := startServer(t, controlport.Config{CookieFile: t.TempDir() + "/control_auth_cookie"})
	stop := make(chan struct{})
	opened, wait := churn(s.Addr, stop)
	defer wait()
	defer close(stop)

	const rounds = 20
	var failures []string
	for i := range rounds {
		if err := operator(s.Addr, s.CookieFile(), 50*time.Millisecond); err != nil {
			failures = append(failures, fmt.Sprintf("round %d: %v", i, err))
		}
	}
	t.Logf("%d silent connections opened meanwhile", opened.Load())
	assert.Empty(t, failures, "%d of %d operators locked out:\n%s", len(failures), rounds, strings.Join(failures, "\n"))
	require.Greater(t, opened.Load(), int64(1000), "the churn must be heavy enough to fill the server many times over")
}
