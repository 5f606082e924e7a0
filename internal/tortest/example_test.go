package tortest_test

import (
	"fmt"
	"testing"

	"github.com/conninfo/conninfo/internal/tortest"
)

// A test starts an offline tor relay (an ORPort that DisableNetwork keeps
// closed) and talks to its control port.
func ExampleStart() {
	t := &testing.T{} // in a test, its own *testing.T
	tor := tortest.Start(t, "ORPort 127.0.0.1:39101", "Nickname example")
	fmt.Println(tor.Addr, tor.CookiePath)
}
