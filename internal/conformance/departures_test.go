package conformance_test

import (
	"testing"

	"github.com/conninfo/conninfo/getinfo"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const featuresReply = "250-features/names=VERBOSE_NAMES EXTENDED_EVENTS\r\n250 OK\r\n"

// departures are the sessions where our server departs from tor on purpose,
// with the literal bytes each side must answer (after normalisation), one
// reply per step. All of them authenticate first, and neither side closes.
//
// The documented departures (README.md, package getinfo and controlport):
// a key or an unknown command word holding a control byte is echoed
// C-escaped, so that no reply line can be broken, every reply has its end
// line, and no terminal control sequence reaches a controller's console; a
// value is never "(null)". And the documented limits: commands and
// configuration options that tor has but our server does not are unknown
// to it.
var departures = []struct {
	name      string
	steps     []string
	tor, ours []string
}{
	// A key with a bare CR: tor sends its 552 as a data block, and when the
	// key is the last unknown one the reply has no end line; the next
	// command's reply follows directly.
	{
		name:  "bare CR in the only unknown key",
		steps: authed("GETINFO a\rb\r\n", "GETINFO features/names\r\n"),
		tor:   []string{"250 OK\r\n", "552+=\r\nUnrecognized key \"a\rb\"\r\n.\r\n", featuresReply},
		ours:  []string{"250 OK\r\n", "552 Unrecognized key \"a\\rb\"\r\n", featuresReply},
	},
	{
		name:  "bare CR in a key between unknown keys",
		steps: authed("GETINFO x a\rb y\r\n"),
		tor:   []string{"250 OK\r\n", "552-Unrecognized key \"x\"\r\n552+=\r\nUnrecognized key \"a\rb\"\r\n.\r\n552 Unrecognized key \"y\"\r\n"},
		ours:  []string{"250 OK\r\n", "552-Unrecognized key \"x\"\r\n552-Unrecognized key \"a\\rb\"\r\n552 Unrecognized key \"y\"\r\n"},
	},
	{
		name:  "bare CR in an unknown key after a known one",
		steps: authed("GETINFO features/names a\rb\r\n"),
		tor:   []string{"250 OK\r\n", "552+=\r\nUnrecognized key \"a\rb\"\r\n.\r\n"},
		ours:  []string{"250 OK\r\n", "552 Unrecognized key \"a\\rb\"\r\n"},
	},
	// Other control bytes: tor echoes them raw; we escape the whole key.
	{
		name:  "SOH in a key",
		steps: authed("GETINFO a\x01b\r\n"),
		tor:   []string{"250 OK\r\n", "552 Unrecognized key \"a\x01b\"\r\n"},
		ours:  []string{"250 OK\r\n", "552 Unrecognized key \"a\\001b\"\r\n"},
	},
	{
		name:  "DEL in a key",
		steps: authed("GETINFO a\x7fb\r\n"),
		tor:   []string{"250 OK\r\n", "552 Unrecognized key \"a\x7fb\"\r\n"},
		ours:  []string{"250 OK\r\n", "552 Unrecognized key \"a\\177b\"\r\n"},
	},
	{
		name:  "vertical tab in a key",
		steps: authed("GETINFO a\vb\r\n"),
		tor:   []string{"250 OK\r\n", "552 Unrecognized key \"a\vb\"\r\n"},
		ours:  []string{"250 OK\r\n", "552 Unrecognized key \"a\\013b\"\r\n"},
	},
	{
		name:  "quote backslash 8-bit and control bytes in a key",
		steps: authed("GETINFO a\"\\\xff\x01\r\n"),
		tor:   []string{"250 OK\r\n", "552 Unrecognized key \"a\"\\\xff\x01\"\r\n"},
		ours:  []string{"250 OK\r\n", "552 Unrecognized key \"a\\\"\\\\\\377\\001\"\r\n"},
	},
	{
		name:  "control byte in an event name",
		steps: authed("SETEVENTS a\x01b\r\n"),
		tor:   []string{"250 OK\r\n", "552 Unrecognized event \"a\x01b\"\r\n"},
		ours:  []string{"250 OK\r\n", "552 Unrecognized event \"a\\001b\"\r\n"},
	},
	{
		name:  "control byte in a feature name",
		steps: authed("USEFEATURE a\x01b\r\n"),
		tor:   []string{"250 OK\r\n", "552 Unrecognized feature \"a\x01b\"\r\n"},
		ours:  []string{"250 OK\r\n", "552 Unrecognized feature \"a\\001b\"\r\n"},
	},
	{
		name:  "control byte in a configuration key",
		steps: authed("GETCONF a\x01b\r\n"),
		tor:   []string{"250 OK\r\n", "552 Unrecognized configuration key \"a\x01b\"\r\n"},
		ours:  []string{"250 OK\r\n", "552 Unrecognized configuration key \"a\\001b\"\r\n"},
	},
	// A known key that tor's kvline encoder cannot encode: tor sends
	// "250-(null)"; we send the key and its value. dir/status/ is answered
	// on our side by a prefix handler that, as tor's, gives an empty value.
	{
		name:  "known prefix key with an equals sign",
		steps: authed("GETINFO dir/status/a=b\r\n"),
		tor:   []string{"250 OK\r\n", "250-(null)\r\n250 OK\r\n"},
		ours:  []string{"250 OK\r\n", "250-dir/status/a=b=\r\n250 OK\r\n"},
	},
	{
		name:  "SOH in an unknown command word",
		steps: authed("FOO\x01BAR\r\n"),
		tor:   []string{"250 OK\r\n", "510 Unrecognized command \"FOO\x01BAR\"\r\n"},
		ours:  []string{"250 OK\r\n", "510 Unrecognized command \"FOO\\001BAR\"\r\n"},
	},
	{
		name:  "ESC and BEL in an unknown command word",
		steps: authed("\x1b[2J\x07 x\r\n"),
		tor:   []string{"250 OK\r\n", "510 Unrecognized command \"\x1b[2J\x07\"\r\n"},
		ours:  []string{"250 OK\r\n", "510 Unrecognized command \"\\033[2J\\007\"\r\n"},
	},
	{
		name:  "known prefix key with 8-bit bytes",
		steps: authed("GETINFO dir/status/\xc3\xa9\r\n"),
		tor:   []string{"250 OK\r\n", "250-(null)\r\n250 OK\r\n"},
		ours:  []string{"250 OK\r\n", "250-dir/status/\xc3\xa9=\r\n250 OK\r\n"},
	},
	{
		name:  "known prefix key needing quotes then a known key",
		steps: authed("GETINFO dir/status/a=b features/names\r\n"),
		tor:   []string{"250 OK\r\n", "250-(null)\r\n250-features/names=VERBOSE_NAMES EXTENDED_EVENTS\r\n250 OK\r\n"},
		ours:  []string{"250 OK\r\n", "250-dir/status/a=b=\r\n250-features/names=VERBOSE_NAMES EXTENDED_EVENTS\r\n250 OK\r\n"},
	},
	{
		name:  "known prefix key needing no quotes (same on both)",
		steps: authed("GETINFO dir/status/ok\r\n"),
		tor:   []string{"250 OK\r\n", "250-dir/status/ok=\r\n250 OK\r\n"},
		ours:  []string{"250 OK\r\n", "250-dir/status/ok=\r\n250 OK\r\n"},
	},
	// Documented limits: tor's other commands and configuration options.
	{
		name:  "SIGNAL is unknown to us",
		steps: authed("SIGNAL\r\n"),
		tor:   []string{"250 OK\r\n", "512 Bad arguments to SIGNAL: Need at least 1 argument(s)\r\n"},
		ours:  []string{"250 OK\r\n", "510 Unrecognized command \"SIGNAL\"\r\n"},
	},
	{
		name:  "GETCONF of an option we do not have",
		steps: authed("GETCONF SocksPort\r\n"),
		tor:   []string{"250 OK\r\n", "250 SocksPort=0\r\n"},
		ours:  []string{"250 OK\r\n", "552 Unrecognized configuration key \"SocksPort\"\r\n"},
	},
	{
		// tor resolves a truncated name against its whole option table.
		name:  "GETCONF of a truncated option name",
		steps: authed("GETCONF __OwningController\r\n"),
		tor:   []string{"250 OK\r\n", "250 __OwningControllerFD=18446744073709551615\r\n"},
		ours:  []string{"250 OK\r\n", "552 Unrecognized configuration key \"__OwningController\"\r\n"},
	},
}

// TestDepartures checks the deliberate departures from tor: each side must
// answer exactly its own expected bytes.
func TestDepartures(t *testing.T) {
	tor := torEndpoint(t)
	mux := getinfo.NewMux()
	mux.HandlePrefixFunc("dir/status/", "v2 networkstatus docs as retrieved from a DirPort.",
		func(dst []byte, _ string) ([]byte, error) { return dst, nil })
	ours := ourEndpoint(t, mux)

	ss := make([]session, len(departures))
	for i, d := range departures {
		ss[i] = session{name: d.name, steps: d.steps}
	}
	torT, ourT := runAll(ss, tor, ours)
	for i, d := range departures {
		t.Run(d.name, func(t *testing.T) {
			a, b := torT[i], ourT[i]
			require.NoError(t, a.err, "tor")
			require.NoError(t, b.err, "ours")
			assert.Equal(t, d.tor, replies(a), "tor")
			assert.False(t, a.closed, "tor closed the connection")
			assert.Equal(t, d.ours, replies(b), "ours")
			assert.False(t, b.closed, "ours closed the connection")
		})
	}
	t.Logf("checked %d documented departures against tor and ours", len(departures))
}

func replies(tr transcript) []string {
	out := make([]string, len(tr.replies))
	for i, r := range tr.replies {
		out[i] = string(r)
	}
	return out
}
