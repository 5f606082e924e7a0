// Package cescape escapes bytes as tor's control port writes them inside
// quotes (tor's esc_for_log): backslash, double and single quote, LF, CR and
// TAB as \\ \" \' \n \r \t, and every other byte below 0x20, 0x7F and every
// byte from 0x80 as a backslash and three octal digits.
//
// Its functions are pure and safe for concurrent use.
package cescape

// Append appends s, escaped, to dst and returns the extended slice.
func Append(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == '"' || c == '\'':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20 || c >= 0x7f:
			dst = append(dst, '\\', '0'+c>>6, '0'+(c>>3)&7, '0'+c&7)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// AppendQuoted appends s escaped and between double quotes.
func AppendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	return append(Append(dst, s), '"')
}

// Unquote reads a QuotedString at the start of s: a double quote, then
// bytes with C escapes (\\ \" \' \n \r \t and up to three octal digits),
// then the closing quote. It returns the unescaped bytes, the rest of s
// after the closing quote, and false if s does not start with a complete
// QuotedString.
func Unquote(s string) (value []byte, rest string, ok bool) {
	if len(s) == 0 || s[0] != '"' {
		return nil, s, false
	}
	var out []byte
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			return out, s[i+1:], true
		case '\\':
			i++
			if i == len(s) {
				return nil, s, false
			}
			switch e := s[i]; {
			case e == 'n':
				out = append(out, '\n')
			case e == 'r':
				out = append(out, '\r')
			case e == 't':
				out = append(out, '\t')
			case '0' <= e && e <= '7':
				n := 0
				j := i
				for ; j < len(s) && j < i+3 && '0' <= s[j] && s[j] <= '7'; j++ {
					n = n*8 + int(s[j]-'0')
				}
				if n > 0xff {
					return nil, s, false
				}
				out = append(out, byte(n))
				i = j - 1
			default:
				out = append(out, e) // \\ \" \' and any other escaped byte stand for themselves
			}
		default:
			out = append(out, c)
		}
	}
	return nil, s, false
}
