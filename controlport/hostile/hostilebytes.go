package hostile

import (
	"slices"
	"strings"
	"testing"

	"github.com/conninfo/conninfo/controlport/controlporttest"
	"github.com/stretchr/testify/require"
)

// hostileBytes are what HostileBytes puts in each field: every C0 control
// byte, DEL, and invalid UTF-8 (a lone continuation byte, 0xff, a bad
// second byte, an encoded surrogate, a code point past U+10FFFF).
var hostileBytes = func() []string {
	var bs []string
	for b := range 0x20 {
		bs = append(bs, string([]byte{byte(b)}))
	}
	return append(bs, "\x7f", "\x80", "\xff", "\xc3\x28", "\xed\xa0\x80", "\xf4\x90\x80\x80")
}()

// afterAuth are the lines HostileBytes sends on an authenticated
// connection, %s standing for the hostile bytes.
var afterAuth = []string{
	"GETINFO a%sb",
	"GETINFO version a%sb",
	"GETINFO %s",
	"GETINFO conn/%s/1 conn/1/1%s",
	"GETINFO info/names%s",
	"GETINFO events/names %s info/names",
	"GETINFO conn/all%s",
	"GETINFO%sversion",
	"GET%sINFO version",
	"%sGETINFO version",
	"FOO%sBAR baz",
	"SETEVENTS CIRC%s STREAM",
	"SETEVENTS %s",
	"USEFEATURE VERBOSE_NAMES%s",
	"GETCONF a%sb __OwningControllerProcess",
	"GETCONF __OwningControllerProcess%s",
	"PROTOCOLINFO 1%s",
}

// beforeAuth are sent each on a new connection: each is refused and
// closed (or, with a whitespace byte, is QUIT).
var beforeAuth = []string{
	"GETINFO a%sb",
	"GETI%sNFO version",
	"QUIT%s",
	"SETEVENTS CIRC%s",
	"USEFEATURE %s",
}

// HostileBytes puts control bytes (NUL, CR, LF and the rest of 0x01-0x1f,
// 0x7f) and invalid UTF-8 in GETINFO keys, command words, and SETEVENTS,
// USEFEATURE, GETCONF and PROTOCOLINFO arguments. After authenticating,
// each line is followed by GETINFO version on the same connection: every
// reply must be well framed (see ReadReply), there must be exactly one
// reply per LF sent, no status line may hold a control byte other than TAB
// (tor echoes an unknown command word raw; conninfo escapes it), and the
// version must still be answered. Before authenticating, each line gets one
// well-framed refusal (514, or 250 for a QUIT) and a close. Last come the
// sub-checks that a command word, event, feature or option name matches
// only as tor's ASCII strcasecmp does.
func HostileBytes(t testing.TB, addr string, auth controlporttest.Auth) {
	sub(t, "after auth", func(t testing.TB) {
		c := controlporttest.Dial(t, "tcp", addr)
		defer c.Close()
		c.Authenticate(auth)
		want := version(t, c)
		replies, blocks := 0, 0
		for _, form := range afterAuth {
			for _, b := range hostileBytes {
				line := strings.ReplaceAll(form, "%s", b) + "\r\n"
				c.Send(line + "GETINFO version\r\n")
				for i := range strings.Count(line, "\n") {
					rep := c.ReadReply()
					replies++
					if slices.ContainsFunc(rep.Lines, func(l string) bool { return strings.HasPrefix(l, rep.Code+"+") }) {
						blocks++
					}
					require.Contains(t, []string{"250", "510", "512", "513", "552"}, rep.Code, "reply %d to %q: %q", i, line, rep.Lines)
					for _, l := range rep.Lines {
						require.False(t, hasControlByte(l), "reply %d to %q echoes a control byte raw: %q", i, line, l)
					}
				}
				require.Equal(t, want, c.ReadReply().Lines, "after %q", line)
			}
		}
		t.Logf("%d hostile lines answered with %d well-framed replies (%d with data blocks) on one connection", len(afterAuth)*len(hostileBytes), replies, blocks)
	})

	sub(t, "before auth", func(t testing.TB) {
		for _, form := range beforeAuth {
			for _, b := range hostileBytes {
				line := strings.ReplaceAll(form, "%s", b) + "\r\n"
				c := controlporttest.Dial(t, "tcp", addr)
				c.Send(line)
				rep := c.ReadReply()
				if rep.Code == "250" {
					require.Equal(t, []string{"250 closing connection"}, rep.Lines, "reply to %q", line)
				} else {
					require.Equal(t, []string{"514 Authentication required."}, rep.Lines, "reply to %q", line)
				}
				c.ExpectClosed()
				c.Close()
			}
		}
	})
	Served(t, addr, auth)

	asciiCase(t, addr, auth)
	Served(t, addr, auth)
}

// hasControlByte reports a byte below 0x20 other than TAB, or DEL.
func hasControlByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return true
		}
	}
	return false
}

// asciiCase checks that names match case-insensitively in ASCII only, as
// tor's strcasecmp does: 'ı' (U+0131, dotless i) and 'ſ' (U+017F, long s)
// are not 'I' and 'S'.
func asciiCase(t testing.TB, addr string, auth controlporttest.Auth) {
	type kase struct {
		name    string
		preAuth bool
		send    string
		want    []string
		closed  bool
	}
	cases := []kase{
		{name: "command word", send: "GETıNFO version", want: []string{`510 Unrecognized command "GETıNFO"`}},
		{name: "command word, long s", send: "ſetevents CIRC", want: []string{`510 Unrecognized command "ſetevents"`}},
		{name: "event name", send: "SETEVENTS ſTATUS_SERVER", want: []string{`552 Unrecognized event "ſTATUS_SERVER"`}},
		{name: "feature name", send: "USEFEATURE EXTENDED_EVENTſ", want: []string{`552 Unrecognized feature "EXTENDED_EVENTſ"`}},
		{name: "option name", send: "GETCONF __OwningControllerProceſſ", want: []string{`552 Unrecognized configuration key "__OwningControllerProceſſ"`}},
		{name: "QUIT before auth", preAuth: true, send: "quıt", want: []string{"514 Authentication required."}, closed: true},
		{name: "PROTOCOLINFO before auth", preAuth: true, send: "PROTOCOLıNFO 1", want: []string{"514 Authentication required."}, closed: true},
		{name: "AUTHENTICATE before auth", preAuth: true, send: strings.Replace(authLine(t, auth), "AUTHENTICATE", "AUTHENTıCATE", 1), want: []string{"514 Authentication required."}, closed: true},
	}
	if auth.CookieFile != "" {
		cases = append(cases, kase{name: "AUTHCHALLENGE method", preAuth: true, send: "AUTHCHALLENGE ſAFECOOKIE 0011", want: []string{"513 AUTHCHALLENGE only supports SAFECOOKIE authentication"}, closed: true})
	}
	for _, k := range cases {
		sub(t, "ASCII case only: "+k.name, func(t testing.TB) {
			c := controlporttest.Dial(t, "tcp", addr)
			defer c.Close()
			if !k.preAuth {
				c.Authenticate(auth)
			}
			got := c.Command(k.send).Lines
			require.Equal(t, k.want, got, "reply to %q", k.send)
			if k.closed {
				c.ExpectClosed()
			} else {
				version(t, c)
			}
		})
	}
}
