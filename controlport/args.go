package controlport

import (
	"strings"

	"github.com/conninfo/conninfo/internal/cescape"
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

func skipSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	return s
}

// word returns the run of s up to the first whitespace byte.
func word(s string) (w, rest string) {
	i := 0
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// parseArgs takes npos positional words (all required), then keyword
// arguments to the end.
func parseArgs(raw string, npos int) (argsOf, error) {
	var a argsOf
	rest := raw
	for range npos {
		rest = skipSpace(rest)
		if rest == "" {
			return a, errTooFewArgs
		}
		var w string
		w, rest = word(rest)
		a.positional = append(a.positional, w)
	}
	for {
		rest = skipSpace(rest)
		if rest == "" {
			return a, nil
		}
		var p kv
		if rest[0] != '"' {
			i := 0
			for i < len(rest) && rest[i] != '=' && !isSpace(rest[i]) {
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
				p.value, rest = word(rest)
				a.kwargs = append(a.kwargs, p)
				continue
			}
		}
		val, after, ok := cescape.Unquote(rest)
		if !ok || (after != "" && !isSpace(after[0])) {
			return a, errKVSyntax
		}
		p.value = string(val)
		a.kwargs = append(a.kwargs, p)
		rest = after
	}
}
