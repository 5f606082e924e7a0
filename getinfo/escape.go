package getinfo

import "github.com/conninfo/conninfo/internal/cescape"

// AppendEscapedKey appends key as a reply echoes it and returns the extended
// slice. A key holding a control byte (below 0x20 other than TAB, or 0x7F) is
// C-escaped as a whole, as tor's esc_for_log does but without the surrounding
// quotes: \\ \" \' \n \r \t, and other bytes below 0x20, 0x7F and bytes from
// 0x80 as three octal digits (\000). Any other key is appended exactly as
// sent, since tor echoes it raw.
//
// Escaping every control byte is a departure from tor: it keeps a hostile key
// from breaking a reply line, whichever reply echoes it.
func AppendEscapedKey(dst []byte, key string) []byte { return cescape.AppendEcho(dst, key) }
