//go:build !unix

package hostile

import (
	"net"
	"time"

	"github.com/conninfo/conninfo/controlport/controlporttest"
)

// peekConn tells whether bytes wait unread on c and whether its peer has
// closed it, reading with a short deadline (one already passed would not
// even look); what it reads is lost.
func peekConn(c net.Conn) (bytes, closed bool) {
	c.SetReadDeadline(time.Now().Add(time.Millisecond))
	n, err := c.Read(make([]byte, 1))
	return n > 0, controlporttest.IsClosed(err)
}
