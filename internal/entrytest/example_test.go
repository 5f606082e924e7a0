package entrytest_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/internal/entrytest"
)

// Every entry drawn has a CONN_ID and a direction.
func TestEntryIsValid(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		e := entrytest.Entry().Draw(t, "entry")
		assert.NotZero(t, e.ConnID)
		assert.NotZero(t, e.Flags.Direction)
		assert.NotZero(t, e.Flags.Usage)
	})
}

// A property test draws entries from Entry; Example draws one for the
// same seed twice and gets the same entry.
func Example() {
	a := entrytest.Entry().Example(7)
	b := entrytest.Entry().Example(7)
	fmt.Println(a == b, a.ConnID > 0)
	// Output: true true
}
