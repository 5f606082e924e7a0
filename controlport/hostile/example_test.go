package hostile_test

import (
	"fmt"
	"testing"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/controlport/hostile"
	"github.com/conninfo/conninfo/getinfo"
)

// A check runs against any control port on loopback; outside a test,
// testing.Benchmark gives it a testing.TB.
func ExampleServed() {
	ok := testing.Benchmark(func(b *testing.B) {
		if b.N > 1 {
			return // once is the check
		}
		s := controlporttest.NewServer(b, controlport.Config{Mux: getinfo.NewMux(), NullAuth: true})
		hostile.Served(b, s.Addr, s.Auth)
	}).N > 0
	fmt.Println("served:", ok)
	// Output: served: true
}
