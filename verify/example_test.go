package verify_test

import (
	"context"
	"fmt"
	"net"
	"os"

	"github.com/conninfo/conninfo/verify"
)

// The sockets of this very process: a loopback connection shows as its
// two ends.
func ExampleSockets() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		panic(err)
	}
	defer s.Close()

	sockets, err := verify.Sockets(context.Background(), int32(os.Getpid()))
	if err != nil {
		fmt.Println("this OS does not tell:", err)
		return
	}
	ends := 0
	for _, x := range sockets {
		if x.Local == c.LocalAddr().(*net.TCPAddr).AddrPort() || x.Remote == c.LocalAddr().(*net.TCPAddr).AddrPort() {
			ends++
		}
	}
	fmt.Println(ends)
	// Output: 2
}
