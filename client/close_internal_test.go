package client

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A server that answers one command with three replies leaves the reader
// holding one reply in the channel and waiting to hand over the next:
// Close must still end it, not wait for it for ever.
func TestCloseWithRepliesOutOfTurn(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	served := make(chan struct{})
	go func() {
		defer close(served)
		nc, err := l.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		r := bufio.NewReader(nc)
		if _, err := r.ReadString('\n'); err != nil {
			return
		}
		// All three in one write: the reader parses the third from its
		// buffer and blocks on the channel at once.
		nc.Write([]byte(strings.Repeat("250 OK\r\n", 3)))
		r.ReadString('\n') // until the client closes
	}()
	nc, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	c := newConn(nc, time.Minute)
	_, err = c.Command(t.Context(), "GETINFO version")
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(c.replies) == 1 }, 10*time.Second, time.Millisecond, "the second reply is held")
	closed := make(chan struct{})
	go func() {
		c.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close waits for a reader that waits to hand over a reply")
	}
	<-served
	_, err = c.Command(t.Context(), "GETINFO version")
	assert.ErrorIs(t, err, ErrClosed)
}
