package hostile_test

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/conninfo/conninfo/internal/hostile"
)

// ReadReply reads one control-port reply and refuses a badly framed one.
func ExampleReadReply() {
	r := bufio.NewReader(strings.NewReader("250+conn/all=\r\n1 0 0 0 0 IRt 0 0 5\r\n.\r\n250 OK\r\n552 Unrecognized key \"x\"\n"))
	reply, err := hostile.ReadReply(r)
	fmt.Println(reply.Code, len(reply.Lines), err)
	_, err = hostile.ReadReply(r) // a bare LF ends this one
	fmt.Println(err != nil)
	// Output:
	// 250 4 <nil>
	// true
}
