package consensus_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the
// concurrency tests start several.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
