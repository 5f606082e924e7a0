package torspace

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
