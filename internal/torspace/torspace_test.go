package torspace_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/conninfo/conninfo/internal/torspace"
)

func TestIsSpace(t *testing.T) {
	for c := range 256 {
		want := c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
		assert.Equal(t, want, torspace.IsSpace(byte(c)), "byte %#02x", c)
	}
}

func ExampleTrim() {
	fmt.Printf("%q %q %q\n", torspace.Trim("\tversion\r"), torspace.Trim("a b"), torspace.Trim(" \x85 "))
	// Output: "version" "a b" "\x85"
}
