package getinfo_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/conninfo/conninfo/getinfo"
)

func TestAppendEscapedKey(t *testing.T) {
	tests := []struct {
		name, key, want string
	}{
		{"plain", "version", "version"},
		{"empty", "", ""},
		// Tor echoes these raw, and so do we.
		{"quote backslash 8-bit raw", "a\"b\\c\xc3\xa9\xff", "a\"b\\c\xc3\xa9\xff"},
		{"single quotes and equals raw", "'z'=y", "'z'=y"},
		{"tab raw", "version\tuptime", "version\tuptime"},
		{"space raw", "a b", "a b"},
		// A control byte makes the whole key escaped.
		{"bare CR", "a\rb", `a\rb`},
		{"LF", "a\nb", `a\nb`},
		{"NUL", "ver\x00sion", `ver\000sion`},
		{"DEL", "a\x7f", `a\177`},
		{"escape all", "\x01\t\"'\\\xc3\xa9\xff ", `\001\t\"\'\\\303\251\377 `},
		{"ESC", "\x1b[31m", `\033[31m`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, string(getinfo.AppendEscapedKey(nil, tt.key)))
			assert.Equal(t, "x"+tt.want, string(getinfo.AppendEscapedKey([]byte("x"), tt.key)), "appends")
		})
	}
}
