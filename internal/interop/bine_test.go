package interop_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cretz/bine/control"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/controlport/protocol"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/internal/oracle"
)

// dialBine connects bine to s. The connection has a deadline, so that a
// server that never answers fails the test instead of hanging it; bine's
// debug trace is logged if the test fails.
func dialBine(t *testing.T, s *server) *control.Conn {
	t.Helper()
	c, _ := dialBineConn(t, s)
	return c
}

// dialBineConn is dialBine that also returns bine's TCP connection.
func dialBineConn(t *testing.T, s *server) (*control.Conn, net.Conn) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.addr.String(), 5*time.Second)
	require.NoError(t, err)
	require.NoError(t, nc.SetDeadline(time.Now().Add(30*time.Second)))
	c := control.NewConn(textproto.NewConn(nc))
	var trace bytes.Buffer
	c.DebugWriter = &trace
	t.Cleanup(func() {
		c.Close()
		if t.Failed() {
			t.Logf("bine trace:\n%s", trace.String())
		}
	})
	return c, nc
}

// bineAuthed connects bine to s and authenticates with Authenticate("").
func bineAuthed(t *testing.T, s *server) *control.Conn {
	t.Helper()
	c := dialBine(t, s)
	require.NoError(t, c.Authenticate(""))
	return c
}

// bineView is what bine's GetInfo returns for a value v that the server
// sends: v itself on a 250- line; from a 250+ data block, "\r\n" and the
// body with CRLF turned to LF and every trailing CR and LF stripped.
func bineView(t *testing.T, v string) string {
	t.Helper()
	if !strings.ContainsAny(v, "\r\n") {
		// bine would unquote a value wrapped in quotes; conninfo sends none.
		require.False(t, len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"', "quoted value %q", v)
		return v
	}
	return "\r\n" + strings.TrimRight(strings.ReplaceAll(v, "\r\n", "\n"), "\r\n")
}

// getOne asks bine for one key and returns its value.
func getOne(t *testing.T, c *control.Conn, key string) string {
	t.Helper()
	kvs, err := c.GetInfo(key)
	require.NoError(t, err, key)
	require.Len(t, kvs, 1, key)
	require.Equal(t, key, kvs[0].Key)
	return kvs[0].Val
}

var (
	hex64     = `[0-9a-f]{64}` // bine sends lower-case hex
	authLines = map[authMode][]string{
		authNull:              {`PROTOCOLINFO`, `AUTHENTICATE`},
		authPassword:          {`PROTOCOLINFO`, `AUTHENTICATE ` + hex.EncodeToString([]byte(password))},
		authCookie:            {`PROTOCOLINFO`, `AUTHCHALLENGE SAFECOOKIE ` + hex64, `AUTHENTICATE ` + hex64},
		authCookieAndPassword: {`PROTOCOLINFO`, `AUTHCHALLENGE SAFECOOKIE ` + hex64, `AUTHENTICATE ` + hex64},
	}
	authMethods = map[authMode][]string{
		authNull:              {"NULL"},
		authPassword:          {"HASHEDPASSWORD"},
		authCookie:            {"COOKIE", "SAFECOOKIE"},
		authCookieAndPassword: {"COOKIE", "SAFECOOKIE", "HASHEDPASSWORD"},
	}
)

// matchLines checks each line against the anchored regular expression at
// the same index.
func matchLines(t *testing.T, patterns, lines []string) {
	t.Helper()
	require.Len(t, lines, len(patterns), "lines %q", lines)
	for i, p := range patterns {
		assert.Regexp(t, regexp.MustCompile(`\A`+p+`\z`), lines[i], "line %d", i)
	}
}

// TestBineAuthenticate lets bine's Authenticate pick the method from
// PROTOCOLINFO, as it does: NULL, else SAFECOOKIE, else HASHEDPASSWORD
// (sent as hex). It never picks plain COOKIE: see TestBineCookie.
func TestBineAuthenticate(t *testing.T) {
	for _, mode := range []authMode{authNull, authPassword, authCookie, authCookieAndPassword} {
		t.Run(mode.String(), func(t *testing.T) {
			s := startFixture(t, "guard.conns", mode)
			c := dialBine(t, s)

			pi, err := c.ProtocolInfo()
			require.NoError(t, err)
			assert.Equal(t, authMethods[mode], pi.AuthMethods)
			assert.Equal(t, s.cookie, pi.CookieFile)
			assert.Equal(t, controlport.DefaultVersion, pi.TorVersion)

			require.NoError(t, c.Authenticate(password))
			assert.True(t, c.Authenticated)
			assert.Equal(t, controlport.DefaultVersion, getOne(t, c, "version"))
			require.NoError(t, c.Close())

			ss := s.wire.waitClosed(t)
			require.Len(t, ss, 1)
			matchLines(t, append(authLines[mode], `GETINFO version`, `QUIT`), ss[0].SentLines())
			got := ss[0].ReceivedLines()
			require.GreaterOrEqual(t, len(got), 4)
			wantPI := []string{"250-PROTOCOLINFO 1", "250-AUTH METHODS=" + strings.Join(authMethods[mode], ","), `250-VERSION Tor="0.4.9.11"`, "250 OK"}
			if s.cookie != "" {
				wantPI[1] += ` COOKIEFILE="` + s.cookie + `"`
			}
			assert.Equal(t, wantPI, got[:4])
			assert.Equal(t, "250 closing connection", got[len(got)-1])
		})
	}
}

// TestBineCookie exercises plain COOKIE authentication, which bine's
// Authenticate never chooses when SAFECOOKIE is offered (and conninfo, as
// tor, always offers both): bine reads the file PROTOCOLINFO names, then
// its own SendRequest carries AUTHENTICATE with the cookie in hex.
func TestBineCookie(t *testing.T) {
	s := startFixture(t, "guard.conns", authCookie)
	c := dialBine(t, s)
	pi, err := c.ProtocolInfo()
	require.NoError(t, err)
	cookie, err := os.ReadFile(pi.CookieFile)
	require.NoError(t, err)
	require.Len(t, cookie, protocol.CookieLen)

	resp, err := c.SendRequest("AUTHENTICATE %s", hex.EncodeToString(cookie))
	require.NoError(t, err)
	assert.Equal(t, "OK", resp.Reply)
	assert.Equal(t, controlport.DefaultVersion, getOne(t, c, "version"))
}

// TestBineAuthFailures checks what bine sees when authentication fails,
// and that the server then closes the connection, as tor does.
func TestBineAuthFailures(t *testing.T) {
	const hexHint = "Bad authentication: Authentication failed: Password did not match HashedControlPassword value from configuration. Maybe you tried a plain text password? If so, the standard requires that you put it in double quotes."
	t.Run("wrong password", func(t *testing.T) {
		s := startFixture(t, "guard.conns", authPassword)
		c := dialBine(t, s)
		err := c.Authenticate("wrong")
		var te *textproto.Error
		require.ErrorAs(t, err, &te)
		assert.Equal(t, 515, te.Code)
		assert.Equal(t, hexHint, te.Msg) // bine prefixes the text of its code
		assert.False(t, c.Authenticated)

		ss := s.wire.waitClosed(t)
		require.Len(t, ss, 1)
		matchLines(t, []string{`PROTOCOLINFO`, `AUTHENTICATE ` + hex.EncodeToString([]byte("wrong"))}, ss[0].SentLines())
		got := ss[0].ReceivedLines()
		assert.Equal(t, "515 Authentication failed: Password did not match HashedControlPassword value from configuration. Maybe you tried a plain text password? If so, the standard requires that you put it in double quotes.", got[len(got)-1])
		_, err = c.GetInfo("version")
		assert.Error(t, err, "GETINFO after a failed AUTHENTICATE")
	})
	t.Run("no password", func(t *testing.T) {
		// bine refuses by itself: HASHEDPASSWORD needs a password.
		s := startFixture(t, "guard.conns", authPassword)
		c := dialBine(t, s)
		err := c.Authenticate("")
		var pe textproto.ProtocolError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "password auth needs a password", string(pe))
	})
	t.Run("cookie file replaced", func(t *testing.T) {
		// The server's SERVERHASH is bound to its own cookie: bine, reading
		// another, rejects the challenge before it sends AUTHENTICATE.
		s := startFixture(t, "guard.conns", authCookie)
		require.NoError(t, os.WriteFile(s.cookie, bytes.Repeat([]byte{0x42}, protocol.CookieLen), 0o600))
		c := dialBine(t, s)
		err := c.Authenticate("")
		var pe textproto.ProtocolError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "invalid ServerHash: mismatch", string(pe))
		require.NoError(t, c.Close())
		ss := s.wire.waitClosed(t)
		matchLines(t, []string{`PROTOCOLINFO`, `AUTHCHALLENGE SAFECOOKIE ` + hex64, `QUIT`}, ss[0].SentLines())
	})
}

// TestBineConnAll compares conn/all, as bine decodes it, with the registry
// behind the server seen through the default scrub policy, for every
// fixture and for the three shapes of the reply (no entry, one, several).
func TestBineConnAll(t *testing.T) {
	type tc struct {
		name    string
		fixture string // file in connstate/connstatetest/fixtures, or
		text    string // fixture text
	}
	cases := []tc{
		{name: "one entry", text: "conn 7 ORT fp=9695DFC35FFEB861329B9F1AB04C46397020CE31 remote=128.31.0.34:9101 lport=51622 read=1048576 written=524288 age=3600\n"},
	}
	files, err := os.ReadDir(fixtureDir)
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f.Name(), ".conns") {
			cases = append(cases, tc{name: f.Name(), fixture: f.Name()})
		}
	}
	require.GreaterOrEqual(t, len(cases), 8)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var s *server
			if c.fixture != "" {
				s = startFixture(t, c.fixture, authNull)
			} else {
				s = startText(t, c.text, authNull)
			}
			want, wantText := s.scrubbed()
			bc := bineAuthed(t, s)

			v := getOne(t, bc, "conn/all")
			if len(want) >= 2 {
				require.True(t, strings.HasPrefix(v, "\r\n"), "bine keeps a leading CRLF on a data block: %q", v)
			}
			v = strings.TrimPrefix(v, "\r\n")
			assert.Equal(t, wantText, v)
			got, err := format.ParseAll(v)
			require.NoError(t, err)
			if len(want) == 0 {
				assert.Empty(t, got)
			} else {
				assert.Equal(t, want, got)
			}
			require.NoError(t, bc.Close())

			// The reply's shape, as tor gives orconn-status.
			var reply string
			switch len(want) {
			case 0:
				reply = "250-conn/all=\r\n250 OK\r\n"
			case 1:
				reply = "250-conn/all=" + wantText + "\r\n250 OK\r\n"
			default:
				reply = "250+conn/all=\r\n" + strings.ReplaceAll(wantText, "\n", "\r\n") + "\r\n.\r\n250 OK\r\n"
			}
			ss := s.wire.waitClosed(t)
			require.Len(t, ss, 1)
			assert.Contains(t, ss[0].Received, "250 OK\r\n"+reply+"250 closing connection\r\n")
		})
	}
}

// TestBineConnEntries asks conn/<circ>/<conn> for every entry of a guard's
// registry, one key per GETINFO, then all of them in one.
func TestBineConnEntries(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	c := bineAuthed(t, s)
	entries := s.reg.AppendEntries(nil)
	require.Greater(t, len(entries), 40)
	keys := make([]string, len(entries))
	wants := make([]string, len(entries))
	for i, e := range entries {
		keys[i] = connKey(e)
		scrubbed := oracle.TestNetworkView(e)
		wants[i] = oracle.Line(scrubbed)

		v := getOne(t, c, keys[i])
		assert.Equal(t, wants[i], v, keys[i])
		got, err := format.Parse(v)
		require.NoError(t, err, keys[i])
		assert.Equal(t, scrubbed, got, keys[i])
	}

	kvs, err := c.GetInfo(keys...)
	require.NoError(t, err)
	require.Len(t, kvs, len(keys))
	for i, kv := range kvs {
		assert.Equal(t, keys[i], kv.Key)
		assert.Equal(t, wants[i], kv.Val, keys[i])
	}
}

// TestBineEveryKey asks every key the Mux holds, one per GETINFO and then
// all in one, and compares each with Mux.Answer at the same moment.
func TestBineEveryKey(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	c := bineAuthed(t, s)
	keys := append(s.exactKeys(), s.sampleConnKeys(t)...)
	for _, k := range []string{"conn/all", "version", "events/names", "features/names", "info/names", "ns/authority", "uptime", "process/pid", "relay/bw-limit", "traffic/read"} {
		require.Contains(t, keys, k)
	}

	for _, key := range keys {
		got := getOne(t, c, key)
		assert.Equal(t, bineView(t, s.answer(t, key)), got, key)
	}

	kvs, err := c.GetInfo(keys...)
	require.NoError(t, err)
	require.Len(t, kvs, len(keys))
	for i, kv := range kvs {
		assert.Equal(t, keys[i], kv.Key)
		assert.Equal(t, bineView(t, s.answer(t, keys[i])), kv.Val, keys[i])
	}
}

// TestBineKeyValues checks values bine reads against what the server was
// configured with, independently of the Mux.
func TestBineKeyValues(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	c := bineAuthed(t, s)
	totals := s.reg.Totals()
	u := strconv.FormatUint
	want := map[string]string{
		"version":                controlport.DefaultVersion,
		"uptime":                 "3606",
		"process/uptime":         "3606",
		"info/uptime-process":    "3606",
		"process/uptime-reset":   "5",
		"info/uptime-reset":      "5",
		"relay/bw-limit":         "512000",
		"info/relay/bw-limit":    "512000",
		"relay/burst-limit":      "2097152",
		"info/relay/burst-limit": "2097152",
		"relay/read-total":       u(totals.RelayRead, 10),
		"info/relay/read-total":  u(totals.RelayRead, 10),
		"relay/write-total":      u(totals.RelayWritten, 10),
		"info/relay/write-total": u(totals.RelayWritten, 10),
		"traffic/read":           u(totals.TrafficRead, 10),
		"traffic/written":        u(totals.TrafficWritten, 10),
		"process/pid":            strconv.Itoa(os.Getpid()),
		"process/uid":            strconv.Itoa(os.Geteuid()),
		"features/names":         "VERBOSE_NAMES EXTENDED_EVENTS",
	}
	for key, v := range want {
		assert.Equal(t, v, getOne(t, c, key), key)
	}
	assert.NotZero(t, totals.RelayRead, "the guard fixture relays bytes")

	// The descriptor keys exist where the system can count descriptors.
	if slices.Contains(s.exactKeys(), "info/descriptor-limit") {
		if limit, err := strconv.ParseUint(getOne(t, c, "info/descriptor-limit"), 10, 64); assert.NoError(t, err) {
			assert.Equal(t, u(limit-min(limit, 32), 10), getOne(t, c, "process/descriptor-limit"))
		}
	}
	if slices.Contains(s.exactKeys(), "info/descriptor-used") {
		for _, key := range []string{"info/descriptor-used", "process/descriptors-used"} {
			n, err := strconv.ParseUint(getOne(t, c, key), 10, 64)
			assert.NoError(t, err, key)
			assert.Positive(t, n, key)
		}
	}
	ns := strings.TrimPrefix(getOne(t, c, "ns/authority"), "\r\n")
	assert.True(t, strings.HasPrefix(ns, "r "), "ns/authority: %q", ns)
	assert.Contains(t, ns, "\ns Authority ")

	names := strings.Split(strings.TrimPrefix(getOne(t, c, "info/names"), "\r\n"), "\n")
	assert.Len(t, names, len(s.mux.Names()))
	assert.Contains(t, names, "conn/* -- One entry line by circuit and connection ID: conn/<circ>/<conn>, circ 0 for the connection itself.")
}

// TestBineSeveralKeys asks several keys in one GETINFO and gets them back
// in request order.
func TestBineSeveralKeys(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	c := bineAuthed(t, s)
	keys := []string{"uptime", "process/pid", "relay/bw-limit", "conn/all", "version", "conn/1000/10", "ns/authority", "process/user"}
	kvs, err := c.GetInfo(keys...)
	require.NoError(t, err)
	require.Len(t, kvs, len(keys))
	for i, kv := range kvs {
		assert.Equal(t, keys[i], kv.Key)
		assert.Equal(t, bineView(t, s.answer(t, keys[i])), kv.Val, keys[i])
	}
}

// TestBineDuplicateKeys: bine sends keys as given, and every one is
// answered, in order, duplicates included.
func TestBineDuplicateKeys(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	c := bineAuthed(t, s)
	keys := []string{"version", "uptime", "version", "conn/1000/10", "conn/1000/10", "conn/all", "conn/all"}
	kvs, err := c.GetInfo(keys...)
	require.NoError(t, err)
	require.Len(t, kvs, len(keys))
	for i, kv := range kvs {
		assert.Equal(t, keys[i], kv.Key)
		assert.Equal(t, bineView(t, s.answer(t, keys[i])), kv.Val, keys[i])
	}
}

// TestBineNoKeys: bine's GetInfo() sends "GETINFO " and gets "250 OK".
func TestBineNoKeys(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	c := bineAuthed(t, s)
	kvs, err := c.GetInfo()
	require.NoError(t, err)
	assert.Empty(t, kvs)
}

// TestBineUnknownKeys: any unknown key makes the reply only 552 lines,
// `Unrecognized key "<key>"`, one per unknown key; bine returns a
// *textproto.Error with the last one. The connection stays usable.
func TestBineUnknownKeys(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	c := bineAuthed(t, s)
	cases := []struct {
		name    string
		keys    []string
		unknown []string
	}{
		{"unknown", []string{"nosuchkey"}, []string{"nosuchkey"}},
		{"case matters", []string{"VERSION"}, []string{"VERSION"}},
		{"known first", []string{"version", "nosuchkey"}, []string{"nosuchkey"}},
		{"two unknown", []string{"nosuch1", "uptime", "nosuch2"}, []string{"nosuch1", "nosuch2"}},
		{"bare prefix", []string{"conn/"}, []string{"conn/"}},
		{"conn/all/", []string{"conn/all/"}, []string{"conn/all/"}},
		{"no such connection", []string{"conn/0/99"}, []string{"conn/0/99"}},
		{"closed connection", []string{"conn/0/31"}, []string{"conn/0/31"}},
		{"connection not on circuit", []string{"conn/1000/11"}, []string{"conn/1000/11"}},
		{"no such circuit", []string{"conn/999/10"}, []string{"conn/999/10"}},
		{"leading zero", []string{"conn/01000/10"}, []string{"conn/01000/10"}},
		{"sign", []string{"conn/0/+10"}, []string{"conn/0/+10"}},
		{"overflow", []string{"conn/18446744073709551616/10"}, []string{"conn/18446744073709551616/10"}},
		{"extra part", []string{"conn/0/10/x"}, []string{"conn/0/10/x"}},
		{"one part", []string{"conn/10"}, []string{"conn/10"}},
		{"quote echoed raw", []string{`a"b`}, []string{`a"b`}},
		{"duplicate unknown", []string{"nosuchkey", "nosuchkey"}, []string{"nosuchkey", "nosuchkey"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kvs, err := c.GetInfo(tc.keys...)
			assert.Nil(t, kvs)
			var te *textproto.Error
			require.ErrorAs(t, err, &te)
			assert.Equal(t, 552, te.Code)
			last := `Unrecognized key "` + tc.unknown[len(tc.unknown)-1] + `"`
			assert.Equal(t, "Unrecognized entity: "+last, te.Msg) // bine prefixes the text of its code

			resp, err := c.SendRequest("GETINFO %s", strings.Join(tc.keys, " "))
			require.Error(t, err)
			var lines []string
			for i, k := range tc.unknown {
				sep := "552-"
				if i == len(tc.unknown)-1 {
					sep = "552 "
				}
				lines = append(lines, sep+`Unrecognized key "`+k+`"`)
			}
			assert.Equal(t, lines, resp.RawLines)

			assert.Equal(t, controlport.DefaultVersion, getOne(t, c, "version"), "the connection stays usable")
		})
	}
}

// TestBineClose: Close sends QUIT, the server answers and closes.
func TestBineClose(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	c := bineAuthed(t, s)
	require.NoError(t, c.Close())
	ss := s.wire.waitClosed(t)
	require.Len(t, ss, 1)
	sent := ss[0].SentLines()
	assert.Equal(t, "QUIT", sent[len(sent)-1])
	assert.True(t, strings.HasSuffix(ss[0].Received, "250 OK\r\n250 closing connection\r\n"), "%q", ss[0].Received)
	_, err := c.GetInfo("version")
	assert.True(t, errors.Is(err, net.ErrClosed), "GetInfo after Close: %v", err)
}

// TestBineSeesItself: with Config.Registry set, the server registers bine's
// connection as a control connection ('IXt'), shown unscrubbed with bine's
// address and exact byte counts, and keeps it out of the relay and traffic
// totals; it is gone once bine quits.
func TestBineSeesItself(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull, registerControllers)
	before := s.reg.Totals()
	c, nc := dialBineConn(t, s)
	require.NoError(t, c.Authenticate(""))
	entries, err := format.ParseAll(strings.TrimPrefix(getOne(t, c, "conn/all"), "\r\n"))
	require.NoError(t, err)

	self := nc.LocalAddr().(*net.TCPAddr).AddrPort()
	var mine []int
	for i, e := range entries {
		if e.Remote == self {
			mine = append(mine, i)
		}
	}
	require.Len(t, mine, 1, "bine's connection %v in conn/all", self)
	e := entries[mine[0]]
	assert.Equal(t, "IXt", e.Flags.String())
	assert.Equal(t, uint64(0), e.CircID)
	assert.Greater(t, e.ConnID, uint64(31), "a new ID, after the fixture's")
	assert.Equal(t, s.addr.Port(), e.LocalPort)
	assert.True(t, e.Fingerprint.IsZero())
	// Counted up to the snapshot: what bine sent, through GETINFO conn/all,
	// and the replies to PROTOCOLINFO and AUTHENTICATE.
	ss := s.wire.sessions()
	require.Len(t, ss, 1)
	assert.Equal(t, uint64(len("PROTOCOLINFO\r\nAUTHENTICATE\r\nGETINFO conn/all\r\n")), e.Read)
	replyStart := strings.Index(ss[0].Received, "250+conn/all=")
	require.Positive(t, replyStart)
	assert.Equal(t, uint64(replyStart), e.Written)

	key := connKey(e)
	got, err := format.Parse(getOne(t, c, key))
	require.NoError(t, err)
	assert.Equal(t, self, got.Remote)
	assert.Greater(t, got.Read, e.Read)

	assert.Equal(t, strconv.FormatUint(before.TrafficRead, 10), getOne(t, c, "traffic/read"))
	assert.Equal(t, strconv.FormatUint(before.TrafficWritten, 10), getOne(t, c, "traffic/written"))
	assert.Equal(t, strconv.FormatUint(before.RelayRead, 10), getOne(t, c, "relay/read-total"))
	assert.Equal(t, strconv.FormatUint(before.RelayWritten, 10), getOne(t, c, "relay/write-total"))

	require.NoError(t, c.Close())
	assert.Eventually(t, func() bool {
		_, ok := s.reg.LookupEntry(e.CircID, e.ConnID)
		return !ok
	}, 10*time.Second, 5*time.Millisecond, "%s after QUIT", key)
	other := bineAuthed(t, s)
	_, err = other.GetInfo(key)
	var te *textproto.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 552, te.Code)
	assert.Equal(t, before, s.reg.Totals(), "control bytes count in no total")
}

// TestBineBusyRelay reads conn/all of a busy relay, about ten thousand
// lines in one data block.
func TestBineBusyRelay(t *testing.T) {
	s := startBusy(t, 2000, authNull)
	c := bineAuthed(t, s)
	want, wantText := s.scrubbed()
	require.Greater(t, len(want), 9000)
	v := getOne(t, c, "conn/all")
	require.True(t, strings.HasPrefix(v, "\r\n"))
	v = strings.TrimPrefix(v, "\r\n")
	assert.Equal(t, wantText, v)
	got, err := format.ParseAll(v)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// TestBineConcurrentClients: several bine clients ask at once, each on its
// own connection, and each gets whole, correct replies.
func TestBineConcurrentClients(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	keys := []string{"conn/all", "info/names", "conn/1000/10", "uptime", "ns/authority"}
	want := make([]string, len(keys))
	for i, k := range keys {
		want[i] = bineView(t, s.answer(t, k))
	}
	const clients, rounds = 8, 25
	conns := make([]*control.Conn, clients)
	for i := range conns {
		conns[i] = bineAuthed(t, s)
	}
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			for range rounds {
				kvs, err := c.GetInfo(keys...)
				if !assert.NoError(t, err) || !assert.Len(t, kvs, len(keys)) {
					return
				}
				for i, kv := range kvs {
					assert.Equal(t, keys[i], kv.Key)
					assert.Equal(t, want[i], kv.Val, keys[i])
				}
			}
		})
	}
	wg.Wait()
}

// cookieDirs are directory names that PROTOCOLINFO must escape in
// COOKIEFILE, as tor's esc_for_log does, and how.
var cookieDirs = []struct {
	name, escaped string
	bineReads     bool // bine unescapes only \\ \" \r \n
}{
	{"with space", "with space", true},
	{`quote"back\slash`, `quote\"back\\slash`, true},
	{"it's", `it\'s`, false},
	{"t\u00fcr", `t\303\274r`, false},
}

// TestBineCookiePath: bine reads COOKIEFILE paths that need escaping, as
// far as its unescaping goes. A path with a single quote or a non-ASCII
// byte, which tor escapes as \' and \ooo, bine cannot read, from tor as
// from conninfo: it then drops the whole AUTH line.
func TestBineCookiePath(t *testing.T) {
	for _, d := range cookieDirs {
		t.Run(d.name, func(t *testing.T) {
			s := startFixture(t, "guard.conns", authCookie, cookieIn(t, d.name))
			require.Equal(t, d.name, filepath.Base(filepath.Dir(s.cookie)))
			c := dialBine(t, s)
			err := c.Authenticate("")
			if d.bineReads {
				require.NoError(t, err)
				pi, err := c.ProtocolInfo()
				require.NoError(t, err)
				assert.Equal(t, s.cookie, pi.CookieFile)
			} else {
				var pe textproto.ProtocolError
				require.ErrorAs(t, err, &pe)
				// bine skips the AUTH line whose COOKIEFILE it cannot
				// unescape, methods included.
				assert.Equal(t, "No supported authentication methods", string(pe))
			}
			require.NoError(t, c.Close())
			ss := s.wire.waitClosed(t)
			wantDir := strings.TrimSuffix(strings.TrimSuffix(s.cookie, "/control_auth_cookie"), d.name)
			assert.Contains(t, ss[0].ReceivedLines(), `250-AUTH METHODS=COOKIE,SAFECOOKIE COOKIEFILE="`+wantDir+d.escaped+`/control_auth_cookie"`)
		})
	}
}

// TestBineConsensus: ns/authority without a consensus is an empty value, as
// tor answers ns/* then; with an unreadable one, the whole reply is
// "551 Consensus unreadable", even when another key is unknown, and bine
// returns it as a *textproto.Error.
func TestBineConsensus(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "cached-consensus")
	require.NoError(t, os.WriteFile(bad, []byte("this is not a consensus\n"), 0o600))

	t.Run("missing", func(t *testing.T) {
		s := startFixture(t, "guard.conns", authNull, consensusAt(filepath.Join(dir, "missing")))
		c := bineAuthed(t, s)
		assert.Equal(t, "", getOne(t, c, "ns/authority"))
		resp, err := c.SendRequest("GETINFO ns/authority version")
		require.NoError(t, err)
		assert.Equal(t, []string{"250-ns/authority=", "250-version=0.4.9.11", "250 OK"}, resp.RawLines)
	})
	t.Run("unreadable", func(t *testing.T) {
		s := startFixture(t, "guard.conns", authNull, consensusAt(bad))
		c := bineAuthed(t, s)
		for _, keys := range [][]string{{"ns/authority"}, {"version", "ns/authority", "uptime"}, {"nosuchkey", "ns/authority", "nosuchkey2"}} {
			kvs, err := c.GetInfo(keys...)
			assert.Nil(t, kvs)
			var te *textproto.Error
			require.ErrorAs(t, err, &te, "%v", keys)
			assert.Equal(t, 551, te.Code)
			assert.Equal(t, "Internal error: Consensus unreadable", te.Msg) // bine prefixes the text of its code
			resp, err := c.SendRequest("GETINFO %s", strings.Join(keys, " "))
			require.Error(t, err)
			assert.Equal(t, []string{"551 Consensus unreadable"}, resp.RawLines)
		}
		assert.Equal(t, controlport.DefaultVersion, getOne(t, c, "version"), "the connection stays usable")
	})
}

// TestBineShutdown: Shutdown disconnects an idle, authenticated bine at
// once, and bine's next request fails.
func TestBineShutdown(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	c := bineAuthed(t, s)
	assert.Equal(t, controlport.DefaultVersion, getOne(t, c, "version"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.srv.Shutdown(ctx))
	s.wire.waitClosed(t)
	_, err := c.GetInfo("version")
	assert.Error(t, err)
}

// TestBineBeforeAuth: a GETINFO before AUTHENTICATE gets tor's 514, and
// the server closes the connection.
func TestBineBeforeAuth(t *testing.T) {
	s := startFixture(t, "guard.conns", authNull)
	c := dialBine(t, s)
	_, err := c.GetInfo("version")
	var te *textproto.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 514, te.Code)
	ss := s.wire.waitClosed(t)
	require.Len(t, ss, 1)
	assert.Equal(t, "GETINFO version\r\n", ss[0].Sent)
	assert.Equal(t, "514 Authentication required.\r\n", ss[0].Received)
}
