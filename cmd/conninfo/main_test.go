package main

import (
	"bytes"
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/conninfo/conninfo/audit"
	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/tortest"
	"github.com/conninfo/conninfo/options"
	"github.com/conninfo/conninfo/scrub"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func conninfo(t *testing.T, env map[string]string, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = run(context.Background(), args, &out, &errOut, func(k string) string { return env[k] })
	return status, out.String(), errOut.String()
}

// relay serves reg in the test-network tier, with exitRelay as its
// ExitRelay option.
func relay(t *testing.T, reg *connstate.Registry, exitRelay string, cfg controlport.Config) *controlporttest.Server {
	t.Helper()
	cfg.Mux = getinfo.NewMux()
	(&getinfo.Conns{Source: reg, Totals: reg.Totals, Policy: scrub.TestNetwork()}).Register(cfg.Mux)
	set := func(v string) func() []string { return func() []string { return []string{v} } }
	opts, err := options.New(options.Option{Name: "ExitRelay", Type: "Boolean", Values: set(exitRelay)},
		options.Option{Name: "ExitPolicyRejectPrivate", Type: "Boolean", Values: set("1")})
	require.NoError(t, err)
	cfg.Options = opts
	return controlporttest.NewServer(t, cfg)
}

func TestGet(t *testing.T) {
	reg, _, err := connstatetest.LoadNamed("guard")
	require.NoError(t, err)
	srv := relay(t, reg, "0", controlport.Config{})
	status, out, errOut := conninfo(t, nil, "get", "-control", srv.Addr, "traffic/read", "conn/all")
	require.Equal(t, 0, status, errOut)
	assert.True(t, strings.HasPrefix(out, "traffic/read="), out)
	assert.Contains(t, out, "\nconn/all=\n1 0 0 127.0.0.1:45112 9051 IXt", "a multi-line value on lines of its own")
	status, _, errOut = conninfo(t, nil, "get", "-control", srv.Addr, "nope")
	assert.Equal(t, 2, status)
	assert.Contains(t, errOut, `552 Unrecognized key "nope"`)
}

func TestAuditStatuses(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	_, err := reg.Open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("192.0.2.80:443"), Established: true})
	require.NoError(t, err)
	nonExit := relay(t, reg, "0", controlport.Config{})
	exit := relay(t, reg, "1", controlport.Config{})

	status, out, errOut := conninfo(t, nil, "audit", "-control", nonExit.Addr)
	assert.Equal(t, 1, status, errOut)
	assert.Contains(t, out, "critical non-exit-streams 1 outbound connection(s) outside the Tor network on a relay that is not an exit (conns 1)")
	assert.NotContains(t, out, "192.0.2.80", "no address")

	status, out, _ = conninfo(t, nil, "audit", "-json", "-control", nonExit.Addr)
	assert.Equal(t, 1, status)
	assert.Equal(t, `{"detector":"non-exit-streams","severity":"critical","conn_ids":[1],"message":"1 outbound connection(s) outside the Tor network on a relay that is not an exit"}`+"\n", out)

	status, out, _ = conninfo(t, nil, "audit", "-control", exit.Addr)
	assert.Equal(t, 0, status, "an exit's stream is no finding")
	assert.Empty(t, out)
	status, _, _ = conninfo(t, nil, "audit", "-control", exit.Addr, "-no-exit", "-severity", "critical")
	assert.Equal(t, 1, status, "-no-exit overrides GETCONF")
}

func TestErrors(t *testing.T) {
	reg, _, err := connstatetest.LoadNamed("empty")
	require.NoError(t, err)
	srv := relay(t, reg, "0", controlport.Config{HashedPasswords: []string{protocol.HashPassword("secret")}})
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unreachable", nil, []string{"audit", "-control", "127.0.0.1:1"}, "cannot reach the control port 127.0.0.1:1"},
		{"no password", nil, []string{"audit", "-control", srv.Addr}, "wants a password"},
		{"wrong password", nil, []string{"audit", "-control", srv.Addr, "-password", "nope"}, "Authentication failed"},
		{"bad severity", nil, []string{"audit", "-severity", "loud"}, "-severity"},
		{"no command", nil, nil, "usage"},
		{"unknown command", nil, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"get without keys", nil, []string{"get"}, "which keys?"},
		{"top unreachable", nil, []string{"top", "-control", "127.0.0.1:1"}, "cannot reach the control port 127.0.0.1:1"},
		{"top arguments", nil, []string{"top", "conn/all"}, `top: unexpected arguments ["conn/all"]`},
		{"top every", nil, []string{"top", "-every", "0s"}, "-every 0s: want more than 0"},
		{"top sort", nil, []string{"top", "-control", srv.Addr, "-password", "secret", "-sort", "loudest"}, `unknown sort "loudest"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, _, errOut := conninfo(t, tt.env, tt.args...)
			assert.Equal(t, 2, status)
			assert.Contains(t, errOut, tt.want)
		})
	}
	status, _, errOut := conninfo(t, map[string]string{"CONNINFO_PASSWORD": "secret"}, "audit", "-control", srv.Addr)
	assert.Equal(t, 0, status, "the password from the environment: %s", errOut)
}

// A C tor has no conn/all: conninfo says so.
func TestAgainstTor(t *testing.T) {
	tor := tortest.Start(t)
	status, _, errOut := conninfo(t, nil, "audit", "-control", tor.Addr)
	assert.Equal(t, 2, status)
	assert.Contains(t, errOut, "does not answer conn/all (a C tor, or a relay without conninfo)")
	status, out, errOut := conninfo(t, nil, "get", "-control", tor.Addr, "version")
	assert.Equal(t, 0, status, errOut)
	assert.True(t, strings.HasPrefix(out, "version=0.4."), out)
	status, _, errOut = conninfo(t, nil, "top", "-control", tor.Addr)
	assert.Equal(t, 2, status, "top says so before taking the screen")
	assert.Contains(t, errOut, "does not answer conn/all")
}

// top's source reads the header's keys a relay answers, leaving out
// those it does not, the exit flag before the fingerprint, and the
// findings found here when the relay publishes none.
func TestTopSource(t *testing.T) {
	clk := connstatetest.NewClock(connstatetest.Epoch())
	reg := connstate.NewRegistry(connstate.WithClock(clk))
	_, err := reg.Open(connstate.ConnConfig{Direction: connstate.Outbound, Usage: connstate.UsageClient, Network: connstate.NetworkOutside,
		Remote: netip.MustParseAddrPort("192.0.2.80:443"), Established: true})
	require.NoError(t, err)
	srv := relay(t, reg, "0", controlport.Config{})
	conn, err := (&common{control: srv.Addr}).dial(context.Background(), func(string) string { return "" })
	require.NoError(t, err)
	defer conn.Close()
	aud, err := newAuditor(context.Background(), conn, auditOptions{})
	require.NoError(t, err)
	src := &relaySource{conn: conn, auditor: aud}
	snap, err := src.Fetch(context.Background())
	require.NoError(t, err)
	var names []string
	for _, f := range snap.Header {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"version", "exit"}, names, "the test relay has no address or fingerprint keys")
	assert.Equal(t, "no", snap.Header[1].Value)
	require.Len(t, snap.Entries, 1)
	require.Len(t, snap.Findings, 1)
	assert.Equal(t, audit.NonExitStreams, snap.Findings[0].Detector)
	assert.False(t, snap.At.IsZero())
}
