package getinfo_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/getinfo"
	"github.com/conninfo/conninfo/internal/golden"
)

// replyCases are GETINFO commands against newTestMux. want holds the exact
// bytes where tor's transcript gives them (or, marked, where we depart from
// tor); the golden file must agree.
var replyCases = []struct {
	name string
	keys []string
	want string
}{
	// Success.
	{"no-keys", nil, "250 OK\r\n"},
	{"no-keys-trailing-space", getinfo.SplitKeys(" "), "250 OK\r\n"},
	{"one-key", []string{"version"}, "250-version=0.4.9.11\r\n250 OK\r\n"},
	{"three-keys", []string{"traffic/read", "traffic/written", "uptime"},
		"250-traffic/read=0\r\n250-traffic/written=0\r\n250-uptime=79\r\n250 OK\r\n"},
	{"duplicates", []string{"version", "version"}, "250-version=0.4.9.11\r\n250-version=0.4.9.11\r\n250 OK\r\n"},
	{"runs-of-spaces", getinfo.SplitKeys("  version    uptime  "), "250-version=0.4.9.11\r\n250-uptime=79\r\n250 OK\r\n"},
	{"empty-value", []string{"ns/all"}, "250-ns/all=\r\n250 OK\r\n"},
	{"empty-value-odd-suffix", []string{"ns/id/nothex"}, "250-ns/id/nothex=\r\n250 OK\r\n"},
	{"prefix-exact-child", []string{"dir/status/ok"}, "250-dir/status/ok=\r\n250 OK\r\n"},
	{"prefix-accepted", []string{"config/SocksPort"}, ""},
	{"nested-mux", []string{"inner/x"}, "250-inner/x=y\r\n250 OK\r\n"},
	{"data-block", []string{"config-text"}, "250+config-text=\r\n" +
		"ControlPort 127.0.0.1:41529\r\nCookieAuthentication 1\r\nDataDirectory <datadir>\r\n" +
		"DisableNetwork 1\r\nLog notice file <tordir>/notice.log\r\nSocksPort 0\r\n.\r\n250 OK\r\n"},
	{"data-block-between-lines", []string{"version", "config-text", "uptime"}, ""},
	{"data-block-dots", []string{"dotted"}, "250+dotted=\r\n..dot.example\r\n..\r\nplain\r\n.\r\n250 OK\r\n"},
	{"data-block-no-final-newline", []string{"list"}, "250+list=\r\na\r\nb\r\n.\r\n250 OK\r\n"},
	{"data-block-bare-cr", []string{"cr-value"}, "250+cr-value=\r\na\rb\r\n.\r\n250 OK\r\n"},

	// Unrecognized keys: only the 552 lines.
	{"unknown-only", []string{"nosuchkey"}, "552 Unrecognized key \"nosuchkey\"\r\n"},
	{"unknown-prefix-child", []string{"accounting/nosuch"}, "552 Unrecognized key \"accounting/nosuch\"\r\n"},
	{"known-then-unknown", []string{"version", "nosuchkey"}, "552 Unrecognized key \"nosuchkey\"\r\n"},
	{"unknown-then-known", []string{"nosuchkey", "version"}, "552 Unrecognized key \"nosuchkey\"\r\n"},
	{"two-unknown", []string{"nosuch1", "version", "nosuch2"},
		"552-Unrecognized key \"nosuch1\"\r\n552 Unrecognized key \"nosuch2\"\r\n"},
	{"upper-case", []string{"VERSION"}, "552 Unrecognized key \"VERSION\"\r\n"},
	{"capitalised", []string{"Version"}, "552 Unrecognized key \"Version\"\r\n"},
	{"bare-prefix", []string{"config/"}, "552 Unrecognized key \"config/\"\r\n"},
	{"names-spelling-of-prefix", []string{"config/*"}, "552 Unrecognized key \"config/*\"\r\n"},
	{"wrapped-unrecognized", []string{"wrapped"}, "552 Unrecognized key \"wrapped\"\r\n"},
	{"nested-mux-unknown", []string{"inner/nope"}, "552 Unrecognized key \"inner/nope\"\r\n"},
	{"empty-key", []string{""}, "552 Unrecognized key \"\"\r\n"},
	{"quote-backslash-8bit-raw", getinfo.SplitKeys("a\"b\\c\xc3\xa9\xff"), "552 Unrecognized key \"a\"b\\c\xc3\xa9\xff\"\r\n"},
	{"equals-and-single-quotes", getinfo.SplitKeys("x=y 'z'"),
		"552-Unrecognized key \"x=y\"\r\n552 Unrecognized key \"'z'\"\r\n"},
	{"tab-key-raw", getinfo.SplitKeys("version\tuptime"), "552 Unrecognized key \"version\tuptime\"\r\n"},
	{"own-552-text", []string{"desc/id/0000000000000000000000000000000000000000"}, "552 " + descIDText + "\r\n"},
	{"own-552-text-then-unknown", []string{"desc/id/x", "nosuchkey"},
		"552-" + descIDText + "\r\n552 Unrecognized key \"nosuchkey\"\r\n"},

	// Internal errors: one 551 line, everything else discarded.
	{"unavailable", []string{"address"}, "551 Address unknown\r\n"},
	{"unavailable-two", []string{"address/v4", "address/v6"}, "551 Address unknown\r\n"},
	{"unavailable-fingerprint", []string{"fingerprint"}, "551 Not running in server mode\r\n"},
	{"551-discards-answers", []string{"version", "address"}, "551 Address unknown\r\n"},
	{"551-after-552", []string{"nosuchkey", "address"}, "551 Address unknown\r\n"},
	{"551-first", []string{"address", "nosuchkey", "version"}, "551 Address unknown\r\n"},
	{"551-after-own-552", []string{"desc/id/x", "fingerprint"}, "551 Not running in server mode\r\n"},
	{"unavailable-empty-text", []string{"unavailable-empty"}, "551 Internal error\r\n"},
	{"plain-error", []string{"version", "broken"}, "551 Internal error\r\n"},
	{"panic", []string{"version", "panics", "uptime"}, "551 Internal error\r\n"},

	// Departure 1: a key with a control byte is echoed C-escaped.
	{"bare-cr-key-escaped", getinfo.SplitKeys("a\rb"), "552 Unrecognized key \"a\\rb\"\r\n"},
	{"bare-cr-key-escaped-not-last", []string{"a\rb", "nosuchkey"},
		"552-Unrecognized key \"a\\rb\"\r\n552 Unrecognized key \"nosuchkey\"\r\n"},
	{"nul-key-escaped", []string{"ver\x00sion"}, "552 Unrecognized key \"ver\\000sion\"\r\n"},
	{"lf-key-escaped", []string{"a\nb"}, "552 Unrecognized key \"a\\nb\"\r\n"},
	{"control-key-escapes-all", []string{"x\x01\"\\'\t\xff"}, "552 Unrecognized key \"x\\001\\\"\\\\\\'\\t\\377\"\r\n"},
	{"known-cr-key-escaped", []string{"ns/a\rb"}, "250-ns/a\\rb=\r\n250 OK\r\n"},
	{"known-cr-key-data-block", []string{"config-text", "ns/\r\n."}, ""},

	// Departure 2: never "(null)"; the key and value are written.
	{"known-key-with-equals", []string{"dir/status/a=b"}, "250-dir/status/a=b=\r\n250 OK\r\n"},
	{"known-key-with-quote", []string{"ns/id/\"x"}, "250-ns/id/\"x=\r\n250 OK\r\n"},
	{"known-key-8bit", []string{"dir/status/\xc3\xa9"}, "250-dir/status/\xc3\xa9=\r\n250 OK\r\n"},
}

func TestWriteReplyGolden(t *testing.T) {
	m := newTestMux()
	literal := 0
	for _, tc := range replyCases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, getinfo.WriteReply(&buf, m, tc.keys))
			if tc.want != "" {
				assert.Equal(t, tc.want, buf.String())
			}
			golden.Compare(t, filepath.Join("..", "testdata", "reply", tc.name+".golden"), buf.Bytes())
			_, err := parseReply(buf.Bytes())
			assert.NoError(t, err)
		})
		if tc.want != "" {
			literal++
		}
	}
	assert.GreaterOrEqual(t, literal, 12, "most cases must pin their bytes, not only a golden file")
}

// TestWriteReplyAnyHandler checks that a Handler that is not a *Mux gets the
// same normalisation, panics included.
func TestWriteReplyAnyHandler(t *testing.T) {
	h := getinfo.HandlerFunc(func(dst []byte, key string) ([]byte, error) {
		switch key {
		case "a":
			return append(dst, '1'), nil
		case "boom":
			panic("boom")
		case "down":
			return dst, getinfo.Unavailable("Down")
		}
		return append(dst, "junk"...), getinfo.ErrUnrecognized
	})
	tests := []struct {
		keys []string
		want string
	}{
		{[]string{"a", "a"}, "250-a=1\r\n250-a=1\r\n250 OK\r\n"},
		{[]string{"a", "x", "y"}, "552-Unrecognized key \"x\"\r\n552 Unrecognized key \"y\"\r\n"},
		{[]string{"x", "boom"}, "551 Internal error\r\n"},
		{[]string{"x", "down", "boom"}, "551 Down\r\n"},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		require.NoError(t, getinfo.WriteReply(&buf, h, tt.keys))
		assert.Equal(t, tt.want, buf.String(), "%q", tt.keys)
	}

	var buf bytes.Buffer
	require.NoError(t, getinfo.WriteReply(&buf, nil, []string{"version"}))
	assert.Equal(t, "552 Unrecognized key \"version\"\r\n", buf.String(), "a nil Handler knows no key")
}

// TestWriteReplyStopsAt551 checks that keys after a 551 are not evaluated.
func TestWriteReplyStopsAt551(t *testing.T) {
	m := newTestMux()
	var calls atomic.Int32
	m.HandleFunc("counted", "counts its calls", func(dst []byte, _ string) ([]byte, error) {
		calls.Add(1)
		return append(dst, '1'), nil
	})
	var buf bytes.Buffer
	require.NoError(t, getinfo.WriteReply(&buf, m, []string{"counted", "address", "counted", "nosuchkey"}))
	assert.Equal(t, "551 Address unknown\r\n", buf.String())
	assert.EqualValues(t, 1, calls.Load(), "keys after the 551 must not be evaluated")

	// After a 552, later keys are still evaluated: a 551 may follow.
	buf.Reset()
	require.NoError(t, getinfo.WriteReply(&buf, m, []string{"nosuchkey", "counted", "counted"}))
	assert.EqualValues(t, 2, calls.Load(), "a key asked twice is answered once")
}

// TestWriteReplyHandlerIgnoringDst checks that a handler that returns a
// fresh slice cannot corrupt the values before it.
func TestWriteReplyHandlerIgnoringDst(t *testing.T) {
	h := getinfo.HandlerFunc(func(_ []byte, key string) ([]byte, error) { return []byte(strings.ToUpper(key)), nil })
	var buf bytes.Buffer
	require.NoError(t, getinfo.WriteReply(&buf, h, []string{"a", "bb", "c"}))
	assert.Equal(t, "250-a=A\r\n250-bb=BB\r\n250-c=C\r\n250 OK\r\n", buf.String())
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

var errWrite = errors.New("connection reset")

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		n := w.n
		w.n = 0
		return n, errWrite
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriteReplyWriteError(t *testing.T) {
	m := newTestMux()
	for _, keys := range [][]string{nil, {"version"}, {"config-text", "version"}, {"nosuchkey"}, {"address"}} {
		err := getinfo.WriteReply(&failWriter{n: 3}, m, keys)
		require.ErrorIs(t, err, errWrite, "%q", keys)
		assert.Contains(t, err.Error(), "writing GETINFO reply")
	}
}

// TestWriteReplyLargeValue checks a value far larger than the write buffer,
// and that the pooled buffers are not shared between calls.
func TestWriteReplyLargeValue(t *testing.T) {
	big := strings.Repeat("x", 200<<10)
	m := getinfo.NewMux()
	m.Handle("big", "doc", value(big))
	m.Handle("lines", "doc", value(strings.Repeat(".line\n", 20000)))
	var buf bytes.Buffer
	require.NoError(t, getinfo.WriteReply(&buf, m, []string{"big", "lines"}))
	lines, err := parseReply(buf.Bytes())
	require.NoError(t, err)
	require.Len(t, lines, 3)
	assert.Equal(t, "big="+big, lines[0].text)
	assert.Equal(t, strings.Repeat(".line\n", 20000), lines[1].data)

	buf.Reset()
	require.NoError(t, getinfo.WriteReply(&buf, newTestMux(), []string{"version"}))
	assert.Equal(t, "250-version=0.4.9.11\r\n250 OK\r\n", buf.String())
}

// TestRepeatedKeyMemory: one line repeating a key, as long as the line
// limit allows, costs memory for one value, not one per repetition.
func TestRepeatedKeyMemory(t *testing.T) {
	m := getinfo.NewMux()
	big := strings.Repeat("x", 2000)
	m.HandleFunc("names", "A long value.", func(dst []byte, _ string) ([]byte, error) { return append(dst, big...), nil })
	keys := make([]string, 90000)
	for i := range keys {
		keys[i] = "names"
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var rw getinfo.ReplyWriter
	n := &countWriter{}
	require.NoError(t, rw.Write(n, m, keys))
	runtime.ReadMemStats(&after)
	assert.Equal(t, int64(90000*(len("250-names=")+2000+2)+len("250 OK\r\n")), n.n, "every repetition is answered")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "90,000 × 2 KB must not be held at once")
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// A 551's cause reaches OnInternalError, though the controller sees only
// "551 Internal error".
func TestOnInternalError(t *testing.T) {
	m := getinfo.NewMux()
	m.HandleFunc("broken", "Fails.", func(dst []byte, _ string) ([]byte, error) { return dst, errors.New("disk on fire") })
	m.HandleFunc("panics", "Panics.", func(dst []byte, _ string) ([]byte, error) { panic("boom") })
	var got []*getinfo.Error
	rw := getinfo.ReplyWriter{OnInternalError: func(e *getinfo.Error) { got = append(got, e) }}
	var buf bytes.Buffer
	require.NoError(t, rw.Write(&buf, m, []string{"broken"}))
	require.NoError(t, rw.Write(&buf, m, []string{"panics"}))
	assert.Equal(t, "551 Internal error\r\n551 Internal error\r\n", buf.String())
	require.Len(t, got, 2)
	assert.ErrorContains(t, got[0].Err, "disk on fire")
	assert.ErrorContains(t, got[1].Err, "boom")
	assert.ErrorContains(t, got[1].Err, "goroutine", "a panic's cause carries its stack")
}
