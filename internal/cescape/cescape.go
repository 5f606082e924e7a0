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

// AppendEcho appends a word a controller sent, for a reply that echoes
// it: as sent, unless it holds a byte that could break a reply line (below
// 0x20 other than TAB, or 0x7F), and then escaped as a whole.
func AppendEcho(dst []byte, word string) []byte {
	for i := 0; i < len(word); i++ {
		if c := word[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return Append(dst, word)
		}
	}
	return append(dst, word...)
}
