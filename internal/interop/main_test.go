package interop_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a server's
// connection goroutines, a bine reader, or os/exec's copiers for stem.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
