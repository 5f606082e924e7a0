package cescape_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

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

func ExampleAppendQuoted() {
	fmt.Println(string(cescape.AppendQuoted(nil, "x\"y\n")))
	// Output: "x\"y\n"
}
