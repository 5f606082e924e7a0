package hostile

import (
	"bufio"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/stretchr/testify/require"
)

// Pipelined writes 10,000 GETINFO lines on one connection from one
// goroutine while reading on another: "version" and "nosuch<i>" in turn.
// Every one must be answered, in order: the version, or
// `552 Unrecognized key "nosuch<i>"`.
func Pipelined(t testing.TB, addr string, auth controlporttest.Auth) {
	const n = 10000
	c := controlporttest.Dial(t, "tcp", addr)
	defer c.Close()
	c.Authenticate(auth)
	want := version(t, c)

	var wg sync.WaitGroup
	var werr error
	defer wg.Wait()
	defer c.Close() // ends the writer if a check below fails
	require.NoError(t, c.Conn.SetDeadline(time.Now().Add(60*time.Second)))
	wg.Go(func() {
		w := bufio.NewWriter(c.Conn)
		for i := range n {
			if i%2 == 0 {
				w.WriteString("GETINFO version\r\n")
			} else {
				fmt.Fprintf(w, "GETINFO nosuch%d\r\n", i)
			}
		}
		werr = w.Flush()
	})
	start := time.Now()
	for i := range n {
		rep, err := controlporttest.ReadReply(c.Reader())
		require.NoError(t, err, "reply %d", i)
		if i%2 == 0 {
			require.Equal(t, want, rep.Lines, "reply %d", i)
		} else {
			require.Equal(t, []string{fmt.Sprintf(`552 Unrecognized key "nosuch%d"`, i)}, rep.Lines, "reply %d", i)
		}
	}
	wg.Wait()
	require.NoError(t, werr)
	t.Logf("%d pipelined GETINFOs answered in order in %v", n, time.Since(start).Round(time.Millisecond))
	require.Equal(t, want, version(t, c))
	Served(t, addr, auth)
}
