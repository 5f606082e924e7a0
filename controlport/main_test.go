package controlport_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: every server
// must stop all of its connections.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
