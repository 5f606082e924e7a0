package protocol

import (
	"strings"

	"github.com/conninfo/conninfo/internal/cescape"
	"github.com/conninfo/conninfo/internal/torspace"
)

// KV is one keyword argument; Key is "" for a value given without a key.
type KV struct {
	Key   string
	Value string
}

// Args is a command's arguments, split as tor splits those of
// AUTHENTICATE and AUTHCHALLENGE: some positional words, then keyword
// arguments (tor's kvline) whose keys may be omitted and whose values may
// be quoted.
type Args struct {
	Positional []string
	Keywords   []KV
}

// ArgError is a parse error of [ParseArgs] whose text is tor's; tor sends
// it after "512 Bad arguments to CMD: ".
type ArgError string

func (e ArgError) Error() string { return string(e) }

// The errors of [ParseArgs].
const (
	ErrTooFewArgs ArgError = "Need at least 1 argument(s)"
	ErrKVSyntax   ArgError = "Cannot parse keyword argument(s)"
)

// isKVSpace is what separates keyword arguments in tor's kvline parser:
// space, TAB, CR, VT and LF, but not FF.
func isKVSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\n' }

// ParseArgs takes npos positional words, split on the space byte alone
// and trimmed of other whitespace, as tor does (so a TAB does not end
// one), then keyword arguments to the end. Fewer than npos words are
// [ErrTooFewArgs]; a keyword argument tor cannot parse (an empty key, an
// unterminated quote) is [ErrKVSyntax].
func ParseArgs(raw string, npos int) (Args, error) {
	var a Args
	rest := raw
	for len(a.Positional) < npos {
		if rest == "" {
			return a, ErrTooFewArgs
		}
		var w string
		w, rest, _ = strings.Cut(rest, " ")
		if w = torspace.Trim(w); w != "" {
			a.Positional = append(a.Positional, w)
		}
	}
	for {
		for rest != "" && isKVSpace(rest[0]) {
			rest = rest[1:]
		}
		if rest == "" {
			return a, nil
		}
		var p KV
		if rest[0] != '"' {
			i := 0
			for i < len(rest) && rest[i] != '=' && !isKVSpace(rest[i]) {
				i++
			}
			if i == len(rest) || rest[i] != '=' {
				a.Keywords = append(a.Keywords, KV{Value: rest[:i]})
				rest = rest[i:]
				continue
			}
			if i == 0 {
				return a, ErrKVSyntax // "=value": a key cannot be empty
			}
			p.Key, rest = rest[:i], rest[i+1:]
			if !strings.HasPrefix(rest, `"`) {
				j := 0
				for j < len(rest) && !isKVSpace(rest[j]) {
					j++
				}
				p.Value, rest = rest[:j], rest[j:]
				a.Keywords = append(a.Keywords, p)
				continue
			}
		}
		val, after, ok := Unquote(rest)
		if !ok {
			return a, ErrKVSyntax
		}
		p.Value = val
		a.Keywords = append(a.Keywords, p)
		rest = after // the next argument may follow the quote at once
	}
}

// Unquote reads a QuotedString at the start of s as tor's kvline parser
// does: between double quotes, a backslash takes the next byte literally
// (there are no \n or octal escapes). It returns the value, the rest of s
// after the closing quote, and false if s holds no complete QuotedString.
func Unquote(s string) (value, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '"':
			return b.String(), s[i+1:], true
		case '\\':
			if i++; i == len(s) {
				return "", s, false
			}
		}
		b.WriteByte(s[i])
	}
	return "", s, false
}

// EqualFold is tor's strcasecmp, by which it matches command words, event
// and feature names and options: it folds ASCII letters only, so that "ſ"
// is not "s" and "ı" is not "i", as strings.EqualFold would have them.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// Upper upper-cases ASCII letters only, for matching a command word
// against tor's names with a switch.
func Upper(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// SplitWords splits a command's arguments into words as tor splits those
// of GETINFO, SETEVENTS, GETCONF, USEFEATURE and PROTOCOLINFO: on the space
// byte only, ignoring runs of spaces, and trimming other whitespace (TAB,
// CR, LF, VT, FF) from each word's ends, so that "a\tb" is one word but
// "a\r" is "a". It returns nil if there is no word.
func SplitWords(args string) []string { return torspace.AppendWords(nil, args) }

// AppendUnrecognized appends tor's answer to a command it does not know,
// `510 Unrecognized command "CMD"` and CR LF, with the command word echoed
// as sent unless it holds a control byte: then it is C-escaped, where tor
// would echo it raw into the controller's terminal.
func AppendUnrecognized(dst []byte, cmd string) []byte {
	dst = append(dst, `510 Unrecognized command "`...)
	dst = cescape.AppendEcho(dst, cmd)
	return append(dst, "\"\r\n"...)
}
