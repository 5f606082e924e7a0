package hostile

import (
	"strings"
	"testing"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/stretchr/testify/require"
)

// LongLine sends a 4 MiB GETINFO line, before and after authenticating, in
// 64 KiB writes, and has a well-behaved controller served halfway through.
// The answer must be "500 Line too long.\r\n" once the LF arrives, then a
// close.
func LongLine(t testing.TB, addr string, auth controlporttest.Auth) {
	const size, chunk = 4 << 20, 64 << 10
	block := strings.Repeat("k", chunk)
	for _, authed := range []bool{true, false} {
		sub(t, map[bool]string{true: "after auth", false: "before auth"}[authed], func(t testing.TB) {
			c := controlporttest.Dial(t, "tcp", addr)
			defer c.Close()
			if authed {
				c.Authenticate(auth)
			}
			c.Send("GETINFO ")
			for i := range size / chunk {
				c.Send(block)
				if i == size/chunk/2 {
					Served(t, addr, auth)
				}
			}
			c.Send("\r\n")
			require.Equal(t, []string{"500 Line too long."}, c.ReadReply().Lines)
			c.ExpectClosed()
		})
	}
	Served(t, addr, auth)
}
