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

// The floods' operator: 20 rounds, pausing 50 ms between steps.
const (
	floodRounds = 20
	floodPause  = 50 * time.Millisecond
)

// SilentFlood has two goroutines open silent connections as fast as they
// can, each keeping its last 2,048 open, more than a listener's accept
// queue holds, while an operator authenticates 20 times in a row as a
// person with a slow tool would: it asks PROTOCOLINFO on connecting (as
// stem, bine and nyx do), pauses 50 ms, reads its secret (the cookie file,
// or the password), pauses 50 ms, authenticates and asks GETINFO version.
// It must get in every time, within Prompt besides its pauses, and no
// silent connection may get a byte. The flood must reach a thousand
// connections, or the check proves nothing.
func SilentFlood(t testing.TB, addr string, auth controlporttest.Auth) {
	flood(t, addr, auth, floodAttack{keep: 2048, silent: true})
}

// TrickleFlood is SilentFlood with 64 connections that stay open, each
// sending a byte every 20 ms and never ending a line (one the server closes
// is opened again), so that a server which reckoned bytes as progress
// would keep them over the operator. None may get a byte back.
func TrickleFlood(t testing.TB, addr string, auth controlporttest.Auth) {
	flood(t, addr, auth, floodAttack{keep: 32, stay: true, silent: true, every: 20 * time.Millisecond, poke: "P"})
}

// BadLineFlood is TrickleFlood with connections that each send an
// AUTHCHALLENGE without arguments every 20 ms, which tor answers with 512
// and does not close: lines that make no progress must not keep a place
// over the operator's.
func BadLineFlood(t testing.TB, addr string, auth controlporttest.Auth) {
	flood(t, addr, auth, floodAttack{keep: 32, stay: true, every: 20 * time.Millisecond, poke: "AUTHCHALLENGE\r\n"})
}

// floodAttack is what the flooding connections do.
type floodAttack struct {
	keep   int           // connections each of the two goroutines keeps open
	stay   bool          // keep the same ones open, replacing only those closed; else dial without end
	silent bool          // none may get a byte
	every  time.Duration // how often each is poked with poke; 0 for never
	poke   string
}

func flood(t testing.TB, addr string, auth controlporttest.Auth, a floodAttack) {
	requireLoopback(t, addr)
	stop := make(chan struct{})
	var opened, answered atomic.Int64
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { a.run(addr, stop, &opened, &answered) })
	}
	var failures []string
	for i := range floodRounds {
		start := time.Now()
		err := slowOperator(addr, auth, floodPause)
		if took := time.Since(start); err == nil && took > 2*floodPause+Prompt {
			err = fmt.Errorf("in after %v: not prompt", took)
		}
		if err != nil {
			failures = append(failures, fmt.Sprintf("round %d: %v", i, err))
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d flooding connections opened while %d operators authenticated", opened.Load(), floodRounds-len(failures))
	assert.Empty(t, failures, "%d of %d operators kept out:\n%s", len(failures), floodRounds, strings.Join(failures, "\n"))
	if a.silent {
		assert.Zero(t, answered.Load(), "flooding connections got bytes")
	}
	if !a.stay {
		require.Greater(t, opened.Load(), int64(1000), "the flood must fill the server many times over")
	}
	Served(t, addr, auth)
}

// run floods addr until stop is closed: it keeps a.keep connections open,
// the oldest replaced by a new one as fast as it can dial, and pokes them.
func (a floodAttack) run(addr string, stop <-chan struct{}, opened, answered *atomic.Int64) {
	ring := make([]net.Conn, a.keep)
	drop := func(c net.Conn) {
		if bytes, _ := peekConn(c); bytes {
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
	lastPoke := time.Now()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if a.every > 0 && time.Since(lastPoke) >= a.every {
			for _, c := range ring {
				if c != nil {
					c.SetWriteDeadline(time.Now().Add(time.Millisecond))
					io.WriteString(c, a.poke) // a closed one fails: it is replaced in turn
				}
			}
			lastPoke = time.Now()
		}
		slot := i % a.keep
		if old := ring[slot]; old != nil && a.stay {
			bytes, closed := peekConn(old)
			if bytes {
				answered.Add(1)
				old.SetReadDeadline(time.Now().Add(time.Millisecond))
				io.Copy(io.Discard, old) // the 512s of BadLineFlood, up to the deadline
			}
			if !closed {
				if slot == a.keep-1 {
					time.Sleep(time.Millisecond) // all open: wait for the next poke
				}
				continue
			}
			old.Close()
			ring[slot] = nil
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			continue // the accept queue is full: try again
		}
		opened.Add(1)
		if old := ring[slot]; old != nil {
			drop(old)
		}
		ring[slot] = c
	}
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
			return fmt.Errorf("after PROTOCOLINFO and the pauses (%v since connecting): %q, %v", time.Since(connected), rep.Lines, err)
		}
	}
	return nil
}
