package getinfo_test

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/getinfo"
)

// replyLine is one parsed reply line.
type replyLine struct {
	code int
	sep  byte   // '-', '+' or ' '
	text string // after the separator
	data string // for '+': the data block, dots unstuffed, each line ending in "\n"
}

// parseReply parses a reply as a controller would, and fails unless it is
// well framed: CRLF lines of a 3-digit code, a separator and text free of CR
// and LF; data blocks closed by "."; exactly one end line, last; one code
// throughout, as every GETINFO reply has.
func parseReply(b []byte) ([]replyLine, error) {
	s, ok := strings.CutSuffix(string(b), "\r\n")
	if !ok {
		return nil, errors.New("reply does not end in CRLF")
	}
	raw := strings.Split(s, "\r\n")
	var out []replyLine
	for i := 0; i < len(raw); i++ {
		l := raw[i]
		if len(out) > 0 && out[len(out)-1].sep == ' ' {
			return nil, fmt.Errorf("line %d after the end line", i+1)
		}
		if len(l) < 4 || !isDigits(l[:3]) {
			return nil, fmt.Errorf("line %d: no status code: %q", i+1, l)
		}
		code, _ := strconv.Atoi(l[:3])
		rl := replyLine{code: code, sep: l[3], text: l[4:]}
		if strings.ContainsAny(rl.text, "\r\n") {
			return nil, fmt.Errorf("line %d: CR or LF inside a status line: %q", i+1, l)
		}
		switch rl.sep {
		case '-', ' ':
		case '+':
			var data strings.Builder
		block:
			for {
				i++
				if i == len(raw) {
					return nil, errors.New("data block without its final dot")
				}
				d := raw[i]
				switch {
				case d == ".":
					break block
				case strings.Contains(d, "\n"):
					return nil, fmt.Errorf("line %d: bare LF in a data block", i+1)
				case strings.HasPrefix(d, ".") && !strings.HasPrefix(d, ".."):
					return nil, fmt.Errorf("line %d: leading dot not doubled", i+1)
				}
				data.WriteString(strings.TrimPrefix(d, "."))
				data.WriteByte('\n')
			}
			rl.data = data.String()
		default:
			return nil, fmt.Errorf("line %d: bad separator %q", i+1, rl.sep)
		}
		out = append(out, rl)
	}
	if out[len(out)-1].sep != ' ' {
		return nil, errors.New("no end line")
	}
	for _, l := range out {
		if l.code != out[0].code {
			return nil, errors.New("mixed status codes")
		}
	}
	return out, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// behaviour is what the model handler does for one key.
type behaviour struct {
	kind    int // see the constants below
	payload string
}

const (
	answerValue = iota
	declineKey
	declineWithText
	unavailable
	plainError
	panics
	nBehaviours
)

// modelHandler answers each key as beh says; an unknown key gets a value.
func modelHandler(beh map[string]behaviour) getinfo.Handler {
	return getinfo.HandlerFunc(func(dst []byte, key string) ([]byte, error) {
		b := beh[key]
		dst = append(dst, "junk-before-error"...)
		switch b.kind {
		case declineKey:
			return dst, fmt.Errorf("wrapped: %w", getinfo.ErrUnrecognized)
		case declineWithText:
			return dst, getinfo.UnrecognizedWithText(b.payload)
		case unavailable:
			return dst, getinfo.Unavailable(b.payload)
		case plainError:
			return dst, errors.New(b.payload)
		case panics:
			panic(b.payload)
		}
		return append(dst[:len(dst)-len("junk-before-error")], b.payload...), nil
	})
}

func echo(s string) string { return string(getinfo.AppendEscapedKey(nil, s)) }

// checkReply parses got and compares it with what the model says keys with
// behaviours beh must give.
func checkReply(t require.TestingT, keys []string, beh map[string]behaviour, got []byte) {
	lines, err := parseReply(got)
	require.NoError(t, err, "reply %q", got)

	for _, k := range keys {
		switch b := beh[k]; b.kind {
		case unavailable, plainError, panics:
			text := "Internal error"
			if b.kind == unavailable && b.payload != "" {
				text = echo(b.payload)
			}
			require.Equal(t, []replyLine{{code: 551, sep: ' ', text: text}}, lines, "reply %q", got)
			return
		}
	}
	var unrec []string
	for _, k := range keys {
		switch b := beh[k]; b.kind {
		case declineKey:
			unrec = append(unrec, `Unrecognized key "`+echo(k)+`"`)
		case declineWithText:
			if b.payload == "" || b.payload == `Unrecognized key ""` {
				unrec = append(unrec, `Unrecognized key "`+echo(k)+`"`)
			} else {
				unrec = append(unrec, echo(b.payload))
			}
		}
	}
	if len(unrec) > 0 {
		require.Len(t, lines, len(unrec), "reply %q", got)
		for i, l := range lines {
			require.Equal(t, 552, l.code)
			require.Equal(t, unrec[i], l.text)
		}
		return
	}
	require.Len(t, lines, len(keys)+1, "reply %q", got)
	require.Equal(t, replyLine{code: 250, sep: ' ', text: "OK"}, lines[len(keys)])
	for i, k := range keys {
		v, l := beh[k].payload, lines[i]
		if !strings.ContainsAny(v, "\r\n") {
			require.Equal(t, replyLine{code: 250, sep: '-', text: echo(k) + "=" + v}, l)
			continue
		}
		require.Equal(t, byte('+'), l.sep)
		require.Equal(t, echo(k)+"=", l.text)
		if !strings.Contains(v, "\r") { // CRs make the encoding lossy
			require.Equal(t, strings.TrimSuffix(v, "\n")+"\n", l.data)
		}
	}
}

// hostileBytes draws bytes that stress the framing most of the time.
func hostileBytes() *rapid.Generator[byte] {
	return rapid.OneOf(rapid.SampledFrom([]byte("\r\n\x00\t .\"\\'=\x7f\xffab")), rapid.Byte())
}

func TestWriteReplyFramingProperty(t *testing.T) {
	str := rapid.Map(rapid.SliceOfN(hostileBytes(), 0, 12), func(b []byte) string { return string(b) })
	rapid.Check(t, func(t *rapid.T) {
		keys := rapid.SliceOfN(str, 0, 8).Draw(t, "keys")
		beh := map[string]behaviour{}
		for _, k := range keys {
			if _, ok := beh[k]; !ok {
				// Values are more common than failures, as in life.
				kind := max(0, rapid.IntRange(-4, nBehaviours-1).Draw(t, "kind"))
				beh[k] = behaviour{kind: kind, payload: str.Draw(t, "payload")}
			}
		}
		var buf bytes.Buffer
		require.NoError(t, getinfo.WriteReply(&buf, modelHandler(beh), keys))
		checkReply(t, keys, beh, buf.Bytes())
	})
}

func FuzzWriteReply(f *testing.F) {
	f.Add("", "", []byte{})
	f.Add("version", "0.4.9.11", []byte{answerValue})
	f.Add("  version    uptime  ", "79", []byte{answerValue})
	f.Add("version\tuptime", "", []byte{declineKey})
	f.Add("a\rb", "", []byte{declineKey})
	f.Add("ver\x00sion", "", []byte{declineKey})
	f.Add("a\"b\\c\xc3\xa9\xff x=y 'z'", "", []byte{declineKey})
	f.Add("dir/status/a=b ns/id/\"x", "", []byte{answerValue})
	f.Add("config-text", "ControlPort 1\nSocksPort 0\n", []byte{answerValue})
	f.Add("dotted", ".dot\n.\r\n..\r\r\n\r", []byte{answerValue})
	f.Add("desc/id/x nosuchkey", "We fetch microdescriptors", []byte{declineWithText, declineKey})
	f.Add("nosuchkey address", "Address unknown", []byte{declineKey, unavailable})
	f.Add("a bb ccc", "x\r\n250 OK\r\n", []byte{unavailable, declineWithText, panics, plainError})
	f.Fuzz(func(t *testing.T, args, payload string, modes []byte) {
		keys := getinfo.SplitKeys(args)
		beh := map[string]behaviour{}
		for i, k := range keys {
			if _, ok := beh[k]; !ok {
				b := behaviour{payload: payload + k}
				if len(modes) > 0 {
					b.kind = int(modes[i%len(modes)]) % nBehaviours
				}
				beh[k] = b
			}
		}
		var buf bytes.Buffer
		require.NoError(t, getinfo.WriteReply(&buf, modelHandler(beh), keys))
		checkReply(t, keys, beh, buf.Bytes())
	})
}
