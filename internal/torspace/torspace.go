package torspace

import "strings"

// IsSpace reports whether c is space, TAB, LF, VT, FF or CR: ASCII
// whitespace, as tor's TOR_ISSPACE.
func IsSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// Trim returns s without the IsSpace bytes at either end.
func Trim(s string) string {
	for len(s) > 0 && IsSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && IsSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// AppendWords appends the words of args to dst as tor splits a command's
// arguments: on the space byte only, ignoring runs of spaces, and trimming
// other whitespace (TAB, CR, LF, VT, FF) from each word's ends, so that
// "a\tb" is one word but "a\r" is "a". The words share args' memory.
func AppendWords(dst []string, args string) []string {
	for args != "" {
		word, rest, _ := strings.Cut(args, " ")
		if word = Trim(word); word != "" {
			dst = append(dst, word)
		}
		args = rest
	}
	return dst
}
