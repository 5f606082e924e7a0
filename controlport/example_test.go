package controlport_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/getinfo"
)

// A relay test harness serves its registry on a loopback control port with
// cookie authentication, as tor does.
func Example() {
	reg := connstate.NewRegistry()
	mux := getinfo.NewMux()
	(&getinfo.Conns{Source: reg}).Register(mux) // the public tier, the default

	dir, _ := os.MkdirTemp("", "controlport")
	defer os.RemoveAll(dir)
	srv, err := controlport.New(controlport.Config{Mux: mux, CookieFile: filepath.Join(dir, "control_auth_cookie")})
	if err != nil {
		panic(err)
	}
	l, err := srv.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())

	// A controller: authenticate with the cookie, ask, quit.
	cookie, _ := os.ReadFile(srv.CookieFile())
	c, _ := net.Dial("tcp", l.Addr().String())
	defer c.Close()
	fmt.Fprintf(c, "AUTHENTICATE %x\r\nGETINFO version conn/all\r\nQUIT\r\n", cookie)
	lines := bufio.NewScanner(c)
	for lines.Scan() {
		fmt.Println(lines.Text())
	}
	// Output:
	// 250 OK
	// 250-version=0.4.9.11
	// 250-conn/all=
	// 250 OK
	// 250 closing connection
}
