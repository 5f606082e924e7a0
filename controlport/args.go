package controlport

import (
	"strings"

	"github.com/conninfo/conninfo/internal/torspace"
)

// kv is one keyword argument; key is "" for a value given without a key.
type kv struct {
	key   string
	value string
}

// argsOf is a command's arguments, split as tor splits those of
// AUTHENTICATE and AUTHCHALLENGE: some positional words, then keyword
// arguments whose keys may be omitted and whose values may be quoted.
type argsOf struct {
	positional []string
	kwargs     []kv
}

// argError is a parse error whose text is tor's, sent after
// "512 Bad arguments to CMD: ".
type argError string

func (e argError) Error() string { return string(e) }

const (
	errTooFewArgs argError = "Need at least 1 argument(s)"
	errKVSyntax   argError = "Cannot parse keyword argument(s)"
)

// isKVSpace is what separates keyword arguments in tor's kvline parser:
// space, TAB, CR, VT and LF, but not FF.
func isKVSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\n' }

// parseArgs takes npos positional words, split on the space byte alone
// and trimmed of other whitespace, as tor does (so a TAB does not end
// one), then keyword arguments to the end.
func parseArgs(raw string, npos int) (argsOf, error) {
	var a argsOf
	rest := raw
	for len(a.positional) < npos {
		if rest == "" {
			return a, errTooFewArgs
		}
		var w string
		w, rest, _ = strings.Cut(rest, " ")
		if w = torspace.Trim(w); w != "" {
			a.positional = append(a.positional, w)
		}
	}
	for {
		for rest != "" && isKVSpace(rest[0]) {
			rest = rest[1:]
		}
		if rest == "" {
			return a, nil
		}
		var p kv
		if rest[0] != '"' {
			i := 0
			for i < len(rest) && rest[i] != '=' && !isKVSpace(rest[i]) {
				i++
			}
			if i == len(rest) || rest[i] != '=' {
				a.kwargs = append(a.kwargs, kv{value: rest[:i]})
				rest = rest[i:]
				continue
			}
			if i == 0 {
				return a, errKVSyntax // "=value": a key cannot be empty
			}
			p.key, rest = rest[:i], rest[i+1:]
			if !strings.HasPrefix(rest, `"`) {
				j := 0
				for j < len(rest) && !isKVSpace(rest[j]) {
					j++
				}
				p.value, rest = rest[:j], rest[j:]
				a.kwargs = append(a.kwargs, p)
				continue
			}
		}
		val, after, ok := unquote(rest)
		if !ok {
			return a, errKVSyntax
		}
		p.value = val
		a.kwargs = append(a.kwargs, p)
		rest = after // the next argument may follow the quote at once
	}
}

// unquote reads a QuotedString at the start of s as tor does: between
// double quotes, a backslash takes the next byte literally (there are no
// \n or octal escapes). It returns the value, the rest of s after the
// closing quote, and false if s holds no complete QuotedString.
func unquote(s string) (value, rest string, ok bool) {
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
