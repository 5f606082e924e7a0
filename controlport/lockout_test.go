package controlport_test

import (
	"testing"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/hostile"
)

// The operator always gets in: one pausing 50 ms between the steps of
// authenticating succeeds 20 times out of 20 while two goroutines churn
// silent connections as fast as they can, with the default limits.
func TestOperatorGetsInDuringChurn(t *testing.T) {
	s := startServer(t, controlport.Config{CookieFile: t.TempDir() + "/control_auth_cookie"})
	hostile.SilentFlood(t, s.Addr, s.Auth)
}
