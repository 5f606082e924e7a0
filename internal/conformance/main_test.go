package conformance_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves a goroutine behind (tor is a
// process, stopped and reaped by each test's cleanup).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
