package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/conninfo/conninfo/client"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/scrub"
)

// A controller reads a relay's connections as typed entries.
func Example() {
	// A relay to read: the guard fixture, served on loopback.
	reg, _, _ := connstatetest.LoadNamed("guard")
	mux := getinfo.NewMux()
	(&getinfo.Conns{Source: reg, Policy: scrub.TestNetwork()}).Register(mux)
	srv, _ := controlport.New(controlport.Config{Mux: mux, NullAuth: true})
	l, _ := srv.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Close()

	c, err := client.Dial(context.Background(), l.Addr().String(), client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	entries, err := c.ConnAll(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	e := entries[0]
	fmt.Println(len(entries), e.ConnID, e.Flags)
	// Output: 57 1 IXt
}
