package interop_test

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/connstate/connstatetest"
	"github.com/conninfo/conninfo/controlport"
	"github.com/conninfo/conninfo/format"
	"github.com/conninfo/conninfo/internal/oracle"
	"github.com/conninfo/conninfo/internal/stemtest"
	"github.com/conninfo/conninfo/scrub"
)

const stemScript = "testdata/stem_client.py"

// stemPlan is what stem_client.py does once authenticated.
type stemPlan struct {
	Keys    []string   `json:"keys,omitempty"`
	Multi   []string   `json:"multi,omitempty"`
	Unknown [][]string `json:"unknown,omitempty"`
	Version bool       `json:"version,omitempty"`
	Events  []string   `json:"events,omitempty"`
	API     bool       `json:"api,omitempty"`
}

// stemError describes an exception stem raised.
type stemError struct {
	Type      string   `json:"type"`
	Args      []string `json:"args"`
	Str       string   `json:"str"`
	Code      any      `json:"code"`
	Message   string   `json:"message"`
	Arguments []string `json:"arguments"`
}

// stemResult is what stem_client.py prints.
type stemResult struct {
	StemVersion        string               `json:"stem_version"`
	Authenticated      bool                 `json:"authenticated"`
	AuthError          *stemError           `json:"auth_error"`
	AuthMethods        []string             `json:"auth_methods"`
	UnknownAuthMethods []string             `json:"unknown_auth_methods"`
	CookiePath         string               `json:"cookie_path"`
	Version            string               `json:"version"`
	VersionTuple       []int                `json:"version_tuple"`
	VersionError       *stemError           `json:"version_error"`
	Values             map[string]string    `json:"values"`
	Errors             map[string]stemError `json:"errors"`
	MultiType          string               `json:"multi_type"`
	Multi              map[string]string    `json:"multi"`
	MultiError         *stemError           `json:"multi_error"`
	EventsAdded        bool                 `json:"events_added"`
	EventsError        *stemError           `json:"events_error"`
	Unknown            []struct {
		Keys  []string          `json:"keys"`
		Reply map[string]string `json:"reply"`
		Error *stemError        `json:"error"`
	} `json:"unknown"`
	API *struct {
		PID    int     `json:"pid"`
		User   string  `json:"user"`
		Uptime float64 `json:"uptime"`
	} `json:"api"`
	APIError *stemError `json:"api_error"`
	Alive    bool       `json:"alive"`
}

// runStem runs stem_client.py against s, authenticating as auth says with
// secret as the password, and returns what it printed. stem's stderr is
// in every failure message.
func runStem(t *testing.T, s *server, auth, secret string, plan stemPlan) stemResult {
	t.Helper()
	stemtest.Require(t)
	in, err := json.Marshal(plan)
	require.NoError(t, err)
	stdout, stderr := stemtest.Run(t, stemScript, []string{strconv.Itoa(int(s.addr.Port())), auth}, in, "CONNINFO_PASSWORD="+secret)
	var r stemResult
	require.NoError(t, json.Unmarshal(stdout, &r), "stem printed:\n%s\nstderr:\n%s", stdout, stderr)
	if len(stderr) > 0 {
		t.Logf("stem stderr:\n%s", stderr)
	}
	return r
}

// stemView is what stem's get_info returns for a value v that the server
// sends: v itself on a 250- line; from a data block, the body's lines
// joined by LF, so one trailing newline of v is lost.
func stemView(v string) string {
	if !strings.ContainsAny(v, "\r\n") {
		return v
	}
	return strings.TrimSuffix(strings.ReplaceAll(v, "\r\n", "\n"), "\n")
}

// assertStemValue compares what stem got for key with the Mux's answer;
// a descriptor count only roughly, since the stem process's pipes come
// and go.
func assertStemValue(t *testing.T, s *server, key, got string) {
	t.Helper()
	want := stemView(s.answer(t, key))
	if !volatileKeys[key] {
		assert.Equal(t, want, got, key)
		return
	}
	g, err1 := strconv.ParseInt(got, 10, 64)
	w, err2 := strconv.ParseInt(want, 10, 64)
	if assert.NoError(t, err1, key) && assert.NoError(t, err2, key) {
		assert.InDelta(t, w, g, 16, "%s: stem got %d, the Mux answers %d now", key, g, w)
	}
}

// assertStemConnAll compares conn/all as stem got it with the registry.
func assertStemConnAll(t *testing.T, s *server, got string) {
	t.Helper()
	want, wantText := s.scrubbed()
	assert.Equal(t, wantText, got)
	entries, err := format.ParseAll(got)
	require.NoError(t, err)
	assert.Equal(t, want, entries)
}

var stemMulti = []string{"uptime", "process/pid", "relay/bw-limit"}

func assertStemMulti(t *testing.T, r stemResult) {
	t.Helper()
	require.Nil(t, r.MultiError)
	assert.Equal(t, "dict", r.MultiType)
	assert.Equal(t, map[string]string{
		"uptime":         "3606",
		"process/pid":    strconv.Itoa(os.Getpid()),
		"relay/bw-limit": "512000",
	}, r.Multi)
}

func assertStemVersion(t *testing.T, r stemResult) {
	t.Helper()
	require.Nil(t, r.VersionError)
	assert.Equal(t, controlport.DefaultVersion, r.Version)
	assert.Equal(t, []int{0, 4, 9, 11}, r.VersionTuple)
}

// stemAfterAuth is what stem's Controller sends once authenticated.
var stemAfterAuth = []string{`SETEVENTS SIGNAL CONF_CHANGED STATUS_SERVER`, `GETCONF __owningcontrollerprocess`}

// TestStemCookie: Controller.from_port and authenticate() against a server
// with a cookie file only, then get_info of every key of the Mux, one at a
// time and several at once, get_version, and unknown keys.
func TestStemCookie(t *testing.T) {
	stemtest.Require(t)
	s := startFixture(t, "guard.conns", authCookie)
	keys := append(s.exactKeys(), s.sampleConnKeys(t)...)
	// Not "VERSION": stem answers it from its case-insensitive cache of version.
	unknown := [][]string{{"nosuchkey"}, {"version", "conn/0/99"}, {"conn/01000/10", "UPTIME", "uptime"}}
	events := []string{"BW", "CIRC"}
	r := runStem(t, s, "auto", "", stemPlan{Keys: keys, Multi: stemMulti, Unknown: unknown, Version: true, Events: events, API: true})

	require.True(t, r.Authenticated, "auth error: %+v", r.AuthError)
	assert.Equal(t, "1.8.1", r.StemVersion)
	assertStemVersion(t, r)
	assert.True(t, r.EventsAdded, "add_event_listener: %+v", r.EventsError)
	// stem's own readings of process/pid, process/user and uptime.
	require.NotNil(t, r.API, "get_pid, get_user, get_uptime: %+v", r.APIError)
	assert.Equal(t, os.Getpid(), r.API.PID)
	assert.Equal(t, s.answer(t, "process/user"), r.API.User)
	assert.InDelta(t, (processAge + sinceReset).Seconds(), r.API.Uptime, 30)
	assert.Empty(t, r.Errors)
	require.Len(t, r.Values, len(keys))
	for _, key := range keys {
		assertStemValue(t, s, key, r.Values[key])
	}
	assertStemConnAll(t, s, r.Values["conn/all"])
	assertStemMulti(t, r)

	require.Len(t, r.Unknown, len(unknown))
	for i, u := range r.Unknown {
		var want []string
		for _, k := range unknown[i] {
			if _, err := s.mux.Answer(nil, k); err != nil {
				want = append(want, k)
			}
		}
		slices.Sort(want)
		require.NotNil(t, u.Error, "stem answered %v: %v", u.Keys, u.Reply)
		assert.Equal(t, "InvalidArguments", u.Error.Type, "%+v", u.Error)
		assert.Equal(t, "552", u.Error.Code)
		assert.Equal(t, want, u.Error.Arguments)
		assert.Equal(t, []string{u.Error.Message}, u.Error.Args)
		assert.True(t, strings.HasPrefix(u.Error.Message, "GETINFO request contained unrecognized keywords: "), u.Error.Message)
	}
	assert.True(t, r.Alive, "stem's connection died")

	ss := s.wire.waitClosed(t)
	require.Len(t, ss, 1)
	sent := ss[0].SentLines()
	t.Logf("stem sent, first lines: %q", sent[:min(len(sent), 6)])
	matchLines(t, append([]string{`PROTOCOLINFO 1`, `AUTHCHALLENGE SAFECOOKIE [0-9A-Fa-f]{64}`, `AUTHENTICATE [0-9A-Fa-f]{64}`}, stemAfterAuth...), sent[:5])
	// add_event_listener asks the version, then re-sends SETEVENTS with
	// the events it listens for added; the rest is GETINFO.
	var setevents []string
	for _, line := range sent[5:] {
		if ev, ok := strings.CutPrefix(line, "SETEVENTS "); ok {
			setevents = append(setevents, ev)
			continue
		}
		assert.True(t, strings.HasPrefix(line, "GETINFO "), "stem sent %q", line)
	}
	require.Len(t, setevents, 1)
	got := strings.Fields(setevents[0])
	slices.Sort(got)
	want := append([]string{"CONF_CHANGED", "SIGNAL", "STATUS_SERVER"}, events...)
	slices.Sort(want)
	assert.Equal(t, want, got)
}

// TestStemConnAll reads conn/all with stem in its three shapes: no entry
// (an empty value), one entry (a single line) and a busy relay's ten
// thousand lines (a data block).
func TestStemConnAll(t *testing.T) {
	stemtest.Require(t)
	for _, tc := range []struct {
		name  string
		start func(t *testing.T) *server
	}{
		{"empty", func(t *testing.T) *server { return startFixture(t, "empty.conns", authCookie) }},
		{"one entry", func(t *testing.T) *server {
			return startText(t, "conn 3 IDt remote=198.51.100.9:3344 lport=9030 read=1536 written=99999 age=60\n", authCookie)
		}},
		{"busy relay", func(t *testing.T) *server { return startBusy(t, 2000, authCookie) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.start(t)
			r := runStem(t, s, "auto", "", stemPlan{Keys: []string{"conn/all"}})
			require.True(t, r.Authenticated, "auth error: %+v", r.AuthError)
			require.Empty(t, r.Errors)
			assertStemConnAll(t, s, r.Values["conn/all"])
		})
	}
}

// TestStemPassword: authenticate(password='secret') against a server with
// a hashed password only. stem sends the password quoted.
func TestStemPassword(t *testing.T) {
	stemtest.Require(t)
	s := startFixture(t, "guard.conns", authPassword)
	keys := append([]string{"conn/all"}, s.sampleConnKeys(t)...)
	r := runStem(t, s, "password", password, stemPlan{Keys: keys, Multi: stemMulti, Version: true})

	require.True(t, r.Authenticated, "auth error: %+v", r.AuthError)
	assertStemVersion(t, r)
	assert.Empty(t, r.Errors)
	for _, key := range keys {
		assertStemValue(t, s, key, r.Values[key])
	}
	assertStemConnAll(t, s, r.Values["conn/all"])
	assertStemMulti(t, r)

	ss := s.wire.waitClosed(t)
	require.Len(t, ss, 1)
	matchLines(t, append([]string{`PROTOCOLINFO 1`, `AUTHENTICATE "secret"`}, stemAfterAuth...), ss[0].SentLines()[:4])
}

// TestStemAuthMethods: what stem's authenticate() picks on other servers
// (NULL; with both a cookie and a password it tries the password first),
// and each cookie method forced through stem's authenticate_cookie and
// authenticate_safecookie.
func TestStemAuthMethods(t *testing.T) {
	stemtest.Require(t)
	const hex64 = `[0-9A-Fa-f]{64}`
	for _, tc := range []struct {
		name   string
		mode   authMode
		auth   string
		secret string
		sent   []string
	}{
		{"null", authNull, "auto", "", append([]string{`PROTOCOLINFO 1`, `AUTHENTICATE`}, stemAfterAuth...)},
		{"cookie+password", authCookieAndPassword, "password", password, append([]string{`PROTOCOLINFO 1`, `AUTHENTICATE "secret"`}, stemAfterAuth...)},
		{"cookie", authCookie, "cookie", "", []string{`PROTOCOLINFO 1`, `AUTHENTICATE [0-9a-f]{64}`}},
		{"safecookie", authCookie, "safecookie", "", []string{`PROTOCOLINFO 1`, `AUTHCHALLENGE SAFECOOKIE ` + hex64, `AUTHENTICATE ` + hex64}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startFixture(t, "guard.conns", tc.mode)
			r := runStem(t, s, tc.auth, tc.secret, stemPlan{Version: true})
			require.True(t, r.Authenticated, "auth error: %+v", r.AuthError)
			if tc.auth == "cookie" || tc.auth == "safecookie" {
				assert.Equal(t, []string{"Cookie", "Safecookie"}, r.AuthMethods) // stem's names for COOKIE and SAFECOOKIE
				assert.Empty(t, r.UnknownAuthMethods)
				assert.Equal(t, s.cookie, r.CookiePath)
			}
			assertStemVersion(t, r)
			ss := s.wire.waitClosed(t)
			require.Len(t, ss, 1)
			matchLines(t, append(tc.sent, `GETINFO version`), ss[0].SentLines())
		})
	}
}

// TestStemWrongPassword: stem raises IncorrectPassword for the server's
// 515, and the server closes the connection.
func TestStemWrongPassword(t *testing.T) {
	stemtest.Require(t)
	s := startFixture(t, "guard.conns", authPassword)
	r := runStem(t, s, "password", "wrong", stemPlan{Version: true})
	require.False(t, r.Authenticated)
	require.NotNil(t, r.AuthError)
	assert.Equal(t, "IncorrectPassword", r.AuthError.Type, "%+v", r.AuthError)
	assert.Contains(t, r.AuthError.Str, "Password did not match HashedControlPassword value from configuration")

	ss := s.wire.waitClosed(t)
	require.NotEmpty(t, ss)
	for i, se := range ss {
		t.Logf("connection %d: stem sent %q, got %q", i, se.SentLines(), se.ReceivedLines())
	}
	matchLines(t, []string{`PROTOCOLINFO 1`, `AUTHENTICATE "wrong"`}, ss[0].SentLines())
	got := ss[0].ReceivedLines()
	assert.Equal(t, "515 Authentication failed: Password did not match HashedControlPassword value from configuration", got[len(got)-1])
}

// TestStemCookiePath: stem unescapes every COOKIEFILE escape tor uses, so
// it authenticates whatever the cookie's path.
func TestStemCookiePath(t *testing.T) {
	stemtest.Require(t)
	for _, d := range cookieDirs {
		t.Run(d.name, func(t *testing.T) {
			s := startFixture(t, "guard.conns", authCookie, cookieIn(t, d.name))
			r := runStem(t, s, "safecookie", "", stemPlan{Version: true})
			require.True(t, r.Authenticated, "auth error: %+v", r.AuthError)
			assert.Equal(t, s.cookie, r.CookiePath)
			assertStemVersion(t, r)
		})
	}
}

// TestStemPublicTier serves a guard's fixture under the public tier, with
// the fixture's listed relays as its consensus, and reads conn/all, a few
// conn/<circ>/<conn> keys and the totals with stem, twice: both readings,
// in one epoch, are what package oracle says the tier shows, identical.
func TestStemPublicTier(t *testing.T) {
	stemtest.Require(t)
	fx, err := connstatetest.ReadFile(fixtureDir + "guard.conns")
	require.NoError(t, err)
	reg, clk, err := fx.Build()
	require.NoError(t, err)
	s := start(t, reg, clk, authCookie, tier(scrub.Public(fx.Relays())))

	// The raw lines as of the epoch's instant, where the view dates them.
	instant := clk.Now().Truncate(scrub.DefaultEpoch)
	parts, release := reg.EntryPartsAt(instant, 1)
	var raw []connstate.Entry
	for _, p := range parts {
		for e := range p {
			raw = append(raw, *e)
		}
	}
	release()
	want := oracle.PublicLines(raw, oracle.Listed(fx.Relays()), 10, publicSeed)
	id := func(n uint64) string { return strconv.FormatUint(oracle.Pseudonym(publicSeed, publicSeed, n), 10) }
	circ := func(n uint64) string {
		return strconv.FormatUint(oracle.CircuitPseudonym(publicSeed, publicSeed, n), 10)
	}
	require.Contains(t, want, " "+circ(2000)+" ", "the guard's origin circuit is shown")
	require.NotContains(t, want, " "+circ(1000)+" ", "its carried ones are not")

	relayKey, originKey := "conn/0/"+id(24), "conn/"+circ(2000)+"/"+id(24)
	keys := []string{"conn/all", relayKey, originKey, "relay/read-total", "traffic/written"}
	for range 2 {
		r := runStem(t, s, "auto", "", stemPlan{Keys: keys})
		require.True(t, r.Authenticated, "auth error: %+v", r.AuthError)
		require.Empty(t, r.Errors)
		assert.Equal(t, want, r.Values["conn/all"])
		assert.NotEmpty(t, r.Values[relayKey])
		assert.NotEmpty(t, r.Values[originKey])
		for _, line := range strings.Split(want, "\n") {
			f := strings.Fields(line)
			if key := "conn/" + f[1] + "/" + f[0]; key == relayKey || key == originKey {
				assert.Equal(t, line, r.Values[key], key)
			}
		}
		for _, key := range []string{"relay/read-total", "traffic/written"} {
			n, err := strconv.ParseUint(r.Values[key], 10, 64)
			require.NoError(t, err, key)
			assert.Zero(t, n%oracle.PublicRound, "%s rounded", key)
		}
	}
}
