package hostile

import (
	"bufio"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/stretchr/testify/require"
)

// TooManyControllers fills the server to lim.MaxControllers (less
// lim.Held, the caller's own connections), each authenticated, then opens
// six more: each extra one must be refused when it authenticates, with one
// 451 line ("Resource exhausted"), and closed. The admitted ones must all
// still answer GETINFO, and a place freed must be given to the next
// controller, as must one once all are closed. Connections of earlier
// checks that the server has not yet seen close may take places for a
// moment: then it starts over, for up to 10 s.
func TooManyControllers(t testing.TB, addr string, auth controlporttest.Auth, lim Limits) {
	requireLoopback(t, addr)
	if lim.MaxControllers == 0 {
		t.Skip("MaxControllers unknown")
	}
	const extra = 6
	free := lim.MaxControllers - lim.Held
	require.Positive(t, free)
	var admitted []*controlporttest.Client
	closeAll := func() {
		for _, c := range admitted {
			c.Close()
		}
		admitted = admitted[:0]
	}
	defer closeAll()
	authLine := authLine(t, auth) + "\r\n"
	giveUp := time.Now().Add(10 * time.Second)
fill:
	for attempt := 0; attempt < 100; attempt++ {
		closeAll()
		for range free {
			c := controlporttest.Dial(t, "tcp", addr)
			admitted = append(admitted, c)
			c.Send(authLine)
			require.NoError(t, c.Conn.SetReadDeadline(time.Now().Add(ioTimeout)))
			rep, err := controlporttest.ReadReply(c.Reader())
			if err == nil && rep.Code == "451" {
				// A place still taken by a connection the server has not
				// seen close: start over.
				require.True(t, time.Now().Before(giveUp), "only %d of %d places free after 10 s", len(admitted)-1, free)
				time.Sleep(100 * time.Millisecond)
				continue fill
			}
			require.NoError(t, err)
			require.Equal(t, []string{"250 OK"}, rep.Lines)
		}
		t.Logf("%d controllers admitted (attempt %d), %d held by the caller", free, attempt+1, lim.Held)
		break
	}
	require.Len(t, admitted, free, "controllers admitted")

	for i := range extra {
		c := controlporttest.Dial(t, "tcp", addr)
		start := time.Now()
		rep := c.Command(strings.TrimSuffix(authLine, "\r\n"))
		require.Len(t, rep.Lines, 1, "extra controller %d: %q", i, rep.Lines)
		require.Equal(t, "451", rep.Code, "extra controller %d beyond %d: %q", i, lim.MaxControllers, rep.Lines)
		c.ExpectClosed()
		require.Less(t, time.Since(start), Prompt, "extra controller %d refused after %v", i, time.Since(start))
		c.Close()
	}

	for i, c := range admitted {
		require.Equal(t, "250 OK", version(t, c)[1], "admitted controller %d", i)
	}

	// A place freed goes to the next controller, once the server sees it free.
	admitted[0].Close()
	admitted = admitted[1:]
	require.Eventually(t, func() bool { return try1(addr, authLine) }, 5*time.Second, 20*time.Millisecond, "a freed place is given to the next controller")
	closeAll()
	// The places come back as the server sees the closes; until then a
	// new controller may still be turned away.
	require.Eventually(t, func() bool { return try1(addr, authLine) }, 5*time.Second, 20*time.Millisecond, "places given back")
}

// try1 reports whether a new controller is admitted and authenticates.
func try1(addr, authLine string) bool {
	nc, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		return false
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(nc, authLine); err != nil {
		return false
	}
	rep, err := controlporttest.ReadReply(bufio.NewReader(nc))
	return err == nil && len(rep.Lines) == 1 && rep.Lines[0] == "250 OK"
}
