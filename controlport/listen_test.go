package controlport_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/getinfo"
)

// claimingListener is a loopback listener that reports another address, as
// a listener on a public interface would: Serve must judge by Addr.
type claimingListener struct {
	net.Listener
	addr net.Addr
}

func (l claimingListener) Addr() net.Addr { return l.addr }

// Serve applies Listen's rule to listeners it did not make: loopback TCP
// and unix sockets only, unless AllowNonLoopback.
func TestServeRefusesNonLoopback(t *testing.T) {
	for _, allow := range []bool{false, true} {
		srv, err := controlport.New(controlport.Config{Mux: getinfo.NewMux(), NullAuth: true, AllowNonLoopback: allow})
		require.NoError(t, err)
		for _, addr := range []net.Addr{
			&net.TCPAddr{IP: net.IPv4zero, Port: 9051},
			&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 9051},
			&net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 9051},
			&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9051}, // not a kind Serve knows
		} {
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			l := claimingListener{inner, addr}
			if allow {
				done := make(chan error, 1)
				go func() { done <- srv.Serve(l) }()
				c, err := net.Dial("tcp", inner.Addr().String())
				require.NoError(t, err, addr)
				c.Close()
				require.NoError(t, srv.Close())
				assert.ErrorIs(t, <-done, controlport.ErrServerClosed, "allowed: %v is served", addr)
				srv, err = controlport.New(controlport.Config{Mux: getinfo.NewMux(), NullAuth: true, AllowNonLoopback: true})
				require.NoError(t, err)
				continue
			}
			err = srv.Serve(l)
			assert.ErrorContains(t, err, "not a loopback address", "%v", addr)
			_, err = inner.Accept()
			assert.ErrorIs(t, err, net.ErrClosed, "Serve closes a listener it refuses")
		}
	}
}
