package conformance_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Lines at the 1 MiB limit, their CR LF included: "GETINFO " (8 bytes), one
// key, CR LF (2 bytes).
var (
	longestLine = "GETINFO " + strings.Repeat("k", 1<<20-1-10) + "\r\n" // 1,048,575 bytes: accepted
	tooLongLine = "GETINFO " + strings.Repeat("k", 1<<20-10) + "\r\n"   // 1,048,576 bytes: 500 and close
	// Multi-line commands of two data lines, "+FOO" line and "." line included.
	longestData = multiLine(1<<20 - 1) // 1,048,575 bytes in all: accepted
	tooLongData = multiLine(1 << 20)   // 1,048,576 bytes in all: tor answers 500 and closes
)

// multiLine returns an unknown multi-line command of n bytes in all.
func multiLine(n int) string {
	data := n - len("+FOO\r\n") - len(".\r\n") - 2*len("\r\n")
	return "+FOO\r\n" + strings.Repeat("d", data/2) + "\r\n" + strings.Repeat("e", data-data/2) + "\r\n.\r\n"
}

// A SAFECOOKIE client nonce.
const nonce = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// sessions are sent to tor and to our server alike; after normalisation
// both must answer the same bytes and agree on closing the connection.
// GETINFO keys are unknown ones, or keys both answer identically
// (events/names, features/names, and version after normalisation): tor
// knows many keys we do not.
var sessions = []session{
	// Before authentication: PROTOCOLINFO.
	{"PROTOCOLINFO bare then a second PROTOCOLINFO", []string{"PROTOCOLINFO\r\n", "PROTOCOLINFO 1\r\n"}},
	{"PROTOCOLINFO 1", []string{"PROTOCOLINFO 1\r\n"}},
	{"protocolinfo in lower case with several versions", []string{"protocolinfo 1 2 3\r\n"}},
	{"PROTOCOLINFO non-numeric version before auth", []string{"PROTOCOLINFO x\"y\r\n"}},
	{"PROTOCOLINFO signed and zero-padded versions", []string{"PROTOCOLINFO +1 007 0\r\n"}},
	{"PROTOCOLINFO negative version", []string{"PROTOCOLINFO -1\r\n"}},
	{"PROTOCOLINFO version beyond LONG_MAX", []string{"PROTOCOLINFO 9223372036854775808\r\n"}},
	{"PROTOCOLINFO version with a TAB inside", []string{"PROTOCOLINFO 1\t2\r\n"}},
	{"PROTOCOLINFO then cookie AUTHENTICATE then GETINFO", []string{"PROTOCOLINFO 1\r\n", "AUTHENTICATE {COOKIEHEX}\r\n", "GETINFO version\r\n"}},

	// Before authentication: everything else closes with 514.
	{"GETINFO before auth", []string{"GETINFO version\r\n"}},
	{"two pipelined commands before auth", []string{"GETINFO version\r\nPROTOCOLINFO 1\r\n"}},
	{"unknown command before auth", []string{"FOOBAR baz\r\n"}},
	{"empty line before auth", []string{"\r\n"}},
	{"multi-line command before auth", []string{"+FOO\r\nline\r\n.\r\n"}},
	{"SETEVENTS before auth", []string{"SETEVENTS\r\n"}},
	{"QUIT before auth", []string{"QUIT\r\n"}},
	{"quit now please", []string{"quit now please\r\n"}},

	// AUTHENTICATE.
	{"AUTHENTICATE bad cookie", []string{"AUTHENTICATE " + strings.Repeat("00", 32) + "\r\n"}},
	{"AUTHENTICATE cookie of the wrong length", []string{"AUTHENTICATE 00112233\r\n"}},
	{"AUTHENTICATE without argument", []string{"AUTHENTICATE\r\n"}},
	{"AUTHENTICATE non-hex", []string{"AUTHENTICATE xyz\r\n"}},
	{"AUTHENTICATE odd-length hex", []string{"AUTHENTICATE abc\r\n"}},
	{"AUTHENTICATE quoted string", []string{"AUTHENTICATE \"hello\"\r\n"}},
	{"AUTHENTICATE empty quoted string", []string{"AUTHENTICATE \"\"\r\n"}},
	{"AUTHENTICATE keyword argument", []string{"AUTHENTICATE foo=bar\r\n"}},
	{"AUTHENTICATE empty keyword", []string{"AUTHENTICATE =00\r\n", "QUIT\r\n"}},
	{"AUTHENTICATE two arguments", []string{"AUTHENTICATE 00 11\r\n"}},
	{"AUTHENTICATE quoted string followed by a word", []string{"AUTHENTICATE \"abc\"def\r\n", "QUIT\r\n"}},
	{"AUTHENTICATE unterminated quote stays open", []string{"AUTHENTICATE \"abc\r\n", "AUTHENTICATE {COOKIEHEX}\r\n", "GETINFO features/names\r\n"}},
	{"AUTHENTICATE correct cookie", authed("GETINFO version\r\n")},
	{"authenticate correct cookie in upper case", []string{"authenticate {COOKIEHEXUPPER}\r\n", "GETINFO features/names\r\n"}},
	{"AUTHENTICATE cookie between TABs", []string{"AUTHENTICATE\t{COOKIEHEX}\t\r\n", "GETINFO features/names\r\n"}},
	{"AUTHENTICATE cookie then NUL and junk", []string{"AUTHENTICATE {COOKIEHEX}\x00junk\r\n", "GETINFO features/names\r\n"}},
	{"AUTHENTICATE hex split by a form feed", []string{"AUTHENTICATE 00\f11\r\n"}},
	{"AUTHENTICATE cookie as quoted octal escapes", []string{"AUTHENTICATE \"{COOKIEOCTAL}\"\r\n", "GETINFO features/names\r\n"}},
	{"AUTHENTICATE twice", authed("AUTHENTICATE {COOKIEHEX}\r\n", "GETINFO features/names\r\n")},

	// AUTHCHALLENGE.
	{"AUTHCHALLENGE without arguments stays open", []string{"AUTHCHALLENGE\r\n", "AUTHENTICATE {COOKIEHEX}\r\n"}},
	{"AUTHCHALLENGE SAFECOOKIE without nonce", []string{"AUTHCHALLENGE SAFECOOKIE\r\n"}},
	{"AUTHCHALLENGE unsupported method", []string{"AUTHCHALLENGE COOKIE 0011\r\n"}},
	{"AUTHCHALLENGE bad hex nonce", []string{"AUTHCHALLENGE SAFECOOKIE 0g\r\n"}},
	{"AUTHCHALLENGE odd-length hex nonce", []string{"AUTHCHALLENGE SAFECOOKIE abc\r\n"}},
	{"AUTHCHALLENGE two nonces", []string{"AUTHCHALLENGE SAFECOOKIE 00 11\r\n"}},
	{"AUTHCHALLENGE keyword argument", []string{"AUTHCHALLENGE SAFECOOKIE nonce=00\r\n"}},
	{"AUTHCHALLENGE then wrong AUTHENTICATE", []string{"AUTHCHALLENGE SAFECOOKIE " + nonce + "\r\n", "AUTHENTICATE " + strings.Repeat("11", 32) + "\r\n"}},
	{"AUTHCHALLENGE then AUTHENTICATE of the wrong length", []string{"AUTHCHALLENGE SAFECOOKIE " + nonce + "\r\n", "AUTHENTICATE 11111111\r\n"}},
	{"AUTHCHALLENGE then the plain cookie", []string{"AUTHCHALLENGE SAFECOOKIE " + nonce + "\r\n", "AUTHENTICATE {COOKIEHEX}\r\n"}},
	{"AUTHCHALLENGE twice", []string{"AUTHCHALLENGE SAFECOOKIE " + nonce + "\r\n", "AUTHCHALLENGE SAFECOOKIE " + nonce + "\r\n"}},
	{"AUTHCHALLENGE then PROTOCOLINFO", []string{"AUTHCHALLENGE SAFECOOKIE " + nonce + "\r\n", "PROTOCOLINFO 1\r\n"}},
	{"AUTHCHALLENGE quoted nonce then correct HMAC", []string{"AUTHCHALLENGE SAFECOOKIE \"my nonce\"\r\n", "AUTHENTICATE {HMAC}\r\n", "GETINFO features/names\r\n"}},
	{"AUTHCHALLENGE empty quoted nonce then correct HMAC", []string{"AUTHCHALLENGE SAFECOOKIE \"\"\r\n", "AUTHENTICATE {HMAC}\r\n"}},
	{"AUTHCHALLENGE quoted nonce with backslashes then HMAC", []string{"AUTHCHALLENGE SAFECOOKIE \"a\\tb\\\\c\\\"d\\101\"\r\n", "AUTHENTICATE {HMAC}\r\n", "GETINFO features/names\r\n"}},
	{"SAFECOOKIE flow", []string{"PROTOCOLINFO 1\r\n", "AUTHCHALLENGE SAFECOOKIE " + nonce + "\r\n", "AUTHENTICATE {HMAC}\r\n", "GETINFO version\r\n"}},
	{"authchallenge in lower case then HMAC", []string{"authchallenge safecookie " + nonce + "\r\n", "AUTHENTICATE {HMAC}\r\n", "GETINFO features/names\r\n"}},
	{"AUTHCHALLENGE nonce after a TAB", []string{"AUTHCHALLENGE SAFECOOKIE\t" + nonce + "\r\n", "AUTHENTICATE {HMAC}\r\n"}},
	{"SAFECOOKIE flow then AUTHENTICATE with the plain cookie", []string{"AUTHCHALLENGE SAFECOOKIE " + nonce + "\r\n", "AUTHENTICATE {HMAC}\r\n", "AUTHENTICATE {COOKIEHEX}\r\n", "GETINFO features/names\r\n"}},
	{"SAFECOOKIE flow then the same HMAC again", []string{"AUTHCHALLENGE SAFECOOKIE " + nonce + "\r\n", "AUTHENTICATE {HMAC}\r\n", "AUTHENTICATE {HMAC}\r\n", "GETINFO features/names\r\n"}},
	{"AUTHCHALLENGE after auth then HMAC", authed("AUTHCHALLENGE SAFECOOKIE "+nonce+"\r\n", "AUTHENTICATE {HMAC}\r\n", "GETINFO features/names\r\n")},

	// Other protocols on the control port.
	{"HTTP request", []string{"GET / HTTP/1.0\r\n\r\n"}},
	{"HTTP POST request", []string{"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"}},
	{"HTTP request line without its line end", []string{"GET / HTTP/1.0"}},
	{"HTTP request after PROTOCOLINFO in one write", []string{"PROTOCOLINFO 1\r\nGET / HTTP/1.0\r\n\r\n"}},
	{"HTTP request after PROTOCOLINFO in two writes", []string{"PROTOCOLINFO 1\r\n", "GET / HTTP/1.0\r\n\r\n"}},
	{"HTTP request after auth", authed("GET / HTTP/1.0\r\n")},
	{"v0 control protocol header", []string{"\x00\x00\x00\x00"}},

	// Framing and the line limit.
	{"line of 1048575 bytes after auth", authed(longestLine, "GETINFO features/names\r\n")},
	{"line of 1048576 bytes after auth", authed(tooLongLine)},
	{"line of 1048576 bytes before auth", []string{tooLongLine}},
	{"multi-line command of 1048575 bytes in all", authed(longestData, "GETINFO features/names\r\n")},
	{"multi-line command of 1048576 bytes in all", authed(tooLongData, "GETINFO features/names\r\n")},
	{"line split across two writes", authed("GETINFO feat", "ures/names\r\n")},
	{"line ending in CR only until LF arrives", authed("GETINFO features/names\r", "\n")},
	{"pipelined GETINFO", authed("GETINFO events/names\r\nGETINFO features/names\r\n")},
	{"pipelined GETINFO and QUIT", authed("GETINFO features/names\r\nQUIT\r\n")},
	{"multi-line command ending in LF only", authed("+FOO\nline\n.\n", "GETINFO features/names\r\n")},
	{"multi-line command with no data", authed("+FOO\r\n.\r\n")},

	// GETINFO after authentication.
	{"GETINFO without key", authed("GETINFO\r\n")},
	{"GETINFO trailing space", authed("GETINFO \r\n")},
	{"GETINFO unknown key", authed("GETINFO nosuchkey\r\n")},
	{"GETINFO known then unknown key", authed("GETINFO events/names nosuchkey\r\n")},
	{"GETINFO unknown then known key", authed("GETINFO nosuchkey features/names\r\n")},
	{"GETINFO unknown known unknown", authed("GETINFO nosuch1 events/names nosuch2\r\n")},
	{"GETINFO version then unknown key", authed("GETINFO version nosuchkey\r\n")},
	{"GETINFO two known keys", authed("GETINFO events/names features/names\r\n")},
	{"GETINFO duplicate key", authed("GETINFO features/names features/names\r\n")},
	{"GETINFO version", authed("GETINFO version\r\n")},
	{"GETINFO version twice", authed("GETINFO version version\r\n")},
	{"GETINFO VERSION", authed("GETINFO VERSION\r\n")},
	{"GETINFO Version", authed("GETINFO Version\r\n")},
	{"GETINFO runs of spaces", authed("GETINFO   events/names    features/names  \r\n")},
	{"GETINFO TAB after the command", authed("GETINFO\tfeatures/names\r\n")},
	{"GETINFO TAB between keys", authed("GETINFO events/names\tfeatures/names\r\n")},
	{"GETINFO LF-only line end", authed("GETINFO features/names\n")},
	{"GETINFO extra CR", authed("GETINFO features/names\r\r\n")},
	{"GETINFO quote backslash and 8-bit bytes in a key", authed("GETINFO a\"b\\c\xc3\xa9\xff\r\n")},
	{"GETINFO equals sign and single quotes", authed("GETINFO x=y 'z'\r\n")},
	{"GETINFO NUL in a key", authed("GETINFO ver\x00sion\r\n")},
	{"GETINFO bare prefix", authed("GETINFO config/\r\n")},
	{"GETINFO prefix as info/names spells it", authed("GETINFO config/*\r\n")},
	{"GETINFO proposal keys tor never shipped", authed("GETINFO conn/all conn/1/2 relay/bw-limit process/uptime\r\n")},
	{"getinfo in lower case", authed("getinfo features/names\r\n")},
	{"GeTiNfO in mixed case", authed("GeTiNfO features/names\r\n")},

	// Other commands after authentication.
	{"+GETINFO multi-line form", authed("+GETINFO version\r\nsome data\r\n.\r\n", "GETINFO features/names\r\n")},
	{"LOADCONF without plus", authed("LOADCONF\r\n")},
	{"unknown multi-line command", authed("+FOO\r\nline\r\n.\r\n")},
	{"FOOBAR", authed("FOOBAR\r\n")},
	{"foobar with args", authed("foobar with args\r\n")},
	{"NUL in the command word", authed("GET\x00INFO version\r\n")},
	{"empty line after auth", authed("\r\n")},
	{"leading space", authed(" GETINFO version\r\n")},
	{"SETROUTERPURPOSE", authed("SETROUTERPURPOSE x y\r\n")},
	{"PROTOCOLINFO after auth", authed("PROTOCOLINFO\r\n", "PROTOCOLINFO 1\r\n")},
	{"PROTOCOLINFO x after auth stays open", authed("PROTOCOLINFO x\r\n", "GETINFO features/names\r\n")},
	{"GETCONF nosuchoption", authed("GETCONF nosuchoption\r\n")},
	{"GETCONF two unknown options", authed("GETCONF nosuch1 nosuch2\r\n")},
	{"GETCONF __owningcontrollerprocess", authed("GETCONF __owningcontrollerprocess\r\n")},
	{"GETCONF __OwningControllerProcess twice", authed("GETCONF __OwningControllerProcess __OwningControllerProcess\r\n")},
	{"GETCONF known and unknown option", authed("GETCONF __OwningControllerProcess nosuch\r\n")},
	{"GETCONF without option", authed("GETCONF\r\n")},
	{"USEFEATURE nosuchfeature", authed("USEFEATURE nosuchfeature\r\n")},
	{"USEFEATURE VERBOSE_NAMES", authed("USEFEATURE VERBOSE_NAMES\r\n")},
	{"usefeature in lower case with both features", authed("usefeature verbose_names extended_events\r\n")},
	{"USEFEATURE without feature", authed("USEFEATURE\r\n")},
	{"SETEVENTS nosuchevent", authed("SETEVENTS nosuchevent\r\n")},
	{"SETEVENTS two unknown events", authed("SETEVENTS nosuch1 nosuch2\r\n")},
	{"SETEVENTS SIGNAL CONF_CHANGED STATUS_SERVER", authed("SETEVENTS SIGNAL CONF_CHANGED STATUS_SERVER\r\n")},
	{"setevents in lower case with EXTENDED", authed("setevents extended signal\r\n")},
	{"SETEVENTS AUTHDIR_NEWDESCS", authed("SETEVENTS AUTHDIR_NEWDESCS\r\n")},
	{"SETEVENTS without events", authed("SETEVENTS\r\n")},
	{"re-AUTHENTICATE with a bad cookie after auth", authed("AUTHENTICATE 00\r\n")},
	{"QUIT after auth", authed("QUIT\r\n")},
	{"quit in lower case after auth", authed("quit\r\n")},
}

// knownDifferences are sessions on which our server is known to answer
// differently from tor because of a bug in it, by session name. The test
// requires them to still differ: fixing a bug means deleting its entry.
var knownDifferences = map[string]string{}

// TestConformance sends every session to tor and to our server and requires
// the same bytes back, after normalisation.
func TestConformance(t *testing.T) {
	tor := torEndpoint(t)
	ours := ourEndpoint(t, nil)

	names := map[string]bool{}
	for _, s := range sessions {
		require.False(t, names[s.name], "duplicate session name %q", s.name)
		names[s.name] = true
	}
	for name := range knownDifferences {
		require.True(t, names[name], "knownDifferences names no session: %q", name)
	}

	torT, ourT := runAll(sessions, tor, ours)
	matched, known := 0, 0
	for i, s := range sessions {
		t.Run(s.name, func(t *testing.T) {
			a, b := torT[i], ourT[i]
			require.NoError(t, a.err, "tor")
			require.NoError(t, b.err, "ours")
			for _, n := range a.notes {
				assert.Equal(t, "SERVERHASH verifies", n, "tor: the test's SAFECOOKIE model is wrong")
			}
			if bug, ok := knownDifferences[s.name]; ok {
				known++
				if assert.False(t, a.equal(b), "known difference now matches tor: remove it from knownDifferences: %s", bug) {
					t.Logf("known difference (%s): %s\n  tor:%s\n  ours:%s", bug, firstDifference(a, b), a, b)
				}
				return
			}
			if assert.True(t, a.equal(b), "tor and ours differ: %s\n  tor:%s\n  ours:%s", firstDifference(a, b), a, b) {
				matched++
			}
		})
	}
	t.Logf("compared %d sessions with tor: %d matched, %d known differences, %d failed",
		len(sessions), matched, known, len(sessions)-matched-known)
}
