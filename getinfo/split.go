package getinfo

import "strings"

// isSpace is tor's TOR_ISSPACE: space, TAB, LF, VT, FF and CR.
func isSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// SplitKeys splits the arguments of a GETINFO command into keys, as tor
// does: on the space byte only, ignoring runs of spaces, and trimming other
// whitespace (TAB, CR, LF, VT, FF) from each key's ends, so that
// "version\tuptime" is one key but "version\r" is "version". It returns nil
// if there is no key.
func SplitKeys(args string) []string {
	return AppendSplitKeys(nil, args)
}

// AppendSplitKeys is like [SplitKeys] but appends the keys to dst, so that a
// caller may reuse one slice. The keys share args' memory.
func AppendSplitKeys(dst []string, args string) []string {
	for args != "" {
		key, rest, _ := strings.Cut(args, " ")
		if key = trimSpace(key); key != "" {
			dst = append(dst, key)
		}
		args = rest
	}
	return dst
}

func trimSpace(s string) string {
	for len(s) > 0 && isSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && isSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}
