package getinfo_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/conninfo/conninfo/getinfo"
)

func TestSplitKeys(t *testing.T) {
	tests := []struct {
		name string
		args string
		want []string
	}{
		{"empty", "", nil},
		{"one space", " ", nil},
		{"spaces only", "    ", nil},
		{"one key", "version", []string{"version"}},
		{"two keys", "version uptime", []string{"version", "uptime"}},
		{"runs of spaces", "  version    uptime  ", []string{"version", "uptime"}},
		{"leading space", " version", []string{"version"}},
		{"trailing space", "version ", []string{"version"}},
		{"tab stays in key", "version\tuptime", []string{"version\tuptime"}},
		{"tab alone is no key", "\t", nil},
		{"whitespace trimmed at the ends", "\tversion\r\r", []string{"version"}},
		{"bare CR inside stays", "a\rb\r", []string{"a\rb"}},
		{"VT and FF trimmed", "\vversion\f uptime\n", []string{"version", "uptime"}},
		{"duplicates kept", "version version", []string{"version", "version"}},
		{"CR and NUL stay", "a\rb ver\x00sion", []string{"a\rb", "ver\x00sion"}},
		{"8-bit stays", "a\"b\\c\xc3\xa9\xff", []string{"a\"b\\c\xc3\xa9\xff"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, getinfo.SplitKeys(tt.args))
		})
	}
}

func TestAppendSplitKeysReuses(t *testing.T) {
	buf := make([]string, 0, 4)
	got := getinfo.AppendSplitKeys(buf, " a  b ")
	assert.Equal(t, []string{"a", "b"}, got)
	assert.Same(t, &buf[:1][0], &got[0], "a slice with room must be reused")

	got = getinfo.AppendSplitKeys([]string{"x"}, "y")
	assert.Equal(t, []string{"x", "y"}, got)

	allocs := testing.AllocsPerRun(100, func() { buf = getinfo.AppendSplitKeys(buf[:0], "version uptime  ns/all") })
	assert.Zero(t, allocs)
}
