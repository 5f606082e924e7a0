package consensus_test

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/conninfo/conninfo/connstate"
	"github.com/conninfo/conninfo/consensus"
	"github.com/conninfo/conninfo/internal/golden"
)

const (
	fixturePath = "../testdata/consensus/cached-consensus"
	goldenPath  = "../testdata/consensus/authorities.golden"
)

// validDoc is a small full-flavour consensus: one authority (moria1, line 8)
// and one plain relay (newcomer, line 11). Each malformed case below makes
// one change to it.
const validDoc = `network-status-version 3
vote-status consensus
consensus-method 34
valid-after 2026-11-25 12:00:00
fresh-until 2026-11-25 13:00:00
valid-until 2026-11-25 15:00:00
known-flags Authority Fast Running Valid
r moria1 lpXfw1/+uGEym58asExGOXAgzjE gjOIKkcp43vD3ctUpuBA+Ww93NE 2026-11-25 01:52:28 128.31.0.39 9101 9131
s Authority Fast Running Valid
v Tor 0.4.9.11
r newcomer b33rbyjWDPLNG+BpA5qd2elORYA 2RK8182QCS4uAsSJ7Yu+9qzG6Ts 2026-11-24 23:32:19 192.0.2.200 8443 0
s Running Valid
directory-footer
bandwidth-weights Wbd=0
`

// microdescDoc is the same document in the microdescriptor flavour: no
// digest on the r lines, an m line per entry.
const microdescDoc = `network-status-version 3 microdesc
vote-status consensus
consensus-method 34
valid-after 2026-11-25 12:00:00
fresh-until 2026-11-25 13:00:00
valid-until 2026-11-25 15:00:00
known-flags Authority Fast Running Valid
r moria1 lpXfw1/+uGEym58asExGOXAgzjE 2026-11-25 01:52:28 128.31.0.39 9101 9131
m 2RK8182QCS4uAsSJ7Yu+9qzG6TsyUuErpiXbMqfxHi0
s Authority Fast Running Valid
v Tor 0.4.9.11
r newcomer b33rbyjWDPLNG+BpA5qd2elORYA 2026-11-24 23:32:19 192.0.2.200 8443 0
m xGiRNww8BpdFJr+f37alAD/i5rMvWqCklXLCOZvvn03
s Running Valid
directory-footer
`

// edit returns validDoc with its one occurrence of old replaced by new.
func edit(old, new string) string {
	if strings.Count(validDoc, old) != 1 {
		panic("edit: " + old + " does not occur exactly once in validDoc")
	}
	return strings.Replace(validDoc, old, new, 1)
}

func readFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(fixturePath)
	require.NoError(t, err)
	return b
}

func parseString(t *testing.T, doc string) *consensus.Consensus {
	t.Helper()
	c, err := consensus.Parse(strings.NewReader(doc))
	require.NoError(t, err)
	require.NotNil(t, c)
	return c
}

func nicknames(rs []consensus.RouterStatus) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Nickname)
	}
	return out
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseFixture(t *testing.T) {
	raw := readFixture(t)
	c, err := consensus.Parse(bytes.NewReader(raw))
	require.NoError(t, err)

	assert.False(t, c.Microdesc)
	assert.Equal(t, date("2026-11-25 12:00:00"), c.ValidAfter)
	assert.Equal(t, date("2026-11-25 13:00:00"), c.FreshUntil)
	assert.Equal(t, date("2026-11-25 15:00:00"), c.ValidUntil)
	assert.Equal(t, time.UTC, c.ValidAfter.Location())
	require.Len(t, c.Routers, 13)

	type auth struct {
		identity       string
		addr           string
		orPort, dirPor uint16
		published      string
	}
	want := map[string]auth{
		"moria1":     {"9695DFC35FFEB861329B9F1AB04C46397020CE31", "128.31.0.39", 9101, 9131, "2026-11-25 01:52:28"},
		"tor26":      {"847B1F850344D7876491A54892F904934E4EB85D", "86.59.21.38", 443, 80, "2026-11-25 07:36:17"},
		"dizum":      {"7EA6EAD6FD83083C538F44038BBFA077587DD755", "45.66.35.11", 443, 80, "2026-11-25 04:44:35"},
		"gabelmoo":   {"F2044413DAC2E02E3D6BCF4735A19BCA1DE97281", "131.188.40.189", 443, 80, "2026-11-25 09:47:56"},
		"dannenberg": {"7BE683E65D48141321C5ED92F075C55364AC7123", "193.23.244.244", 443, 80, "2026-11-25 07:42:12"},
		"maatuska":   {"BD6A829255CB08E66FBE7D3748363586E46B3810", "171.25.193.9", 80, 443, "2026-11-25 08:52:33"},
		"Faravahar":  {"CF6D0AAFB385BE71B8E111FC5CFF4B47923733BC", "154.35.175.225", 443, 80, "2026-11-25 04:22:14"},
		"longclaw":   {"74A910646BCEEFBCD2E874FC1DC997430F968145", "199.58.81.140", 443, 80, "2026-11-25 05:41:16"},
		"bastet":     {"24E2F139121D4394C54B5BCC368B3B411857C413", "204.13.164.118", 443, 80, "2026-11-25 03:28:39"},
	}

	auths := c.Authorities()
	// Document order, not the order of the list above.
	assert.Equal(t, []string{"bastet", "longclaw", "dannenberg", "dizum", "tor26", "moria1", "maatuska", "Faravahar", "gabelmoo"}, nicknames(auths))
	require.Len(t, auths, len(want))
	for _, a := range auths {
		w, ok := want[a.Nickname]
		if !assert.True(t, ok, "unexpected authority %s", a.Nickname) {
			continue
		}
		assert.Equal(t, w.identity, a.Identity.String(), a.Nickname)
		assert.Equal(t, netip.MustParseAddr(w.addr), a.Addr, a.Nickname)
		assert.Equal(t, w.orPort, a.ORPort, a.Nickname)
		assert.Equal(t, w.dirPor, a.DirPort, a.Nickname)
		assert.Equal(t, date(w.published), a.Published, a.Nickname)
		assert.True(t, a.HasFlag("Authority"), a.Nickname)
		assert.Equal(t, []string{"Authority", "Fast", "Running", "Stable", "V2Dir", "Valid"}, a.Flags, a.Nickname)
	}

	for _, r := range c.Routers {
		assert.True(t, strings.HasPrefix(r.Text, "r "+r.Nickname+" "), "%s: Text %.40q", r.Nickname, r.Text)
		assert.True(t, strings.HasSuffix(r.Text, "\n"), "%s: Text ends in a newline", r.Nickname)
		assert.Contains(t, r.Text, "\ns "+strings.Join(r.Flags, " ")+"\n", "%s: Text holds the s line", r.Nickname)
		assert.Contains(t, string(raw), r.Text, "%s: Text is the document's own bytes", r.Nickname)
		assert.NotContains(t, r.Text, "\nr ", "%s: Text holds a single entry", r.Nickname)
		_, isAuth := want[r.Nickname]
		assert.Equal(t, isAuth, r.HasFlag("Authority"), r.Nickname)
	}

	var concat []byte
	for _, a := range auths {
		concat = append(concat, a.Text...)
	}
	got := c.AppendAuthorities(nil)
	assert.Equal(t, string(concat), string(got))
	for _, nick := range []string{"quietmiddle", "busyguard", "exitnode42", "newcomer"} {
		assert.NotContains(t, string(got), "r "+nick+" ")
	}
	assert.NotContains(t, string(got), "directory-footer")
	assert.NotContains(t, string(got), "dir-source", "no header lines")
}

func TestAppendAuthoritiesGolden(t *testing.T) {
	c, err := consensus.Parse(bytes.NewReader(readFixture(t)))
	require.NoError(t, err)
	golden.Compare(t, goldenPath, c.AppendAuthorities(nil))
}

func TestAppendAuthoritiesKeepsPrefix(t *testing.T) {
	c := parseString(t, validDoc)
	got := c.AppendAuthorities([]byte("prefix\n"))
	assert.Equal(t, "prefix\n"+c.Routers[0].Text, string(got))
	assert.Equal(t, "r moria1 lpXfw1/+uGEym58asExGOXAgzjE gjOIKkcp43vD3ctUpuBA+Ww93NE 2026-11-25 01:52:28 128.31.0.39 9101 9131\n"+
		"s Authority Fast Running Valid\n"+
		"v Tor 0.4.9.11\n", c.Routers[0].Text)
	assert.Equal(t, "r newcomer b33rbyjWDPLNG+BpA5qd2elORYA 2RK8182QCS4uAsSJ7Yu+9qzG6Ts 2026-11-24 23:32:19 192.0.2.200 8443 0\n"+
		"s Running Valid\n", c.Routers[1].Text, "the last entry runs to the footer")
}

func TestParseMicrodesc(t *testing.T) {
	c := parseString(t, microdescDoc)
	assert.True(t, c.Microdesc)
	assert.Equal(t, date("2026-11-25 12:00:00"), c.ValidAfter)
	require.Len(t, c.Routers, 2)
	m := c.Routers[0]
	assert.Equal(t, "moria1", m.Nickname)
	assert.Equal(t, "9695DFC35FFEB861329B9F1AB04C46397020CE31", m.Identity.String())
	assert.Equal(t, date("2026-11-25 01:52:28"), m.Published)
	assert.Equal(t, netip.MustParseAddr("128.31.0.39"), m.Addr)
	assert.Equal(t, uint16(9101), m.ORPort)
	assert.Equal(t, uint16(9131), m.DirPort)
	assert.Contains(t, m.Text, "\nm 2RK8182QCS4uAsSJ7Yu+9qzG6TsyUuErpiXbMqfxHi0\n")
	assert.Equal(t, []string{"moria1"}, nicknames(c.Authorities()))
	assert.Equal(t, m.Text, string(c.AppendAuthorities(nil)))

	// A full-flavour r line (with a digest) has one field too many here.
	_, err := consensus.Parse(strings.NewReader(strings.Replace(microdescDoc,
		"lpXfw1/+uGEym58asExGOXAgzjE ", "lpXfw1/+uGEym58asExGOXAgzjE gjOIKkcp43vD3ctUpuBA+Ww93NE ", 1)))
	require.ErrorIs(t, err, consensus.ErrMalformed)
	assert.Contains(t, err.Error(), "line 8: r line has 8 fields, want 7")

	// And a microdesc r line is one short in the full flavour.
	_, err = consensus.Parse(strings.NewReader(strings.Replace(microdescDoc,
		"network-status-version 3 microdesc\n", "network-status-version 3\n", 1)))
	require.ErrorIs(t, err, consensus.ErrMalformed)
	assert.Contains(t, err.Error(), "line 8: r line has 7 fields, want 8")
}

func TestParseNoRouters(t *testing.T) {
	c := parseString(t, validDoc[:strings.Index(validDoc, "r moria1")]+"directory-footer\n")
	assert.Empty(t, c.Routers)
	assert.Empty(t, c.Authorities())
	assert.Empty(t, c.AppendAuthorities(nil))
}

// TestParseForwardCompatible: keywords conninfo does not know are skipped
// in the header and kept, verbatim, in an entry's text.
func TestParseForwardCompatible(t *testing.T) {
	doc := edit("known-flags ", "future-header-keyword 1 2 3\nknown-flags ")
	doc = strings.Replace(doc, "v Tor 0.4.9.11\n", "v Tor 0.4.9.11\nfuture-entry-keyword x=1\n\n", 1)
	c := parseString(t, doc)
	require.Len(t, c.Routers, 2)
	assert.Equal(t, "r moria1 lpXfw1/+uGEym58asExGOXAgzjE gjOIKkcp43vD3ctUpuBA+Ww93NE 2026-11-25 01:52:28 128.31.0.39 9101 9131\n"+
		"s Authority Fast Running Valid\n"+
		"v Tor 0.4.9.11\n"+
		"future-entry-keyword x=1\n"+
		"\n", c.Routers[0].Text)
	assert.Equal(t, c.Routers[0].Text, string(c.AppendAuthorities(nil)))
	assert.NotContains(t, string(c.AppendAuthorities(nil)), "future-header-keyword")

	// Flags conninfo does not know, and an empty s line, are kept too.
	doc = edit("s Running Valid\n", "s\n")
	doc = strings.Replace(doc, "\ns Authority Fast", "\ns Authority NewFlag Fast", 1)
	c = parseString(t, doc)
	assert.Equal(t, []string{"Authority", "NewFlag", "Fast", "Running", "Valid"}, c.Routers[0].Flags)
	assert.NotNil(t, c.Routers[1].Flags, "an empty s line is still an s line")
	assert.Empty(t, c.Routers[1].Flags)
	assert.False(t, c.Routers[1].HasFlag("Authority"))

	// Every line ends in a newline, the footer's too; what follows the
	// footer is not read.
	_, err := consensus.Parse(strings.NewReader(validDoc[:strings.Index(validDoc, "directory-footer")] + "directory-footer"))
	assert.ErrorIs(t, err, consensus.ErrMalformed)
	assert.ErrorContains(t, err, "line 13: no newline at the end of the document")
	c = parseString(t, validDoc+"\x00\r not a consensus line\n")
	assert.Len(t, c.Routers, 2)
}

func TestHasFlag(t *testing.T) {
	r := consensus.RouterStatus{Flags: []string{"Authority", "Running"}}
	assert.True(t, r.HasFlag("Authority"))
	assert.True(t, r.HasFlag("Running"))
	assert.False(t, r.HasFlag("authority"), "flags are case-sensitive")
	assert.False(t, r.HasFlag("Auth"))
	assert.False(t, (&consensus.RouterStatus{}).HasFlag("Authority"))
}

type malformedCase struct {
	name string
	doc  string
	line int    // the line the error names; 0 for none
	msg  string // what the error says after "line N: "
}

// malformedCases are the invalid documents of TestParseErrors, each validDoc
// with one change; FuzzParse seeds with them too.
func malformedCases() []malformedCase {
	longLine := "v " + strings.Repeat("x", 100<<10)
	return []malformedCase{
		{"empty", "", 0, "empty document"},
		{"blank first line", "\n" + validDoc, 1, `want "network-status-version 3", got ""`},
		{"wrong version keyword", edit("network-status-version 3\n", "network-status 3\n"), 1, `want "network-status-version 3", got "network-status 3"`},
		{"version 2", edit("network-status-version 3\n", "network-status-version 2\n"), 1, `got "network-status-version 2"`},
		{"unknown flavour", edit("network-status-version 3\n", "network-status-version 3 ns2\n"), 1, `got "network-status-version 3 ns2"`},
		{"version not first", edit("network-status-version 3\nvote-status consensus\n", "vote-status consensus\nnetwork-status-version 3\n"), 1, `got "vote-status consensus"`},
		{"vote", edit("vote-status consensus", "vote-status vote"), 2, `vote-status "vote": not a consensus`},
		{"vote-status empty", edit("vote-status consensus", "vote-status"), 2, `vote-status "": not a consensus`},
		{"bad valid-after", edit("valid-after 2026-11-25 12:00:00", "valid-after 2026-11-25T12:00:00Z"), 4, `valid-after "2026-11-25T12:00:00Z": want YYYY-MM-DD HH:MM:SS`},
		{"valid-after month 13", edit("valid-after 2026-11-25", "valid-after 2026-13-25"), 4, `valid-after "2026-13-25 12:00:00"`},
		{"bad valid-until", edit("valid-until 2026-11-25 15:00:00", "valid-until tomorrow"), 6, `valid-until "tomorrow": want YYYY-MM-DD HH:MM:SS`},
		{"missing fresh-until", edit("fresh-until 2026-11-25 13:00:00\n", ""), 12, "footer before the header's vote-status, valid-after, fresh-until and valid-until"},
		{"missing vote-status", edit("vote-status consensus\n", ""), 12, "footer before the header's"},
		{"footer before header", edit("consensus-method 34\n", "directory-footer\n"), 3, "footer before the header's"},
		{"r too few fields", edit(" 9101 9131\n", " 9101\n"), 8, "r line has 7 fields, want 8"},
		{"r too many fields", edit(" 9101 9131\n", " 9101 9131 7\n"), 8, "r line has 9 fields, want 8"},
		{"r no fields", edit("s Running Valid\n", "s Running Valid\nr\n"), 13, "r line has 0 fields, want 8"},
		{"nickname too long", edit("r moria1 ", "r abcdefghijklmnopqrst "), 8, `r line nickname "abcdefghijklmnopqrst": want 1 to 19 letters and digits`},
		{"nickname not alnum", edit("r moria1 ", "r moria_1 "), 8, `r line nickname "moria_1"`},
		{"nickname not ASCII", edit("r moria1 ", "r mori\u00e41 "), 8, "r line nickname"},
		{"identity not base64", edit("lpXfw1/+uGEym58asExGOXAgzjE", "lpXfw1/+uGEym58asExGOX!gzjE"), 8, `r line identity "lpXfw1/+uGEym58asExGOX!gzjE": not base64`},
		{"identity 19 bytes", edit("lpXfw1/+uGEym58asExGOXAgzjE", strings.Repeat("A", 26)), 8, "r line identity \"" + strings.Repeat("A", 26) + "\": 19 bytes, want 20"},
		{"identity 21 bytes", edit("lpXfw1/+uGEym58asExGOXAgzjE", strings.Repeat("A", 28)), 8, "21 bytes, want 20"},
		{"digest not base64", edit("gjOIKkcp43vD3ctUpuBA+Ww93NE", "gjOIKkcp43vD3ctUpuBA-Ww93NE"), 8, `r line digest "gjOIKkcp43vD3ctUpuBA-Ww93NE": not base64`},
		{"digest short", edit("gjOIKkcp43vD3ctUpuBA+Ww93NE", "gjOIKkcp"), 8, `r line digest "gjOIKkcp": 6 bytes, want 20`},
		{"bad date", edit("2026-11-25 01:52:28", "2026-11-31 01:52:28"), 8, `r line publication "2026-11-31 01:52:28": want YYYY-MM-DD HH:MM:SS`},
		{"bad time", edit("2026-11-25 01:52:28", "2026-11-25 01:52"), 8, `r line publication "2026-11-25 01:52"`},
		{"IPv6 address", edit("128.31.0.39", "2001:db8::39"), 8, `r line address "2001:db8::39": want IPv4`},
		{"IPv4-mapped IPv6 address", edit("128.31.0.39", "::ffff:128.31.0.39"), 8, `r line address "::ffff:128.31.0.39": want IPv4`},
		{"bad address", edit("128.31.0.39", "128.31.0.256"), 8, `r line address "128.31.0.256"`},
		{"ORPort 65536", edit(" 9101 9131\n", " 65536 9131\n"), 8, `r line port "65536": want 0 to 65535`},
		{"DirPort negative", edit(" 9101 9131\n", " 9101 -1\n"), 8, `r line port "-1"`},
		{"entry without s line", edit("\ns Authority Fast Running Valid\n", "\n"), 8, "entry for moria1 has no s line"},
		{"last entry without s line", edit("s Running Valid\n", ""), 11, "entry for newcomer has no s line"},
		{"two s lines", edit("v Tor 0.4.9.11\n", "s Running\n"), 10, "second s line for moria1"},
		{"CR in a line", edit("v Tor 0.4.9.11", "v Tor\r0.4.9.11"), 10, "holds a CR or NUL byte"},
		{"CR in the header", edit("consensus-method 34", "consensus-method\r34"), 3, "holds a CR or NUL byte"},
		{"NUL byte", edit("v Tor 0.4.9.11", "v Tor 0.4.9.11\x00"), 10, "holds a CR or NUL byte"},
		{"truncated", validDoc[:strings.Index(validDoc, "directory-footer")], 0, "truncated after line 12: no directory-footer"},
		{"truncated mid-line", validDoc[:strings.Index(validDoc, "directory-footer")+9], 13, "no newline at the end of the document"},
		{"100 KiB line", edit("v Tor 0.4.9.11", longLine), 10, "65536 bytes or more"},
		{"100 KiB first line", strings.Repeat("n", 100<<10) + "\n" + validDoc, 1, "65536 bytes or more"},
	}
}

func TestParseErrors(t *testing.T) {
	for _, tt := range malformedCases() {
		t.Run(tt.name, func(t *testing.T) {
			var (
				c   *consensus.Consensus
				err error
			)
			require.NotPanics(t, func() { c, err = consensus.Parse(strings.NewReader(tt.doc)) })
			require.Error(t, err)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, consensus.ErrMalformed)
			want := "consensus: malformed document: "
			if tt.line > 0 {
				want += "line " + strconv.Itoa(tt.line) + ": "
			}
			assert.True(t, strings.HasPrefix(err.Error(), want), "error %q does not start with %q", err, want)
			assert.Contains(t, err.Error(), tt.msg)
			assert.Less(t, len(err.Error()), 300, "the error quotes a bounded part of the line")
		})
	}
}

// TestParseLineLimit: a line of 64 KiB less one byte is read; one byte more
// is an error.
func TestParseLineLimit(t *testing.T) {
	const limit = 64 << 10
	line := "v " + strings.Repeat("x", limit-3) // with its "\n", limit bytes
	c := parseString(t, edit("v Tor 0.4.9.11", line))
	assert.Contains(t, c.Routers[0].Text, line+"\n")

	_, err := consensus.Parse(strings.NewReader(edit("v Tor 0.4.9.11", line+"x")))
	require.ErrorIs(t, err, consensus.ErrMalformed)
	assert.Contains(t, err.Error(), "line 10: 65536 bytes or more")
}

// TestParseReadError: a reader that fails between lines is reported as
// such, not as a malformed document.
func TestParseReadError(t *testing.T) {
	boom := errors.New("boom")
	for _, n := range []int{
		0,
		strings.Index(validDoc, "vote-status"),
		strings.Index(validDoc, "v Tor"),
		strings.Index(validDoc, "directory-footer"),
	} {
		r := io.MultiReader(strings.NewReader(validDoc[:n]), iotest.ErrReader(boom))
		c, err := consensus.Parse(r)
		assert.Nil(t, c, "after %d bytes", n)
		assert.ErrorIs(t, err, boom, "after %d bytes", n)
		assert.NotErrorIs(t, err, consensus.ErrMalformed, "after %d bytes", n)
		assert.ErrorContains(t, err, "consensus: reading: boom", "after %d bytes", n)
	}

	// A reader that fails after the footer's line does not matter: the
	// parser has what it needs.
	n := strings.Index(validDoc, "directory-footer\n") + len("directory-footer\n")
	c, err := consensus.Parse(io.MultiReader(strings.NewReader(validDoc[:n]), iotest.ErrReader(boom)))
	require.NoError(t, err)
	assert.Len(t, c.Routers, 2)

	// One byte at a time is the same as all at once.
	c, err = consensus.Parse(iotest.OneByteReader(strings.NewReader(validDoc)))
	require.NoError(t, err)
	assert.Equal(t, parseString(t, validDoc), c)
}

// TestParseReadErrorMidLine: a reader that fails in the middle of a line.
// bufio.Scanner hands the partial line over as if it were complete, so the
// parser reports a malformed document instead of the read error, or, when
// the partial line is "directory-footer", succeeds.
func TestParseReadErrorMidLine(t *testing.T) {
	boom := errors.New("boom")
	for _, n := range []int{
		1,
		strings.Index(validDoc, "vote-status") + len("vote-status con"),
		strings.Index(validDoc, "directory-footer") + len("directory-footer"),
	} {
		c, err := consensus.Parse(io.MultiReader(strings.NewReader(validDoc[:n]), iotest.ErrReader(boom)))
		assert.Nil(t, c, "after %d bytes", n)
		assert.ErrorIs(t, err, boom, "after %d bytes", n)
		assert.NotErrorIs(t, err, consensus.ErrMalformed, "after %d bytes", n)
	}
}

// TestParseCRLF: a CR is refused anywhere in a line, its end included.
// bufio.ScanLines drops a CR just before each LF, so a document with CRLF
// line ends parses, and its entries' Text lose their CRs.
func TestParseCRLF(t *testing.T) {
	doc := strings.ReplaceAll(validDoc, "\n", "\r\n")
	_, err := consensus.Parse(strings.NewReader(doc))
	require.ErrorIs(t, err, consensus.ErrMalformed)

	doc = edit("v Tor 0.4.9.11\n", "v Tor 0.4.9.11\r\n")
	_, err = consensus.Parse(strings.NewReader(doc))
	require.ErrorIs(t, err, consensus.ErrMalformed)
	assert.Contains(t, err.Error(), "line 10: holds a CR or NUL byte")
}

func TestParseConcurrent(t *testing.T) {
	raw := readFixture(t)
	want, err := consensus.Parse(bytes.NewReader(raw))
	require.NoError(t, err)
	done := make(chan *consensus.Consensus)
	for range 8 {
		go func() {
			c, _ := consensus.Parse(bytes.NewReader(raw))
			done <- c
		}()
	}
	for range 8 {
		assert.Equal(t, want, <-done)
	}
}

func TestLookupRelay(t *testing.T) {
	c, err := consensus.Parse(bytes.NewReader(readFixture(t)))
	require.NoError(t, err)
	bastet := mustFingerprint(t, "24E2F139121D4394C54B5BCC368B3B411857C413")
	none := mustFingerprint(t, "0000000000000000000000000000000000000001")
	for _, tc := range []struct {
		name   string
		fp     connstate.Fingerprint
		addr   string
		want   string // "" for the zero AddrPort
		listed bool
	}{
		{"IPv4 of the r line", bastet, "204.13.164.118", "204.13.164.118:443", true},
		{"IPv4-mapped", bastet, "::ffff:204.13.164.118", "204.13.164.118:443", true},
		{"IPv6 of the a line", bastet, "2620:13:4000:6000::1000:118", "[2620:13:4000:6000::1000:118]:443", true},
		{"another address", bastet, "204.13.164.119", "", true},
		{"no address", bastet, "", "", true},
		{"unlisted", none, "204.13.164.118", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var addr netip.Addr
			if tc.addr != "" {
				addr = netip.MustParseAddr(tc.addr)
			}
			got, listed := c.LookupRelay(tc.fp, addr)
			assert.Equal(t, tc.listed, listed)
			if tc.want == "" {
				assert.False(t, got.IsValid(), got.String())
			} else {
				assert.Equal(t, tc.want, got.String())
			}
		})
	}
	var nilConsensus *consensus.Consensus
	_, listed := nilConsensus.LookupRelay(bastet, netip.MustParseAddr("204.13.164.118"))
	assert.False(t, listed, "a nil Consensus lists nothing")
	hand := &consensus.Consensus{Routers: []consensus.RouterStatus{{Identity: bastet, Addr: netip.MustParseAddr("192.0.2.1"), ORPort: 9001}}}
	got, listed := hand.LookupRelay(bastet, netip.MustParseAddr("192.0.2.1"))
	assert.True(t, listed, "a Consensus built by hand")
	assert.Equal(t, "192.0.2.1:9001", got.String())
}

func TestParseALines(t *testing.T) {
	c := parseString(t, edit("s Running Valid\n", "a [2001:db8::200]:8443\ns Running Valid\n"))
	assert.Equal(t, []netip.AddrPort{netip.MustParseAddrPort("[2001:db8::200]:8443")}, c.Routers[1].ORAddrs)
	assert.Contains(t, c.Routers[1].Text, "a [2001:db8::200]:8443\n", "kept in the entry's text")
	for _, bad := range []string{"a", "a 2001:db8::200", "a [2001:db8::200]:0", "a [fe80::1%eth0]:443", "a [2001:db8::200]:70000"} {
		_, err := consensus.Parse(strings.NewReader(edit("s Running Valid\n", bad+"\ns Running Valid\n")))
		assert.ErrorIs(t, err, consensus.ErrMalformed, bad)
	}
}

func mustFingerprint(t *testing.T, s string) connstate.Fingerprint {
	t.Helper()
	fp, err := connstate.ParseFingerprint(s)
	require.NoError(t, err)
	return fp
}
