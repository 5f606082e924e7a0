package golden_test

import (
	"fmt"

	"github.com/conninfo/conninfo/internal/golden"
)

// Diff quotes each differing line, its line end included, so that a stray
// CR shows.
func ExampleDiff() {
	fmt.Print(golden.Diff([]byte("250-version=1\r\n250 OK\r\n"), []byte("250-version=1\n250 OK\r\n")))
	// Output:
	// line 1:
	//   want "250-version=1\r\n"
	//   got  "250-version=1\n"
}
