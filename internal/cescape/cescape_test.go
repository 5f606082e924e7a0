package cescape_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"pgregory.net/rapid"

	"github.com/conninfo/conninfo/internal/cescape"
)

func TestAppend(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain/key-1.2", "plain/key-1.2"},
		{`x"y`, `x\"y`},
		{`a\b`, `a\\b`},
		{"it's", `it\'s`},
		{"a\rb\nc\td", `a\rb\nc\td`},
		{"\x00\x01\x1f\x7f", `\000\001\037\177`},
		{"\xc3\xa9\xff", `\303\251\377`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, string(cescape.Append(nil, tt.in)), "%q", tt.in)
	}
	assert.Equal(t, `"/tmp/a \"b\""`, string(cescape.AppendQuoted(nil, `/tmp/a "b"`)))
}

func TestUnquote(t *testing.T) {
	tests := []struct {
		in, value, rest string
		ok              bool
	}{
		{`"hello"`, "hello", "", true},
		{`"my nonce" tail`, "my nonce", " tail", true},
		{`"a\"b\\c"`, `a"b\c`, "", true},
		{`"\n\r\t\101\0"`, "\n\r\tA\x00", "", true},
		{`"\x"`, "x", "", true},
		{`""`, "", "", true},
		{`"abc`, "", `"abc`, false},
		{`"abc\`, "", `"abc\`, false},
		{`abc"`, "", `abc"`, false},
		{`"\777"`, "", `"\777"`, false},
		{``, "", ``, false},
	}
	for _, tt := range tests {
		v, rest, ok := cescape.Unquote(tt.in)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		if tt.ok {
			assert.Equal(t, tt.value, string(v), "%q", tt.in)
		}
		assert.Equal(t, tt.rest, rest, "%q", tt.in)
	}
}

// Escaping then unquoting gives back any string.
func TestRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.String().Draw(t, "s") + string(rapid.SliceOf(rapid.Byte()).Draw(t, "bytes"))
		v, rest, ok := cescape.Unquote(string(cescape.AppendQuoted(nil, s)))
		assert.True(t, ok)
		assert.Empty(t, rest)
		assert.Equal(t, s, string(v))
	})
}

func ExampleAppendQuoted() {
	fmt.Println(string(cescape.AppendQuoted(nil, "x\"y\n")))
	// Output: "x\"y\n"
}
