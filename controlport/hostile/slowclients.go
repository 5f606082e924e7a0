package hostile

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/stretchr/testify/require"
)

// SlowClients opens lim.MaxUnauthenticated-1 connections at once: half
// trickle the first bytes of a command, one every 200 ms, and never finish
// the line; half send nothing. Meanwhile, round after round, a well-behaved
// controller is served promptly (see Served), and the silent ones are then
// still open, neither answered nor closed. With lim.AuthTimeout set, every
// one of them must then be closed by the server, without a byte of reply,
// by AuthTimeout after it connected (plus slack): trickling bytes does not
// extend the time to authenticate. Without lim.MaxUnauthenticated it opens
// 50, checks only the rounds, and skips the rest: then some may give way.
func SlowClients(t testing.TB, addr string, auth controlporttest.Auth, lim Limits) {
	requireLoopback(t, addr)
	const (
		trickle = "PROTOCOLINFO" // never finished: no LF
		pause   = 200 * time.Millisecond
		rounds  = 6
	)
	n := 50
	if lim.MaxUnauthenticated > 1 {
		n = lim.MaxUnauthenticated - 1
	}
	conns := make([]net.Conn, 0, n)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var stopOnce sync.Once
	halt := func() { stopOnce.Do(func() { close(stop) }) }
	defer func() {
		halt()
		for _, nc := range conns {
			nc.Close()
		}
		wg.Wait()
	}()
	opened := time.Now()
	for range n {
		nc, err := net.DialTimeout("tcp", addr, ioTimeout)
		require.NoError(t, err)
		conns = append(conns, nc)
	}
	var trickled atomic.Int64
	for i := 0; i < n; i += 2 {
		nc := conns[i]
		wg.Go(func() {
			tick := time.NewTicker(pause)
			defer tick.Stop()
			for j := range len(trickle) {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				nc.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := nc.Write([]byte{trickle[j]}); err != nil {
					return // the server closed it: fine
				}
				trickled.Add(1)
			}
		})
	}
	for round := range rounds {
		sub(t, fmt.Sprintf("round %d", round), func(t testing.TB) { Served(t, addr, auth) })
		time.Sleep(pause)
	}
	t.Logf("%d bytes trickled by %d slow clients over %v", trickled.Load(), n/2, time.Since(opened).Round(time.Millisecond))

	sub(t, "silent ones held meanwhile", func(t testing.TB) {
		// They were admitted and are still open, so the rounds above were
		// served beside them: a read finds neither bytes nor a close.
		if lim.MaxUnauthenticated == 0 {
			t.Skip("MaxUnauthenticated unknown: some may have given way")
		}
		if lim.AuthTimeout != 0 && time.Since(opened) > lim.AuthTimeout-300*time.Millisecond {
			t.Skipf("too close to AuthTimeout (%v) to tell", lim.AuthTimeout)
		}
		limit := time.Now().Add(20 * time.Millisecond)
		b := make([]byte, 64)
		for i := 1; i < n; i += 2 {
			require.NoError(t, conns[i].SetReadDeadline(limit))
			k, err := conns[i].Read(b)
			var ne net.Error
			require.True(t, k == 0 && errors.As(err, &ne) && ne.Timeout(), "silent connection %d: read %q, %v", i, b[:k], err)
		}
	})

	sub(t, "closed after AuthTimeout", func(t testing.TB) {
		if lim.AuthTimeout == 0 || lim.MaxUnauthenticated == 0 {
			t.Skip("AuthTimeout unknown or too long to wait for, or MaxUnauthenticated unknown")
		}
		wg.Wait() // the trickling ends by itself, after len(trickle)*pause
		limit := opened.Add(lim.AuthTimeout + 5*time.Second)
		b := make([]byte, 64)
		for i, nc := range conns {
			require.NoError(t, nc.SetReadDeadline(limit))
			k, err := nc.Read(b)
			require.Zero(t, k, "connection %d got %q", i, b[:k])
			require.True(t, controlporttest.IsClosed(err), "connection %d (%s) still open %v after connecting: %v", i, map[bool]string{true: "trickling", false: "silent"}[i%2 == 0], time.Since(opened), err)
		}
		t.Logf("all %d closed within %v of connecting (AuthTimeout %v)", n, time.Since(opened).Round(time.Millisecond), lim.AuthTimeout)
	})
	halt()
	for _, nc := range conns {
		nc.Close()
	}
	wg.Wait()
	Served(t, addr, auth)
}
