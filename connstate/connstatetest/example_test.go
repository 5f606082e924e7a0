package connstatetest_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/conninfo/conninfo/connstate/connstatetest"
)

func ExampleLoad() {
	const fixture = `
# a relay peer and a client's first hop on one circuit
conn 17 ORT fp=9695DFC35FFEB861329B9F1AB04C46397020CE31 remote=128.31.0.34:9101 lport=51622 read=1048576 written=524288 age=1h
conn 23 IRt remote=198.51.100.7:50312 lport=9001 read=4096 written=1024 age=42
circ 1041
leg 1041 in 23 read=3072 written=1024
leg 1041 out 17 read=1536 written=2560
`
	reg, clock, err := connstatetest.Load(strings.NewReader(fixture))
	if err != nil {
		panic(err)
	}
	clock.Advance(time.Minute)
	for _, e := range reg.AppendEntries(nil) {
		fmt.Println(e.CircID, e.ConnID, e.Flags, e.Read, e.Uptime)
	}
	// Output:
	// 0 17 ORT 1048576 3660
	// 0 23 IRt 4096 102
	// 1041 17 ORT 1536 3660
	// 1041 23 IRt 3072 102
}

func ExampleBusyRelay() {
	reg, _, err := connstatetest.BusyRelay(1, 10000).Build()
	if err != nil {
		panic(err)
	}
	conns, circuits := reg.Counts()
	fmt.Println(conns, circuits)
	// Output: 10000 20000
}

// Another module's test loads one of conninfo's fixtures by name, and
// moves its state through the handles.
func ExampleFixture_Open() {
	fx, err := connstatetest.ReadNamed("exit")
	if err != nil {
		panic(err)
	}
	l, err := fx.Open()
	if err != nil {
		panic(err)
	}
	conns, circuits := l.Registry.Counts()
	fmt.Println(conns, "connections,", circuits, "circuits, of", connstatetest.FixtureNames())
	l.Conns[40].AddRead(1 << 20)
	fmt.Println(l.Conns[40].Read() >= 1<<20)
	// Output:
	// 10 connections, 4 circuits, of [bridge client empty exit guard hs middle]
	// true
}

// A host's own control loop checks its reply against conninfo's.
func ExampleGolden() {
	want, _ := connstatetest.Golden("empty", "testnet")
	fmt.Printf("%q\n", want)
	// Output: "250-conn/all=\r\n250 OK\r\n"
}
